"""The default store: dicts of packed records under one lock (held requests run on worker threads)."""

from __future__ import annotations

import bisect
import threading
from collections.abc import Callable, Iterator

from mockserver.errors import Conflict
from mockserver.store.base import NO_KEYS, Page, Record, Store, Tenant, Unique


class _Layout:
    """The field names of a record and the index names of its unique keys, shared by every record
    of that shape (a vendor's records all have one or two)."""

    __slots__ = ("fields", "indexes", "end")

    def __init__(self, fields: tuple[str, ...], indexes: tuple[str, ...]) -> None:
        self.fields = fields
        self.indexes = indexes
        self.end = 2 + len(fields)  # where the keys start in a packed record


# A record at rest is one flat tuple, (layout number, seq, *values, *unique keys), instead of a dict
# plus per-record index entries: at 100,000 stored projects that is ~250 bytes and several
# objects less per record, so less memory and a faster reset. The layout is a number, not the
# object, so that a tuple of plain values is untracked by the garbage collector (100,000 tracked
# records would add ~50 ms to every full collection). Readers get a fresh dict (`_unpack`).
Packed = tuple
_LAYOUTS: list[_Layout] = []  # by number, shared by every store of the process
_NUMBERS: dict[tuple, int] = {}  # (fields, indexes) -> number
_MAX_LAYOUTS = 10_000  # imports may bring any shapes; past this, records are kept as dicts
_layouts_lock = threading.Lock()


def _pack(seq: int, record: Record, keys: dict[str, str]) -> Packed:
    shape = (tuple(record), tuple(keys))
    number = _NUMBERS.get(shape)
    if number is None:
        with _layouts_lock:
            number = _NUMBERS.get(shape)
            if number is None:
                if len(_LAYOUTS) >= _MAX_LAYOUTS:
                    return (-1, seq, dict(record), dict(keys))
                _LAYOUTS.append(_Layout(*shape))
                number = _NUMBERS[shape] = len(_LAYOUTS) - 1
    return (number, seq, *record.values(), *keys.values())


def _unpack(packed: Packed) -> Record:
    if packed[0] < 0:
        return dict(packed[2])
    layout = _LAYOUTS[packed[0]]
    return dict(zip(layout.fields, packed[2:layout.end], strict=True))


def _keys(packed: Packed) -> dict[str, str]:
    if packed[0] < 0:
        return dict(packed[3])
    layout = _LAYOUTS[packed[0]]
    return dict(zip(layout.indexes, packed[layout.end:], strict=True))


class _Collection:
    __slots__ = ("records", "order", "ids", "unique")

    def __init__(self) -> None:
        self.records: dict[str, Packed] = {}
        self.order: list[int] = []  # seqs of live records, ascending (appends keep it sorted)
        self.ids: list[str] = []  # the id of each seq in `order`, at the same position
        self.unique: dict[str, dict[str, str]] = {}  # index -> key -> id

    def taken(self, index: str, key: str | None, record_id: str | None) -> bool:
        if key is None:
            return False
        owner = self.unique.get(index, {}).get(key)
        return owner is not None and owner != record_id

    def set_keys(self, record_id: str, old: dict[str, str], new: dict[str, str]) -> None:
        for index, key in old.items():
            self.unique[index].pop(key, None)
        for index, key in new.items():
            self.unique.setdefault(index, {})[key] = record_id

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
        coll.records[record_id] = _pack(seq, record, keys)
        if not coll.order or coll.order[-1] < seq:
            coll.order.append(seq)
            coll.ids.append(record_id)
        else:  # only an import can put an older seq
            at = bisect.bisect_left(coll.order, seq)
            coll.order.insert(at, seq)
            coll.ids.insert(at, record_id)
        coll.set_keys(record_id, {}, keys)

    def get(self, tenant: Tenant, collection: str, record_id: str) -> Record | None:
        coll = self._collection(tenant, collection)
        packed = None if coll is None else coll.records.get(record_id)
        return None if packed is None else _unpack(packed)

    def find(self, tenant: Tenant, collection: str, index: str, key: str) -> Record | None:
        with self._lock:
            coll = self._collection(tenant, collection)
            record_id = None if coll is None else coll.unique.get(index, {}).get(key)
            return None if record_id is None else _unpack(coll.records[record_id])

    def update(self, tenant: Tenant, collection: str, record_id: str,
               change: Callable[[Record, int], Record], unique: Unique = NO_KEYS) -> Record | None:
        with self._lock:
            coll = self._collection(tenant, collection)
            if coll is None or record_id not in coll.records:
                return None
            self._check(coll, unique, record_id)
            state = self._tenants[tenant]
            state.seq += 1
            packed = coll.records[record_id]
            record = change(_unpack(packed), state.seq)
            old = _keys(packed)
            keys = {**old, **unique}
            keys = {k: v for k, v in keys.items() if v is not None}
            coll.records[record_id] = _pack(packed[1], record, keys)
            coll.set_keys(record_id, old, keys)
            return record

    def delete(self, tenant: Tenant, collection: str, record_id: str) -> bool:
        with self._lock:
            coll = self._collection(tenant, collection)
            if coll is None or record_id not in coll.records:
                return False
            self._tenants[tenant].seq += 1
            packed = coll.records.pop(record_id)
            at = coll.position(packed[1])
            del coll.order[at]
            del coll.ids[at]
            coll.set_keys(record_id, _keys(packed), {})
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
            items = [(seq, _unpack(records[record_id])) for seq, record_id in zip(order[start:end],
                                                                                   coll.ids[start:end], strict=True)]
            return Page(items, more_before=start > 0, more_after=end < len(order))

    def scan(self, tenant: Tenant, collection: str) -> Iterator[Record]:
        with self._lock:
            coll = self._collection(tenant, collection)
            snapshot = [] if coll is None else [coll.records[record_id] for record_id in coll.ids]
        return map(_unpack, snapshot)  # packed records are immutable: unpacked as the caller goes

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
                            {"seq": seq, "record": _unpack(coll.records[record_id]),
                             "unique": _keys(coll.records[record_id])}
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
