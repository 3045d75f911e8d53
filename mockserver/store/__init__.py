"""The store: one small interface (`base.Store`), two implementations (memory, SQLite)."""

from __future__ import annotations

from pathlib import Path

from mockserver.store.base import Page, Record, Store, StoreError, Tenant
from mockserver.store.memory import MemoryStore

__all__ = ["MemoryStore", "Page", "Record", "Store", "StoreError", "Tenant", "open_store"]


def open_store(db: Path | None) -> Store:
    """The memory store, or the SQLite one at `db` (imported only when asked for)."""
    if db is None:
        return MemoryStore()
    from mockserver.store.sqlite import SQLiteStore

    return SQLiteStore(Path(db))
