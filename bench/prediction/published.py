"""Published real-phone CPU latencies (published/*.csv, each row citing a source in published/SOURCES.md) and the
emulated figures this project measured for their twins (emulated.csv), joined into fit rows; the shipped
calibrations (calibrations/*.json) are fitted from them by `bench calibrate --published`
(`published_calibrations`), which reproduces the committed files exactly.

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
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from bench.core.errors import InputDataError
from bench.prediction.calibration import Calibration, default_cpu
from bench.prediction.features import MIX_CLASSES, Figures
from bench.prediction.fitting import MIN_MODELS, FitRow

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


def read_emulated(path: Path = EMULATED_CSV, cpu: str | None = None) -> dict[tuple[str, int, str], Emulated]:
    """The figures counted on the emulated CPU `cpu` (default: arm64-emu's; rows on another CPU model are compared
    beside, never fitted), by (model, resolution, precision)."""
    cpu = cpu or default_cpu()
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
    return json.loads(setup_json).get("cpu") or default_cpu()


def paired(published: list[PublishedRow], emulated: dict) -> list[tuple[PublishedRow, Emulated]]:
    """Published rows with a twin that has emulated figures, each with those figures."""
    return [(p, emulated[(p.twin, p.resolution, p.precision)]) for p in published
            if p.twin and (p.twin, p.resolution, p.precision) in emulated]


def published_tables(pairs=None) -> dict[tuple, list[tuple[PublishedRow, Emulated]]]:
    """The paired rows by (table, phone, precision, threads): one calibration's fit set each."""
    groups = defaultdict(list)
    for p, e in pairs if pairs is not None else paired(read_published(), read_emulated()):
        groups[(p.table, p.phone, p.precision, p.threads)].append((p, e))
    return dict(groups)


def table_calibration(key: tuple, rows, features=None) -> Calibration:
    """The calibration of one published table, on `features` (None: the ones `bench calibrate`'s rule chooses)."""
    from bench.prediction.feature_choice import fit_best

    table, phone, precision, threads = key
    setups = {e.setup for _, e in rows}
    if len(setups) != 1:
        raise InputDataError(f"{table} {phone}: the twins were counted on {len(setups)} different emulator set-ups")
    setup = json.loads(setups.pop())
    first = rows[0][0]
    return fit_best([FitRow(p.twin, e.figures, p.latency_ms, p.resolution, p.row_id) for p, e in rows], phone,
                    precision, threads=threads, features=features,
                    measured_runtime=f"{first.runtime}; {first.statistic}; source {first.source}",
                    emulated_runtime=f"litert-aarch64 {setup.get('litert')}", emulator_setup=setup,
                    cal_id=f"{phone}-{precision}-{threads}t-{table}", fitted="",
                    notes=f"fitted by `bench calibrate --published` on table {table} ({len(rows)} models); "
                          "figures from bench/prediction/emulated.csv")


def published_calibrations() -> list[Calibration]:
    """Every shipped calibration, fitted again: one per published table with at least MIN_MODELS counted twins."""
    return [table_calibration(key, rows) for key, rows in sorted(published_tables().items()) if len(rows) >= MIN_MODELS]
