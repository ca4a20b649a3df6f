"""Reading a user's CSV: one place for the one-line errors (missing file, unreadable, missing columns)."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

from bench.core.errors import InputDataError, first_line


def read_csv(path: Path, *, required: Sequence[str] = (), expected: str = ""):
    import pandas as pd

    path = Path(path)
    if not path.is_file():
        raise InputDataError(f"no CSV at {path}")
    try:
        frame = pd.read_csv(path)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise InputDataError(f"{path} is not a readable CSV ({first_line(exc)})") from None
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise InputDataError(f"{path}: CSV lacks columns {', '.join(missing)}" + (f"; expected {expected}" if expected else ""))
    return frame
