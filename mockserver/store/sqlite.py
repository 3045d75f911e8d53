"""The persistent store (`--db PATH`): the memory store's semantics in one SQLite file.

One connection under one lock (held requests run on worker threads; SQLite serialises writers anyway).
Every write is one transaction committed before the method returns. WAL with synchronous=NORMAL:
a commit has been written to the WAL file (the OS holds it) when it returns, so killing the
process loses nothing acknowledged; only an OS crash or power cut could lose the last commits,
never corrupt the file, and sparing an fsync per write is what keeps `--db` fast.
The file is locked exclusively while a server has it open: a second server on it fails to start
instead of corrupting the first one's view (its ids are cached here).

Strings a client chooses (credentials, ids, unique keys) are stored as UTF-8 BLOBs with
surrogates passed through, so any Python string round-trips; records are JSON text (ASCII).
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

from mockserver.errors import Conflict
from mockserver.store.base import NO_KEYS, Page, Record, Store, StoreError, Tenant, Unique

APPLICATION_ID = 0x6D6F636B  # "mock": marks the file as a mockserver database
SCHEMA_VERSION = 1  # PRAGMA user_version; bump with any change to SCHEMA
SQLITE_MAGIC = b"SQLite format 3\x00"
LOCK_WAIT_S = 1.0
SEQ_MAX = 2**63 - 1  # SQLite's integers; a cursor may name any number

SCHEMA = f"""
CREATE TABLE tenants (
    id INTEGER PRIMARY KEY,
    vendor TEXT NOT NULL,
    credential BLOB NOT NULL,
    seq INTEGER NOT NULL,
    UNIQUE (vendor, credential)
);
CREATE TABLE collections (
    id INTEGER PRIMARY KEY,
    tenant INTEGER NOT NULL,
    name TEXT NOT NULL,
    UNIQUE (tenant, name)
);
CREATE TABLE records (
    collection INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    id BLOB NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (collection, seq),
    UNIQUE (collection, id)
);
CREATE TABLE unique_keys (
    collection INTEGER NOT NULL,
    name TEXT NOT NULL,
    key BLOB NOT NULL,
    record BLOB NOT NULL,
    PRIMARY KEY (collection, name, key)
) WITHOUT ROWID;
CREATE INDEX unique_keys_by_record ON unique_keys (collection, record);
PRAGMA application_id = {APPLICATION_ID};
PRAGMA user_version = {SCHEMA_VERSION};
"""
TABLES = frozenset({"tenants", "collections", "records", "unique_keys"})

_encode = json.JSONEncoder(separators=(",", ":")).encode
_decode = json.loads


def _blob(text: str) -> bytes:
    return text.encode("utf-8", "surrogatepass")


def _text(blob: bytes) -> str:
    return blob.decode("utf-8", "surrogatepass")


class SQLiteStore(Store):
    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self._lock = threading.RLock()
        self._tenant_ids: dict[Tenant, int] = {}
        self._collection_ids: dict[tuple[Tenant, str], int] = {}
        self._db = _open(self.path)

    # --- resolving (tenant, collection) to its row id, cached ---------------------------------

    def _collection(self, tenant: Tenant, collection: str, create: bool = False) -> int | None:
        """The collection's row id; with `create` (inside a write transaction) made when missing."""
        found = self._collection_ids.get((tenant, collection))
        if found is not None:
            return found
        tenant_id = self._tenant(tenant, create)
        if tenant_id is None:
            return None
        row = self._db.execute("SELECT id FROM collections WHERE tenant = ? AND name = ?",
                               (tenant_id, collection)).fetchone()
        if row is not None:
            found = row[0]
        elif create:
            found = self._db.execute("INSERT INTO collections (tenant, name) VALUES (?, ?)",
                                     (tenant_id, collection)).lastrowid
        else:
            return None
        self._collection_ids[(tenant, collection)] = found
        return found

    def _tenant(self, tenant: Tenant, create: bool = False) -> int | None:
        found = self._tenant_ids.get(tenant)
        if found is not None:
            return found
        row = self._db.execute("SELECT id FROM tenants WHERE vendor = ? AND credential = ?",
                               (tenant.vendor, _blob(tenant.credential))).fetchone()
        if row is not None:
            found = row[0]
        elif create:
            found = self._db.execute("INSERT INTO tenants (vendor, credential, seq) VALUES (?, ?, 0)",
                                     (tenant.vendor, _blob(tenant.credential))).lastrowid
        else:
            return None
        self._tenant_ids[tenant] = found
        return found

    def _next_seq(self, tenant: Tenant) -> int:
        return self._db.execute("UPDATE tenants SET seq = seq + 1 WHERE id = ? RETURNING seq",
                                (self._tenant_ids[tenant],)).fetchone()[0]

    def _write(self):
        return _Transaction(self)

    def _add_key(self, collection_id: int, index: str, key: str, record_id: bytes) -> None:
        try:
            self._db.execute("INSERT INTO unique_keys (collection, name, key, record) VALUES (?, ?, ?, ?)",
                             (collection_id, index, _blob(key), record_id))
        except sqlite3.IntegrityError:
            raise Conflict(index, key) from None

    # --- the Store interface ------------------------------------------------------------------

    def insert(self, tenant: Tenant, collection: str, build: Callable[[int], Record],
               unique: Unique = NO_KEYS) -> Record:
        with self._write():
            collection_id = self._collection(tenant, collection, create=True)
            seq = self._next_seq(tenant)
            record = build(seq)
            record_id = _blob(record["id"])
            self._db.execute("INSERT INTO records (collection, seq, id, body) VALUES (?, ?, ?, ?)",
                             (collection_id, seq, record_id, _encode(record)))
            for index, key in unique.items():
                if key is not None:
                    self._add_key(collection_id, index, key, record_id)
            return record

    def get(self, tenant: Tenant, collection: str, record_id: str) -> Record | None:
        with self._lock:
            collection_id = self._collection(tenant, collection)
            if collection_id is None:
                return None
            row = self._db.execute("SELECT body FROM records WHERE collection = ? AND id = ?",
                                   (collection_id, _blob(record_id))).fetchone()
        return None if row is None else _decode(row[0])

    def find(self, tenant: Tenant, collection: str, index: str, key: str) -> Record | None:
        if key is None:
            return None
        with self._lock:
            collection_id = self._collection(tenant, collection)
            if collection_id is None:
                return None
            row = self._db.execute(
                "SELECT r.body FROM unique_keys u JOIN records r ON r.collection = u.collection AND r.id = u.record"
                " WHERE u.collection = ? AND u.name = ? AND u.key = ?",
                (collection_id, index, _blob(key))).fetchone()
        return None if row is None else _decode(row[0])

    def update(self, tenant: Tenant, collection: str, record_id: str,
               change: Callable[[Record, int], Record], unique: Unique = NO_KEYS) -> Record | None:
        with self._write():
            collection_id = self._collection(tenant, collection)
            if collection_id is None:
                return None
            blob_id = _blob(record_id)
            row = self._db.execute("SELECT seq, body FROM records WHERE collection = ? AND id = ?",
                                   (collection_id, blob_id)).fetchone()
            if row is None:
                return None
            for index, key in unique.items():  # named indexes take their new key; others keep theirs
                self._db.execute("DELETE FROM unique_keys WHERE collection = ? AND name = ? AND record = ?",
                                 (collection_id, index, blob_id))
                if key is not None:
                    self._add_key(collection_id, index, key, blob_id)
            record = change(_decode(row[1]), self._next_seq(tenant))
            self._db.execute("UPDATE records SET body = ? WHERE collection = ? AND seq = ?",
                             (_encode(record), collection_id, row[0]))
            return record

    def delete(self, tenant: Tenant, collection: str, record_id: str) -> bool:
        with self._write():
            collection_id = self._collection(tenant, collection)
            if collection_id is None:
                return False
            blob_id = _blob(record_id)
            if not self._db.execute("DELETE FROM records WHERE collection = ? AND id = ?",
                                    (collection_id, blob_id)).rowcount:
                return False
            self._db.execute("DELETE FROM unique_keys WHERE collection = ? AND record = ?", (collection_id, blob_id))
            self._next_seq(tenant)  # a delete is a write: its seq is spent, never reused
            return True

    def page(self, tenant: Tenant, collection: str, limit: int, after: int | None = None,
             before: int | None = None) -> Page:
        with self._lock:
            collection_id = self._collection(tenant, collection)
            if collection_id is None:
                return Page()
            run = self._db.execute
            if before is not None:
                before = min(before, SEQ_MAX)
                rows = run("SELECT seq, body FROM records WHERE collection = ? AND seq < ? ORDER BY seq DESC LIMIT ?",
                           (collection_id, before, limit + 1)).fetchall()
                more_before = len(rows) > limit
                rows = rows[:limit][::-1]
                more_after = run("SELECT EXISTS (SELECT 1 FROM records WHERE collection = ? AND seq >= ?)",
                                 (collection_id, before)).fetchone()[0] == 1
            else:
                start = -SEQ_MAX - 1 if after is None else min(after, SEQ_MAX)
                rows = run("SELECT seq, body FROM records WHERE collection = ? AND seq > ? ORDER BY seq LIMIT ?",
                           (collection_id, start, limit + 1)).fetchall()
                more_after = len(rows) > limit
                rows = rows[:limit]
                more_before = after is not None and run(
                    "SELECT EXISTS (SELECT 1 FROM records WHERE collection = ? AND seq <= ?)",
                    (collection_id, start)).fetchone()[0] == 1
        return Page([(seq, _decode(body)) for seq, body in rows], more_before, more_after)

    def scan(self, tenant: Tenant, collection: str) -> Iterator[Record]:
        with self._lock:
            collection_id = self._collection(tenant, collection)
            if collection_id is None:
                return iter(())
            rows = self._db.execute("SELECT body FROM records WHERE collection = ? ORDER BY seq",
                                    (collection_id,)).fetchall()
        return (_decode(body) for (body,) in rows)

    def count(self, tenant: Tenant, collection: str) -> int:
        with self._lock:
            collection_id = self._collection(tenant, collection)
            if collection_id is None:
                return 0
            return self._db.execute("SELECT count(*) FROM records WHERE collection = ?", (collection_id,)).fetchone()[0]

    def tenants(self) -> list[Tenant]:
        with self._lock:
            rows = self._db.execute("SELECT vendor, credential FROM tenants").fetchall()
        return sorted(Tenant(vendor, _text(credential)) for vendor, credential in rows)

    def sequence(self, tenant: Tenant) -> int:
        with self._lock:
            row = self._db.execute("SELECT seq FROM tenants WHERE vendor = ? AND credential = ?",
                                   (tenant.vendor, _blob(tenant.credential))).fetchone()
        return 0 if row is None else row[0]

    def reset(self, vendor: str | None = None, tenant: Tenant | None = None) -> None:
        with self._write():
            if tenant is not None:
                self._drop("id IN (SELECT id FROM tenants WHERE vendor = ? AND credential = ?)",
                           (tenant.vendor, _blob(tenant.credential)))
            elif vendor is not None:
                self._drop("id IN (SELECT id FROM tenants WHERE vendor = ?)", (vendor,))
            else:
                for table in ("unique_keys", "records", "collections", "tenants"):
                    self._db.execute(f"DELETE FROM {table}")
            self._forget()

    def _drop(self, which: str, args: tuple) -> None:
        """Delete whole tenants (`which` selects tenant ids) and everything they hold."""
        collections = f"SELECT id FROM collections WHERE tenant IN (SELECT id FROM tenants WHERE {which})"
        self._db.execute(f"DELETE FROM unique_keys WHERE collection IN ({collections})", args)
        self._db.execute(f"DELETE FROM records WHERE collection IN ({collections})", args)
        self._db.execute(f"DELETE FROM collections WHERE tenant IN (SELECT id FROM tenants WHERE {which})", args)
        self._db.execute(f"DELETE FROM tenants WHERE {which}", args)

    def _abort(self) -> None:
        if self._db.in_transaction:
            self._db.execute("ROLLBACK")
        self._forget()

    def _forget(self) -> None:
        self._tenant_ids.clear()
        self._collection_ids.clear()

    def export(self) -> list[dict]:
        with self._lock:
            run = self._db.execute
            result = []
            tenants = run("SELECT id, vendor, credential, seq FROM tenants").fetchall()
            for tenant_id, vendor, credential, seq in sorted(tenants, key=lambda t: (t[1], _text(t[2]))):
                collections = {}
                for collection_id, name in run("SELECT id, name FROM collections WHERE tenant = ? ORDER BY id",
                                               (tenant_id,)).fetchall():
                    keys: dict[bytes, dict[str, str]] = {}
                    for record_id, index, key in run("SELECT record, name, key FROM unique_keys WHERE collection = ?",
                                                     (collection_id,)):
                        keys.setdefault(record_id, {})[index] = _text(key)
                    collections[name] = [
                        {"seq": row_seq, "record": _decode(body), "unique": keys.get(record_id, {})}
                        for row_seq, record_id, body in run(
                            "SELECT seq, id, body FROM records WHERE collection = ? ORDER BY seq", (collection_id,))
                    ]
                result.append({"vendor": vendor, "credential": _text(credential), "seq": seq,
                               "collections": collections})
            return result

    def load(self, tenants: list[dict]) -> None:
        with self._write():
            run = self._db.execute
            for data in tenants:
                tenant = Tenant(data["vendor"], data["credential"])
                self._drop("vendor = ? AND credential = ?", (tenant.vendor, _blob(tenant.credential)))
                self._forget()
                seq = int(data["seq"])
                tenant_id = run("INSERT INTO tenants (vendor, credential, seq) VALUES (?, ?, 0)",
                                (tenant.vendor, _blob(tenant.credential))).lastrowid
                for name, rows in data.get("collections", {}).items():
                    collection_id = run("INSERT INTO collections (tenant, name) VALUES (?, ?)",
                                        (tenant_id, name)).lastrowid
                    for row in rows:
                        row_seq, record = int(row["seq"]), row["record"]
                        record_id = _blob(record["id"])
                        try:
                            run("INSERT INTO records (collection, seq, id, body) VALUES (?, ?, ?, ?)",
                                (collection_id, row_seq, record_id, _encode(record)))
                        except sqlite3.IntegrityError:
                            raise ValueError(
                                f"{name}: two records share id {record['id']!r} or seq {row_seq}") from None
                        for index, key in row.get("unique", {}).items():
                            if key is not None:
                                self._add_key(collection_id, index, key, record_id)
                        seq = max(seq, row_seq)
                run("UPDATE tenants SET seq = ? WHERE id = ?", (seq, tenant_id))
            self._forget()

    def close(self) -> None:
        with self._lock:
            self._db.close()


class _Transaction:
    """`with store._write():` the lock, BEGIN IMMEDIATE, then COMMIT, or ROLLBACK on any error
    (and forget cached row ids, which may name rows the rollback removed)."""

    __slots__ = ("store",)

    def __init__(self, store: SQLiteStore) -> None:
        self.store = store

    def __enter__(self) -> None:
        self.store._lock.acquire()
        try:
            self.store._db.execute("BEGIN IMMEDIATE")
        except BaseException:
            self.store._lock.release()
            raise

    def __exit__(self, kind, error, traceback) -> None:
        store = self.store
        try:
            if kind is None:
                try:
                    store._db.execute("COMMIT")
                    return
                except BaseException:
                    store._abort()
                    raise
            store._abort()
        finally:
            store._lock.release()


def _open(path: Path) -> sqlite3.Connection:
    """Open (creating when missing) a mockserver database, or raise StoreError saying why not."""
    if path.is_dir():
        raise StoreError(f"{path} is a directory, not a mockserver database file")
    if not path.parent.is_dir():
        raise StoreError(f"cannot create {path}: the directory {path.parent} does not exist")
    try:
        with path.open("rb") as file:
            header = file.read(len(SQLITE_MAGIC))
    except FileNotFoundError:
        header = b""
    except OSError as error:
        raise StoreError(f"cannot read {path}: {error.strerror or error}") from None
    if header and header != SQLITE_MAGIC:
        raise StoreError(f"{path} is not a mockserver database: it is not an SQLite file")
    try:
        db = sqlite3.connect(str(path), timeout=LOCK_WAIT_S, isolation_level=None, check_same_thread=False)
    except sqlite3.Error as error:
        raise StoreError(f"cannot open {path}: {error}") from None
    try:
        _prepare(db, path)
    except sqlite3.Error as error:
        db.close()
        if "locked" in str(error) or "busy" in str(error):
            raise StoreError(f"{path} is in use by another process (another mockserver?): {error}") from None
        raise StoreError(f"cannot use {path} as a mockserver database: {error}") from None
    except BaseException:
        db.close()
        raise
    return db


def _prepare(db: sqlite3.Connection, path: Path) -> None:
    # Exclusive before the first read: the file stays locked to this connection until close.
    db.execute("PRAGMA locking_mode = EXCLUSIVE")
    application_id = db.execute("PRAGMA application_id").fetchone()[0]
    version = db.execute("PRAGMA user_version").fetchone()[0]
    tables = {name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
              if not name.startswith("sqlite_")}
    fresh = application_id == 0 and version == 0 and not tables
    if not fresh:  # check everything before changing anything: never touch a foreign file
        if application_id != APPLICATION_ID:
            what = (f"application_id {application_id:#x}" if application_id
                    else f"tables {', '.join(sorted(tables))}" if tables else f"user_version {version}")
            raise StoreError(f"{path} is not a mockserver database: it is an SQLite database of another "
                             f"application ({what})")
        if version != SCHEMA_VERSION:
            raise StoreError(f"{path} has mockserver schema version {version}, but this mockserver uses version "
                             f"{SCHEMA_VERSION}; use another --db file (or the mockserver that wrote it)")
        if not TABLES <= tables:
            raise StoreError(f"{path} is a damaged mockserver database: missing tables "
                             f"{', '.join(sorted(TABLES - tables))}")
    mode = db.execute("PRAGMA journal_mode = WAL").fetchone()[0]
    if mode.lower() != "wal":
        raise StoreError(f"{path}: SQLite cannot use WAL mode on this file (it says {mode!r})")
    db.execute("PRAGMA synchronous = NORMAL")
    db.execute("BEGIN IMMEDIATE")  # also takes the exclusive lock now, not at the first write
    try:
        if fresh:
            _create(db)
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise


def _create(db: sqlite3.Connection) -> None:
    for statement in SCHEMA.split(";"):
        if statement.strip():
            db.execute(statement)
