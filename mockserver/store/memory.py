"""The default store: plain dicts under one lock (waitress serves on threads)."""

from __future__ import annotations

import bisect
import threading
from collections.abc import Callable, Iterator

from mockserver.errors import Conflict
from mockserver.store.base import NO_KEYS, Page, Record, Store, Tenant, Unique


class _Collection:
    # Per record: an entry in `records`, `seqs`, `keys` and each unique index, and a slot in the two
    # parallel lists. Flat tuples and lists rather than small dicts: at 100,000 records that is
    # ~15 MB less, and a reset frees fewer objects.
    __slots__ = ("records", "seqs", "order", "ids", "unique", "keys")

    def __init__(self) -> None:
        self.records: dict[str, Record] = {}
        self.seqs: dict[str, int] = {}
        self.order: list[int] = []  # seqs of live records, ascending (appends keep it sorted)
        self.ids: list[str] = []  # the id of each seq in `order`, at the same position
        self.unique: dict[str, dict[str, str]] = {}  # index -> key -> id
        self.keys: dict[str, tuple[str, ...]] = {}  # id -> (index, key, index, key, ...)

    def taken(self, index: str, key: str | None, record_id: str | None) -> bool:
        if key is None:
            return False
        owner = self.unique.get(index, {}).get(key)
        return owner is not None and owner != record_id

    def keys_of(self, record_id: str) -> dict[str, str]:
        flat = self.keys.get(record_id, ())
        return dict(zip(flat[::2], flat[1::2], strict=True))

    def set_keys(self, record_id: str, keys: dict[str, str]) -> None:
        flat = self.keys.pop(record_id, ())
        for index, key in zip(flat[::2], flat[1::2], strict=True):
            self.unique[index].pop(key, None)
        for index, key in keys.items():
            self.unique.setdefault(index, {})[key] = record_id
        if keys:
            self.keys[record_id] = tuple(item for pair in keys.items() for item in pair)

    def position(self, seq: int) -> int | None:
        """Where a live seq is in `order` (and `ids`), or None."""
        at = bisect.bisect_left(self.order, seq)
        return at if at < len(self.order) and self.order[at] == seq else None


class _TenantState:
    __slots__ = ("seq", "collections")

    def __init__(self, seq: int = 0) -> None:
        self.seq = seq
        self.collections: dict[str, _Collection] = {}


class MemoryStore(Store):
    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._tenants: dict[Tenant, _TenantState] = {}

    def _collection(self, tenant: Tenant, collection: str, create: bool = False) -> _Collection | None:
        state = self._tenants.get(tenant)
        if state is None:
            if not create:
                return None
            state = self._tenants[tenant] = _TenantState()
        found = state.collections.get(collection)
        if found is None and create:
            found = state.collections[collection] = _Collection()
        return found

    def _check(self, coll: _Collection, unique: Unique, record_id: str | None) -> None:
        for index, key in unique.items():
            if coll.taken(index, key, record_id):
                raise Conflict(index, key)

    def insert(self, tenant: Tenant, collection: str, build: Callable[[int], Record],
               unique: Unique = NO_KEYS) -> Record:
        with self._lock:
            coll = self._collection(tenant, collection, create=True)
            self._check(coll, unique, None)
            state = self._tenants[tenant]
            state.seq += 1
            record = build(state.seq)
            self._put(coll, state.seq, record, {k: v for k, v in unique.items() if v is not None})
            return record

    def _put(self, coll: _Collection, seq: int, record: Record, keys: dict[str, str]) -> None:
        record_id = record["id"]
        coll.records[record_id] = record
        coll.seqs[record_id] = seq
        if not coll.order or coll.order[-1] < seq:
            coll.order.append(seq)
            coll.ids.append(record_id)
        else:  # only an import can put an older seq
            at = bisect.bisect_left(coll.order, seq)
            coll.order.insert(at, seq)
            coll.ids.insert(at, record_id)
        coll.set_keys(record_id, keys)

    def get(self, tenant: Tenant, collection: str, record_id: str) -> Record | None:
        coll = self._collection(tenant, collection)
        return None if coll is None else coll.records.get(record_id)

    def find(self, tenant: Tenant, collection: str, index: str, key: str) -> Record | None:
        with self._lock:
            coll = self._collection(tenant, collection)
            record_id = None if coll is None else coll.unique.get(index, {}).get(key)
            return None if record_id is None else coll.records[record_id]

    def update(self, tenant: Tenant, collection: str, record_id: str,
               change: Callable[[Record, int], Record], unique: Unique = NO_KEYS) -> Record | None:
        with self._lock:
            coll = self._collection(tenant, collection)
            if coll is None or record_id not in coll.records:
                return None
            self._check(coll, unique, record_id)
            state = self._tenants[tenant]
            state.seq += 1
            record = change(coll.records[record_id], state.seq)
            keys = coll.keys_of(record_id)
            keys.update(unique)
            coll.records[record_id] = record
            coll.set_keys(record_id, {k: v for k, v in keys.items() if v is not None})
            return record

    def delete(self, tenant: Tenant, collection: str, record_id: str) -> bool:
        with self._lock:
            coll = self._collection(tenant, collection)
            if coll is None or record_id not in coll.records:
                return False
            self._tenants[tenant].seq += 1
            del coll.records[record_id]
            at = coll.position(coll.seqs.pop(record_id))
            del coll.order[at]
            del coll.ids[at]
            coll.set_keys(record_id, {})
            return True

    def page(self, tenant: Tenant, collection: str, limit: int, after: int | None = None,
             before: int | None = None) -> Page:
        with self._lock:
            coll = self._collection(tenant, collection)
            if coll is None:
                return Page()
            order = coll.order
            if before is not None:
                end = bisect.bisect_left(order, before)
                start = max(0, end - limit)
            else:
                start = 0 if after is None else bisect.bisect_right(order, after)
                end = min(len(order), start + limit)
            records = coll.records
            items = [(seq, records[record_id]) for seq, record_id in zip(order[start:end], coll.ids[start:end],
                                                                          strict=True)]
            return Page(items, more_before=start > 0, more_after=end < len(order))

    def scan(self, tenant: Tenant, collection: str) -> Iterator[Record]:
        with self._lock:
            coll = self._collection(tenant, collection)
            snapshot = [] if coll is None else [coll.records[record_id] for record_id in coll.ids]
        return iter(snapshot)

    def count(self, tenant: Tenant, collection: str) -> int:
        coll = self._collection(tenant, collection)
        return 0 if coll is None else len(coll.records)

    def tenants(self) -> list[Tenant]:
        with self._lock:
            return sorted(self._tenants)

    def sequence(self, tenant: Tenant) -> int:
        state = self._tenants.get(tenant)
        return 0 if state is None else state.seq

    def reset(self, vendor: str | None = None, tenant: Tenant | None = None) -> None:
        with self._lock:
            if tenant is not None:
                self._tenants.pop(tenant, None)
            elif vendor is not None:
                for key in [t for t in self._tenants if t.vendor == vendor]:
                    del self._tenants[key]
            else:
                self._tenants = {}

    def export(self) -> list[dict]:
        with self._lock:
            return [
                {
                    "vendor": tenant.vendor,
                    "credential": tenant.credential,
                    "seq": state.seq,
                    "collections": {
                        name: [
                            {"seq": seq, "record": coll.records[record_id], "unique": coll.keys_of(record_id)}
                            for seq, record_id in zip(coll.order, coll.ids, strict=True)
                        ]
                        for name, coll in state.collections.items()
                    },
                }
                for tenant, state in sorted(self._tenants.items())
            ]

    def load(self, tenants: list[dict]) -> None:
        built: dict[Tenant, _TenantState] = {}
        for data in tenants:  # build aside first: a bad entry leaves the store untouched
            state = _TenantState(int(data["seq"]))
            for name, rows in data.get("collections", {}).items():
                coll = state.collections[name] = _Collection()
                for row in rows:
                    keys = {k: v for k, v in row.get("unique", {}).items() if v is not None}
                    self._check(coll, keys, None)
                    if row["record"]["id"] in coll.records or coll.position(int(row["seq"])) is not None:
                        raise ValueError(f"{name}: two records share id {row['record']['id']!r} or seq {row['seq']}")
                    self._put(coll, int(row["seq"]), row["record"], keys)
                    state.seq = max(state.seq, int(row["seq"]))
            built[Tenant(data["vendor"], data["credential"])] = state
        with self._lock:
            self._tenants.update(built)
