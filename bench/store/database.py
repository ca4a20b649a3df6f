"""Result store: one embedded SQLite file, one transaction per measurement.

WAL journal plus a busy timeout lets several `bench run` processes write at once; a record is either wholly
committed or absent, so a killed run loses nothing it had finished.

The schema has a version (SQLite's `user_version`): a store from an older bench is brought forward by one migration
step per version, each in a transaction, when it is opened for writing (one opened only for reading is read as it
is: every version keeps each whole record as JSON). A store from a newer bench is refused in one line.
  version 1 (bench 0.1.0; user_version 0): records with latency_ms and record_json
  version 2 (bench 0.2.0): + unit and count columns, so counts are queryable beside times
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from pathlib import Path

from bench.core.errors import InputDataError
from bench.core.record import Record
from bench.core.version import __version__

STORE_ENV = "BENCH_STORE"
DEFAULT_STORE = Path("results") / "bench.sqlite"
SCHEMA_VERSION = 2

_SCHEMA_V1 = """
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

# One step per version: MIGRATIONS[v] brings a version-v store to v + 1.
MIGRATIONS = {
    1: """
ALTER TABLE records ADD COLUMN unit TEXT NOT NULL DEFAULT 'ms';
ALTER TABLE records ADD COLUMN count INTEGER;
UPDATE records SET unit = coalesce(json_extract(record_json, '$.unit'), 'ms'),
                   count = json_extract(record_json, '$.count');
""",
}
_COLUMNS = ("id", "timestamp", "model", "resolution", "format", "precision", "target", "protocol", "artifact_hash",
            "settings_key", "latency_ms", "record_json", "unit", "count")


def default_store_path() -> Path:
    return Path(os.environ.get(STORE_ENV) or DEFAULT_STORE)


def check_writable(path: str | os.PathLike | None = None) -> Path:
    """The store path, or one line saying why it cannot be written: asked before anything is exported or measured,
    and without creating anything."""
    p = Path(path) if path else default_store_path()
    if p.is_dir():
        raise InputDataError(f"store {p} is a directory; give a file path such as {p / 'bench.sqlite'}")
    place = p.parent if str(p.parent) else Path(".")
    while not place.exists():
        place = place.parent
    if not place.is_dir():
        raise InputDataError(f"cannot write the store {p}: {place} is a file, not a directory")
    writable = os.access(place, os.W_OK | os.X_OK) and (not p.exists() or os.access(p, os.W_OK))
    if not writable:
        raise InputDataError(f"cannot write the store {p}: permission denied in {place}")
    if p.exists():
        with Store(p, migrate=False):  # a newer bench's store, or not a store at all: refused now
            pass
    return p


class Store:
    def __init__(self, path: str | os.PathLike | None = None, *, migrate: bool = True):
        self.path = Path(path) if path else default_store_path()
        try:
            if migrate:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = self._connect(migrate)
        except OSError as exc:
            raise InputDataError(f"cannot write the store {self.path}: {exc.strerror or exc}") from None

    def _connect(self, migrate: bool) -> sqlite3.Connection:
        deadline = time.monotonic() + 60.0
        while True:
            db = sqlite3.connect(self.path, timeout=60.0, isolation_level=None)
            try:
                if migrate:
                    db.execute("PRAGMA journal_mode=WAL")
                    db.execute("PRAGMA synchronous=FULL")
                _check_version(db, self.path)
                if migrate:
                    _bring_forward(db)
                return db
            except sqlite3.OperationalError as exc:
                db.close()
                # Switching a new file to WAL takes an exclusive lock that the busy timeout does not wait for:
                # two processes creating the same store at once see "locked"; the later one retries.
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    raise InputDataError(f"store {self.path} is not usable ({exc})") from None
                time.sleep(0.05)
            except sqlite3.DatabaseError as exc:
                db.close()
                raise InputDataError(f"store {self.path} is not a usable SQLite database ({exc})") from None
            except BaseException:
                db.close()
                raise

    def close(self) -> None:
        self._db.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def add(self, record: Record) -> None:
        values = (record.id, record.timestamp, record.model, record.resolution, record.format, record.precision,
                  record.target, record.protocol, record.artifact_hash, record.settings_key(), record.latency_ms,
                  json.dumps(record.to_dict()), record.unit, record.count)
        with self._db:  # one transaction, committed before we return
            self._db.execute("BEGIN IMMEDIATE")
            self._db.execute(f"INSERT INTO records ({', '.join(_COLUMNS)}) VALUES ({', '.join('?' * len(_COLUMNS))})",
                             values)

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

    def version(self) -> int:
        return _version(self._db)


def _version(db: sqlite3.Connection) -> int:
    """0 for an empty file; 1 for bench 0.1.0's store (it set no user_version); else the user_version."""
    stated = db.execute("PRAGMA user_version").fetchone()[0]
    if stated:
        return stated
    has_records = db.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name='records'").fetchone()
    return 1 if has_records else 0


def _check_version(db: sqlite3.Connection, path: Path) -> None:
    version = _version(db)
    if version > SCHEMA_VERSION:
        raise InputDataError(f"store {path} was written by a newer bench (store schema {version}; this bench "
                             f"{__version__} reads up to "
                             f"{SCHEMA_VERSION}); upgrade bench to read it")


def _bring_forward(db: sqlite3.Connection) -> None:
    """Create a new store, or migrate an old one one version at a time, each step in its own transaction."""
    while True:
        db.execute("BEGIN IMMEDIATE")  # another process may be doing the same: read the version under the lock
        try:
            version = _version(db)
            if version >= SCHEMA_VERSION:
                db.execute("COMMIT")
                return
            for statement in _step(version):
                db.execute(statement)
            db.execute(f"PRAGMA user_version = {version + 1}")
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise


def _step(version: int) -> list[str]:
    script = _SCHEMA_V1 if version == 0 else MIGRATIONS[version]
    return [s.strip() for s in script.split(";") if s.strip()]


def open_existing(path: str | os.PathLike) -> Store:
    """Open a store that must already exist, for reading (it is read as it is, not migrated)."""
    p = Path(path)
    if not p.is_file():
        raise InputDataError(f"no store at {p}; run `bench run` first or pass --store PATH")
    with open(p, "rb") as f:
        if f.read(16) != b"SQLite format 3\x00":
            raise InputDataError(f"{p} is not a SQLite store written by bench")
    store = Store(p, migrate=False)
    if store.version() == 0:
        store.close()
        raise InputDataError(f"{p} is a SQLite file without bench's records table; not a store written by bench")
    return store
