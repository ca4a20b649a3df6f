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
from urllib.parse import quote

from bench.core.errors import InputDataError
from bench.core.record import Record
from bench.core.version import __version__

STORE_ENV = "BENCH_STORE"
DEFAULT_STORE = Path("results") / "bench.sqlite"
SCHEMA_VERSION = 2
MIN_FREE_BYTES = 1 << 20  # a record with 10,000 raw samples is about 150 KB of JSON, twice over with the WAL

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
    and without creating anything. An existing file must be a store bench wrote (else refused, untouched)."""
    from bench.core.places import writable_file

    p = Path(path) if path else default_store_path()
    writable_file(p, "the store", example="bench.sqlite")
    free = _free_bytes(p)
    if free is not None and free < MIN_FREE_BYTES:
        raise InputDataError(f"cannot write the store {p}: its disk has {free // 1024} KiB free (bench wants "
                             f"{MIN_FREE_BYTES // 1024} KiB, so a measurement is not made only to be lost); free "
                             "some space or pass --store on another disk")
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
            try:
                db = self._open(migrate)
            except sqlite3.DatabaseError as exc:
                raise InputDataError(f"store {self.path} is not a usable SQLite database ({exc})") from None
            try:
                _check_version(db, self.path)  # before anything is written: a file not bench's stays untouched
                if migrate:
                    db.execute("PRAGMA journal_mode=WAL")
                    db.execute("PRAGMA synchronous=FULL")
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

    def _open(self, migrate: bool) -> sqlite3.Connection:
        """Read-write where the store's folder can be written (a reader then leaves no -wal/-shm files behind);
        else read-only, so a store on a read-only mount or without write permission can still be listed. A WAL
        store there cannot make its shared-memory file: SQLite's `immutable` reads it as it is."""
        if migrate or _writable_place(self.path):
            return sqlite3.connect(self.path, timeout=60.0, isolation_level=None)
        uri = "file:" + quote(str(self.path.absolute()))
        try:
            db = sqlite3.connect(uri + "?mode=ro", timeout=60.0, isolation_level=None, uri=True)
        except sqlite3.OperationalError as exc:
            raise InputDataError(f"cannot read the store {self.path} ({exc})") from None
        try:
            db.execute("SELECT 1 FROM sqlite_master LIMIT 1").fetchall()
            return db
        except sqlite3.OperationalError:
            db.close()
            return sqlite3.connect(uri + "?immutable=1", timeout=60.0, isolation_level=None, uri=True)

    def close(self) -> None:
        self._db.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def add(self, record: Record) -> None:
        """Commit `record`, or (a full disk, a lost mount, a lock held past the timeout) keep it in a recovery file
        and raise StoreWriteError naming that file and the command that stores it later."""
        self.add_all([record])

    def add_all(self, records: list[Record]) -> None:
        """Commit each record in its own transaction; the first that fails is kept, with every one after it, in
        one recovery file (StoreWriteError names it)."""
        for i, record in enumerate(records):
            try:
                self._insert(record)
            except sqlite3.Error as exc:
                from bench.store.recovery import keep

                raise StoreWriteError(self.path, exc, keep(list(records[i:]), self.path)) from None

    def _insert(self, record: Record) -> None:
        values = (record.id, record.timestamp, record.model, record.resolution, record.format, record.precision,
                  record.target, record.protocol, record.artifact_hash, record.settings_key(), record.latency_ms,
                  json.dumps(record.to_dict()), record.unit, record.count)
        with self._db:  # one transaction, committed before we return
            self._db.execute("BEGIN IMMEDIATE")
            self._db.execute(f"INSERT INTO records ({', '.join(_COLUMNS)}) VALUES ({', '.join('?' * len(_COLUMNS))})",
                             values)

    def has_id(self, record_id: str) -> bool:
        return self._db.execute("SELECT 1 FROM records WHERE id=? LIMIT 1", (record_id,)).fetchone() is not None

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

    def distinct(self) -> dict[str, list[str]]:
        """The models, targets and protocols the store holds (each sorted): what an empty answer names."""
        return {c: [r[0] for r in self._db.execute(f"SELECT DISTINCT {c} FROM records ORDER BY {c}")]
                for c in ("model", "target", "protocol")}

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
    """A store bench wrote, at a version this bench reads, or one line saying what the file is instead."""
    version = _version(db)
    if version > SCHEMA_VERSION:
        raise InputDataError(f"store {path} was written by a newer bench (store schema {version}; this bench "
                             f"{__version__} reads up to "
                             f"{SCHEMA_VERSION}); upgrade bench to read it")
    if version < 0:
        raise InputDataError(f"{path} states store schema version {version}, which no bench writes; not a store "
                             "written by bench (give another --store path)")
    tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%' "
                                       "ORDER BY name")]
    if version == 0:
        if tables:
            raise InputDataError(f"{path} is a SQLite file with other tables ({', '.join(tables[:5])}), not a store "
                                 "written by bench; it is left as it is (give another --store path)")
        return
    if "records" not in tables:
        raise InputDataError(f"{path} states store schema version {version} but has no records table; not a store "
                             "written by bench (give another --store path)")
    columns = {r[1] for r in db.execute("PRAGMA table_info(records)")}
    expected = set(_COLUMNS) if version >= 2 else set(_COLUMNS) - {"unit", "count"}
    if columns != expected:
        raise InputDataError(f"{path} has a records table that is not bench's (columns: {', '.join(sorted(columns))}); "
                             "not a store written by bench (give another --store path)")


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


def open_existing(path: str | os.PathLike, flag: str = "--store") -> Store:
    """Open a store that must already exist, for reading (it is read as it is, not migrated); `flag` is the option
    that names it, for the line that says it is missing."""
    p = Path(path)
    if not p.is_file():
        raise InputDataError(f"no store at {p}; run `bench run` first or pass {flag} PATH")
    with open(p, "rb") as f:
        if f.read(16) != b"SQLite format 3\x00":
            raise InputDataError(f"{p} is not a SQLite store written by bench")
    store = Store(p, migrate=False)
    if store.version() == 0:
        store.close()
        raise InputDataError(f"{p} is a SQLite file without bench's records table; not a store written by bench")
    return store


def _free_bytes(p: Path) -> int | None:
    place = p.parent if str(p.parent) else Path(".")
    while not place.exists() and place != place.parent:
        place = place.parent
    try:
        stat = os.statvfs(place)
    except (OSError, AttributeError):
        return None
    return stat.f_bavail * stat.f_frsize


def _writable_place(path: Path) -> bool:
    """The store and its folder can be written (write bits and a read-write mount)."""
    folder = path.absolute().parent
    try:
        read_only_mount = bool(os.statvfs(folder).f_flag & os.ST_RDONLY)
    except (OSError, AttributeError):
        read_only_mount = False
    return (not read_only_mount and os.access(folder, os.W_OK)
            and (not path.exists() or os.access(path, os.W_OK)))


class StoreWriteError(InputDataError):
    """A measurement was made but could not be stored; it is kept in a recovery file."""

    exit_code = 6

    def __init__(self, path: Path, cause: BaseException, kept: Path | None):
        self.recovery = kept
        where = (f"it is kept in {kept}; store it later with `bench import record {kept} --store PATH`" if kept else
                 "no recovery file could be written either; its JSON is on stdout")
        super().__init__(f"could not store the measurement in {path} ({cause}); {where}")
