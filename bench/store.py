"""Result store: one embedded SQLite file, one transaction per measurement.

WAL journal plus a busy timeout lets several `bench run` processes write at once; a record is either wholly
committed or absent, so a killed run loses nothing it had finished.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from pathlib import Path

from bench.core.errors import InputDataError
from bench.core.record import Record

STORE_ENV = "BENCH_STORE"
DEFAULT_STORE = Path("results") / "bench.sqlite"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS records (
    id TEXT PRIMARY KEY,
    timestamp TEXT NOT NULL,
    model TEXT NOT NULL,
    resolution INTEGER NOT NULL,
    format TEXT NOT NULL,
    precision TEXT NOT NULL,
    target TEXT NOT NULL,
    protocol TEXT NOT NULL,
    artifact_hash TEXT,
    settings_key TEXT NOT NULL,
    latency_ms REAL,
    record_json TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS records_cell ON records (settings_key);
CREATE INDEX IF NOT EXISTS records_model ON records (model, target);
"""


def default_store_path() -> Path:
    return Path(os.environ.get(STORE_ENV) or DEFAULT_STORE)


class Store:
    def __init__(self, path: str | os.PathLike | None = None):
        self.path = Path(path) if path else default_store_path()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        deadline = time.monotonic() + 60.0
        while True:
            try:
                self._db = sqlite3.connect(self.path, timeout=60.0, isolation_level=None)
                self._db.execute("PRAGMA journal_mode=WAL")
                self._db.execute("PRAGMA synchronous=FULL")
                self._db.executescript(_SCHEMA)
                return
            except sqlite3.OperationalError as exc:
                # Switching a new file to WAL takes an exclusive lock that the busy timeout does not wait for:
                # two processes creating the same store at once see "locked"; the later one retries.
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    raise InputDataError(f"store {self.path} is not usable ({exc})") from None
                self._db.close()
                time.sleep(0.05)
            except sqlite3.DatabaseError as exc:
                raise InputDataError(f"store {self.path} is not a usable SQLite database ({exc})") from None

    def close(self) -> None:
        self._db.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def add(self, record: Record) -> None:
        with self._db:  # one transaction, committed before we return
            self._db.execute("BEGIN IMMEDIATE")
            self._db.execute(
                "INSERT INTO records VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                (
                    record.id,
                    record.timestamp,
                    record.model,
                    record.resolution,
                    record.format,
                    record.precision,
                    record.target,
                    record.protocol,
                    record.artifact_hash,
                    record.settings_key(),
                    record.latency_ms,
                    json.dumps(record.to_dict()),
                ),
            )

    def has_cell(self, settings_key: str) -> bool:
        row = self._db.execute("SELECT 1 FROM records WHERE settings_key=? LIMIT 1", (settings_key,)).fetchone()
        return row is not None

    def records(self, *, model=None, target=None, protocol=None, fmt=None, precision=None) -> list[Record]:
        clauses, args = [], []
        for column, value in (
            ("model", model),
            ("target", target),
            ("protocol", protocol),
            ("format", fmt),
            ("precision", precision),
        ):
            if value:
                values = [value] if isinstance(value, str) else list(value)
                clauses.append(f"{column} IN ({','.join('?' * len(values))})")
                args.extend(values)
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        rows = self._db.execute(f"SELECT record_json FROM records {where} ORDER BY timestamp, rowid", args)
        return [Record.from_dict(json.loads(r[0])) for r in rows]

    def count(self) -> int:
        return self._db.execute("SELECT COUNT(*) FROM records").fetchone()[0]


def open_existing(path: str | os.PathLike) -> Store:
    """Open a store that must already exist (for reading)."""
    p = Path(path)
    if not p.is_file():
        raise InputDataError(f"no store at {p}; run `bench run` first or pass --store PATH")
    with open(p, "rb") as f:
        if f.read(16) != b"SQLite format 3\x00":
            raise InputDataError(f"{p} is not a SQLite store written by bench")
    return Store(p)
