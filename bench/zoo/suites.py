"""Named suites: sets of measurements run by `bench run --suite NAME`.

A suite either fixes its own cells (model, target, format, precision), like `ci`, or is a set of zoo models tagged
with the suite's name that runs on whatever target the user gives (the ablation suites).
"""

from __future__ import annotations

from dataclasses import dataclass

from bench.core.errors import UnknownChoice


@dataclass(frozen=True)
class Cell:
    model: str
    target: str
    format: str | None = None
    precision: str | None = None


# Small models on both host backends, float and integer: what a PR's CI can afford to measure side by side.
CI_MODELS = ("mobileone_s0", "mobilenetv4_conv_small")
CI_PLACES = (("host", "onnx", "fp32"), ("host-litert", "tflite", "fp32"), ("host-litert", "tflite", "int8"))

# Emulated ARM64 counts (deterministic, so CI gates on them): one small model on LiteRT (fp32, int8), on ONNX
# Runtime (fp32; its exporter makes no int8) and on ExecuTorch (fp32, beside the other two), under 30 s each on two
# idle cores.
CI_EMULATED = (("mobileone_s0", "arm64-emu", "tflite", "fp32"), ("mobileone_s0", "arm64-emu", "tflite", "int8"),
               ("mobileone_s0", "arm64-emu", "onnx", "fp32"), ("mobileone_s0", "arm64-emu", "pte", "fp32"))

FIXED_SUITES = {"ci": [Cell(m, t, f, p) for m in CI_MODELS for t, f, p in CI_PLACES]
                      + [Cell(*place) for place in CI_EMULATED]}

# Ablation suites report latency relative to this member.
REFERENCE_MODEL = {"mobileone-activations": "ablation_relu", "mobileone-blocks": "ablation_relu"}


def suite_names() -> list[str]:
    from bench.zoo.registry import list_suites

    return sorted(set(FIXED_SUITES) | set(list_suites()))


def suite_cells(name: str, target: str | None, fmt: str | None, precision: str | None) -> list[Cell]:
    if name in FIXED_SUITES:
        return list(FIXED_SUITES[name])
    from bench.zoo import list_models

    members = list_models(suite=name)
    if not members:
        raise UnknownChoice("suite", name, suite_names(), hint="bench models --suite NAME")
    return [Cell(e.name, target or "host", fmt, precision) for e in members]
