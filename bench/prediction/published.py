"""Published real-phone CPU latencies (published/*.csv, each row citing a source in published/SOURCES.md) and the
emulated figures this project measured for their twins (emulated.csv), joined into fit rows.

A published row names the model as published and, when this project can build an exact twin, the timm name and
resolution of that twin; rows without a twin are kept for the record and left out of every fit. A row whose
original is a TensorFlow model may also name `twin_tf_padding`: the same timm network built with TF's "same"
padding (`name+same` is timm.create_model(name, pad_type="same")), whose graph has no PAD ops before its stride-2
convolutions, as the TF graph had none; the benchmark reports the prediction with those counts beside the default.
"""

from __future__ import annotations

import csv
import json
import re
from dataclasses import dataclass
from pathlib import Path

from bench.core.errors import InputDataError
from bench.prediction.calibration import DEFAULT_CPU  # rows on another CPU model: compared beside, never fitted
from bench.prediction.features import MIX_CLASSES, Figures

PUBLISHED_DIR = Path(__file__).with_name("published")
EMULATED_CSV = Path(__file__).with_name("emulated.csv")
SOURCES_MD = PUBLISHED_DIR / "SOURCES.md"
CACHE_FIELDS = ("l1d_misses", "l2_misses")

# timm name prefix -> family, longest prefix first when matching
FAMILIES = {"mobilenetv1": "MobileNetV1", "mobilenetv2": "MobileNetV2", "mobilenetv3": "MobileNetV3",
            "tf_mobilenetv3": "MobileNetV3", "mobilenetv4_conv": "MobileNetV4-Conv",
            "mobilenetv4_hybrid": "MobileNetV4-Hybrid", "fastvit": "FastViT", "semnasnet": "MnasNet",
            "mobileone": "MobileOne", "convnext": "ConvNeXt", "tf_efficientnet_lite": "EfficientNet-Lite",
            "inception_v": "Inception", "inception_resnet": "Inception-ResNet", "nasnet": "NASNet"}


@dataclass(frozen=True)
class PublishedRow:
    row_id: str
    table: str
    phone: str
    threads: int
    runtime: str
    precision: str
    statistic: str
    model_published: str
    published_macs_m: float | None
    resolution: int | None
    twin: str
    latency_ms: float
    source: str
    note: str
    twin_tf_padding: str = ""  # the twin built with TF's "same" padding, for rows whose original came from TF

    @property
    def family(self) -> str:
        return family(self.twin) if self.twin else ""


@dataclass(frozen=True)
class Emulated:
    """One twin's figures on arm64-emu, with its MACs and host-litert time for comparison."""

    model: str
    resolution: int
    precision: str
    figures: Figures
    macs: int
    host_litert_ms: float | None
    setup: str


def family(twin: str) -> str:
    for prefix in sorted(FAMILIES, key=len, reverse=True):
        if twin.startswith(prefix):
            return FAMILIES[prefix]
    return twin


def _num(text: str, kind=float):
    return kind(text) if text.strip() else None


def read_published(directory: Path = PUBLISHED_DIR) -> list[PublishedRow]:
    rows = []
    for path in sorted(Path(directory).glob("*.csv")):
        with path.open(newline="") as fh:
            for r in csv.DictReader(fh):
                try:
                    rows.append(PublishedRow(
                        r["row_id"], r["table"], r["phone"], int(r["threads"]), r["runtime"], r["precision"],
                        r["statistic"], r["model_published"], _num(r["published_macs_m"]),
                        _num(r["resolution"], int), r["twin"], float(r["latency_ms"]), r["source"], r["note"],
                        r.get("twin_tf_padding") or ""))
                except (KeyError, ValueError) as exc:
                    raise InputDataError(f"{path.name}: row {r.get('row_id')!r} is malformed ({exc})") from None
    return rows


def cited_sources(path: Path = SOURCES_MD) -> set[str]:
    """The source keys SOURCES.md defines: its "## key" headings."""
    return set(re.findall(r"^## (\S+)", path.read_text(), flags=re.M))


def read_emulated(path: Path = EMULATED_CSV, cpu: str = DEFAULT_CPU) -> dict[tuple[str, int, str], Emulated]:
    """The figures counted on the emulated CPU `cpu`, by (model, resolution, precision)."""
    out = {}
    with Path(path).open(newline="") as fh:
        for r in csv.DictReader(fh):
            if setup_cpu(r["setup"]) != cpu:
                continue
            mix = {c: int(r[f"mix_{c}"]) for c in MIX_CLASSES} if r.get("mix_simd_fp") else None
            cache = {c: int(r[c]) for c in CACHE_FIELDS} if r.get("l1d_misses") else None
            memory = {k: int(r[f"bytes_{k}"]) for k in ("load", "store")} if r.get("bytes_load") else None
            key = (r["model"], int(r["resolution"]), r["precision"])
            out[key] = Emulated(key[0], key[1], key[2], Figures(int(r["count"]), mix, cache, memory), int(r["macs"]),
                                _num(r["host_litert_ms"]), r["setup"])
    return out


def emulated_cpus(path: Path = EMULATED_CSV) -> set[str]:
    with Path(path).open(newline="") as fh:
        return {setup_cpu(r["setup"]) for r in csv.DictReader(fh)}


def setup_cpu(setup_json: str) -> str:
    return json.loads(setup_json).get("cpu", DEFAULT_CPU)


def paired(published: list[PublishedRow], emulated: dict) -> list[tuple[PublishedRow, Emulated]]:
    """Published rows with a twin that has emulated figures, each with those figures."""
    return [(p, emulated[(p.twin, p.resolution, p.precision)]) for p in published
            if p.twin and (p.twin, p.resolution, p.precision) in emulated]
