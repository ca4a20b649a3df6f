"""Tidy tables of records: one row per record, raw samples optional."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from bench.core.record import NS_PER_MS, Record, flat_row


def records_frame(records: list[Record], with_samples: bool = False):
    import pandas as pd

    rows = []
    for r in records:
        row = flat_row(r)
        row["flops"] = r.flops
        if with_samples:
            row["samples_ms"] = ";".join(
                f"{v:.6f}" for rep in r.samples_ns for v in np.asarray(rep, dtype=float) / NS_PER_MS
            )
        rows.append(row)
    return pd.DataFrame(rows)


def write_csv(records: list[Record], path: Path, with_samples: bool = False) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    frame = records_frame(records, with_samples)
    frame.to_csv(path, index=False, quoting=csv.QUOTE_MINIMAL)
