"""Numerical agreement between an exported artifact and its PyTorch reference."""

from __future__ import annotations

import numpy as np

from bench.core.errors import ExportError

# Tolerances, as relative L2 error ||a - b|| / ||b||. FP32 runtimes reorder sums, nothing more.
FP32_REL_L2 = 1e-3
# INT8 is judged against FP32 by cosine similarity and top-5 agreement.
INT8_MIN_COSINE = 0.85


def agreement(candidate, reference) -> dict:
    a = np.asarray(candidate, dtype=np.float64).ravel()
    b = np.asarray(reference, dtype=np.float64).ravel()
    if a.shape != b.shape:
        raise ExportError(f"output shape {np.shape(candidate)} differs from reference {np.shape(reference)}")
    if not np.all(np.isfinite(a)):
        raise ExportError("exported model produced non-finite outputs")
    diff = a - b
    denom = np.linalg.norm(b) or 1.0
    cos = float(a @ b / ((np.linalg.norm(a) * np.linalg.norm(b)) or 1.0))
    top5_a = set(np.argsort(a)[-5:].tolist())
    top5_b = set(np.argsort(b)[-5:].tolist())
    return {
        "max_abs": float(np.max(np.abs(diff))),
        "rel_l2": float(np.linalg.norm(diff) / denom),
        "cosine": cos,
        "top5_overlap": len(top5_a & top5_b) / 5.0,
        "top1_match": bool(np.argmax(a) == np.argmax(b)),
    }


def require_rel_l2(result: dict, tolerance: float, what: str) -> dict:
    result = dict(result, tolerance_rel_l2=tolerance, reference=what)
    if not result["rel_l2"] <= tolerance:
        raise ExportError(
            f"parity check failed: relative L2 error {result['rel_l2']:.3g} against {what} is above {tolerance:g}"
        )
    return result


def require_cosine(result: dict, floor: float, what: str) -> dict:
    result = dict(result, min_cosine=floor, reference=what)
    if not result["cosine"] >= floor:
        raise ExportError(f"parity check failed: cosine similarity {result['cosine']:.4f} against {what} is below {floor}")
    return result


def mean_agreement(rows: list[dict]) -> dict:
    """Agreement over several fixed inputs (int8 checks): means, and the worst cosine."""
    return {
        "cosine": float(np.mean([r["cosine"] for r in rows])),
        "cosine_min": float(np.min([r["cosine"] for r in rows])),
        "top5_overlap": float(np.mean([r["top5_overlap"] for r in rows])),
        "top1_match_rate": float(np.mean([r["top1_match"] for r in rows])),
        "rel_l2": float(np.mean([r["rel_l2"] for r in rows])),
        "inputs": len(rows),
    }
