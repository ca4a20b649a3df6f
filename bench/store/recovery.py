"""Recovery files: a measurement the store could not take (a full disk, a lost mount) is kept here, never dropped.

A recovery file is JSON: {"bench_recovery": 1, "store": the path that failed, "records": [whole records]}. It goes
to the user's state folder (platformdirs; on Linux $XDG_STATE_HOME or ~/.local/state/mobile-latency-bench/recovered),
or, when that cannot be written either (the same full disk), to the temporary folder; failing both, the record's JSON
is printed on stdout. `bench import record FILE` stores it later; records already in the store are skipped, so the
command may be run twice.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from pathlib import Path

from bench.core.errors import InputDataError
from bench.core.record import Record

FORMAT = 1


def places() -> list[Path]:
    import platformdirs

    return [Path(platformdirs.user_state_dir("mobile-latency-bench")) / "recovered",
            Path(tempfile.gettempdir()) / "mobile-latency-bench-recovered"]


def keep(records: list[Record], store: Path) -> Path | None:
    """Write `records` to a new recovery file and return its path; None (the JSON printed on stdout) when no place
    takes it."""
    text = json.dumps({"bench_recovery": FORMAT, "store": str(store), "records": [r.to_dict() for r in records]})
    name = f"{time.strftime('%Y%m%dT%H%M%S')}-{records[0].id[:12]}.json"
    for folder in places():
        try:
            folder.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=folder, prefix=".recovery-", suffix=".tmp")
            try:
                with os.fdopen(fd, "w") as fh:
                    fh.write(text)
                    fh.flush()
                    os.fsync(fh.fileno())
                os.replace(tmp, folder / name)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
            return folder / name
        except OSError:
            continue
    sys.stdout.write(text + "\n")
    sys.stdout.flush()
    return None


def read(path: str | os.PathLike) -> list[Record]:
    """The records of a recovery file, or one line saying why it is not one."""
    p = Path(path)
    if not p.is_file():
        raise InputDataError(f"no recovery file at {p}")
    try:
        data = json.loads(p.read_text(errors="replace"))
    except json.JSONDecodeError as exc:
        raise InputDataError(f"{p} is not a recovery file ({exc.msg} at line {exc.lineno})") from None
    if not isinstance(data, dict) or data.get("bench_recovery") != FORMAT or not isinstance(data.get("records"), list):
        raise InputDataError(f"{p} is not a recovery file written by this bench (no bench_recovery {FORMAT} header)")
    try:
        return [Record.from_dict(d) for d in data["records"]]
    except (TypeError, KeyError, ValueError) as exc:
        raise InputDataError(f"{p}: a record in it is malformed ({exc})") from None
