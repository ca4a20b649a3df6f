"""Roofline latency model (MobileNetV4, section 3).

Each layer takes max(MACs / peak MAC rate, bytes moved / memory bandwidth); the model's time is the sum over its
layers. The ridge point RP = peak / bandwidth (MACs per byte) says which hardware it is: RP near 0 is a machine
with free memory traffic (only MACs count), a large RP one starved of bandwidth. Sweeping RP from 0 to 500 with
the peak held fixed gives each model's predicted latency curve across that range of hardware.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from exporters.onnx_graph import Layer

DEFAULT_RIDGE_POINTS = tuple(float(x) for x in np.linspace(0, 500, 26))
DEFAULT_PEAK_GMACS = 100.0  # MACs per ns x 1e9: a mid-range phone CPU; only the curve's shape matters for ranking


@dataclass
class RooflinePoint:
    ridge_point: float
    latency_ms: float
    memory_bound_layers: int


def layer_time_s(layer: Layer, peak_macs_per_s: float, bandwidth_bytes_per_s: float) -> float:
    compute = layer.macs / peak_macs_per_s
    memory = layer.bytes / bandwidth_bytes_per_s if bandwidth_bytes_per_s != float("inf") else 0.0
    return max(compute, memory)


def compute_layers(layers: Sequence[Layer]) -> list[Layer]:
    return [layer for layer in layers if layer.macs > 0]


def predict_ms(layers: Sequence[Layer], ridge_point: float, peak_gmacs: float = DEFAULT_PEAK_GMACS) -> RooflinePoint:
    layers = compute_layers(layers)
    peak = peak_gmacs * 1e9
    bandwidth = float("inf") if ridge_point <= 0 else peak / ridge_point
    total, memory_bound = 0.0, 0
    for layer in layers:
        t = layer_time_s(layer, peak, bandwidth)
        total += t
        memory_bound += bool(bandwidth != float("inf") and layer.bytes / bandwidth > layer.macs / peak)
    return RooflinePoint(ridge_point, total * 1e3, memory_bound)


def sweep(layers: Sequence[Layer], ridge_points: Sequence[float] = DEFAULT_RIDGE_POINTS,
          peak_gmacs: float = DEFAULT_PEAK_GMACS) -> list[RooflinePoint]:
    return [predict_ms(layers, rp, peak_gmacs) for rp in ridge_points]


def layer_table(layers: Sequence[Layer]) -> list[dict]:
    return [
        {"name": l.name, "op": l.op, "macs": l.macs, "weight_bytes": l.weight_bytes,
         "activation_bytes": l.activation_bytes, "intensity": l.intensity}
        for l in layers
    ]


def rank_agreement(predicted: dict[str, float], measured: dict[str, float]) -> dict:
    """Spearman's rho of roofline-predicted against measured latency over the models both have."""
    from scipy.stats import spearmanr

    models = sorted(set(predicted) & set(measured))
    if len(models) < 3:
        return {"n": len(models), "rho": None, "p": None, "models": models}
    sp = spearmanr([predicted[m] for m in models], [measured[m] for m in models])
    return {"n": len(models), "rho": float(sp.statistic), "p": float(sp.pvalue), "models": models}


def measured_minimum(records) -> dict[str, float]:
    """The best stored latency of each model (the roofline is compared with what the target really gave)."""
    measured: dict[str, float] = {}
    for r in records:
        if r.latency_ms is not None:
            measured[r.model] = min(measured.get(r.model, float("inf")), r.latency_ms)
    return measured


def agreement_over_sweep(curves: dict, points, measured: dict[str, float]) -> list[dict]:
    return [{"ridge_point": p, **rank_agreement({m: c[i].latency_ms for m, c in curves.items()}, measured)}
            for i, p in enumerate(points)]
