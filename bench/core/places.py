"""Places a command will write (a store, a CSV, a report folder), checked before any work: one line saying why not.

A check creates nothing the user would see: it looks for the nearest folder that exists and tries to create (and at
once removes) a probe file there, since permission bits alone do not tell (root ignores them; a read-only mount or
/proc does not).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from bench.core.errors import InputDataError


def writable_file(path: str | os.PathLike, what: str, example: str = "") -> Path:
    """`path` as a file bench can create or overwrite, or one line naming `what` it is and why not."""
    p = Path(path)
    if p.is_dir():
        such = f"; give a file path such as {p / example}" if example else "; give a file path"
        raise InputDataError(f"{what} {p} is a directory{such}")
    if p.exists():
        try:
            os.close(os.open(p, os.O_WRONLY | os.O_APPEND))  # opened, not written: the file is as it was
        except OSError as exc:
            raise InputDataError(f"cannot write {what} {p}: {_why(exc)}") from None
        return p
    _probe(p, what)
    return p


def writable_dir(path: str | os.PathLike, what: str) -> Path:
    """`path` as a folder bench can create or write into, or one line naming `what` it is and why not."""
    p = Path(path)
    if p.exists() and not p.is_dir():
        raise InputDataError(f"{what} {p} is a file, not a directory; give a folder path")
    if p.is_dir():
        _probe_in(p, p, what)
    else:
        _probe(p, what)
    return p


def _probe(p: Path, what: str) -> None:
    place = p.parent if str(p.parent) else Path(".")
    while not place.exists() and place != place.parent:
        if place.is_symlink():  # a dangling link: nothing can be created through it
            raise InputDataError(f"cannot write {what} {p}: {place} is a broken link")
        place = place.parent
    if not place.is_dir():
        raise InputDataError(f"cannot write {what} {p}: {place} is a file, not a directory")
    _probe_in(place, p, what)


def _probe_in(folder: Path, p: Path, what: str) -> None:
    try:
        fd, probe = tempfile.mkstemp(dir=folder, prefix=".bench-probe-")
    except OSError as exc:
        raise InputDataError(f"cannot write {what} {p}: {_why(exc)} in {folder}") from None
    os.close(fd)
    os.unlink(probe)


def _why(exc: OSError) -> str:
    return (exc.strerror or str(exc)).lower()
