"""The store interface every implementation follows, and its shared types.

Records are JSON-able dicts holding what cannot be derived (a vendor renders the API object
from them). They are partitioned by tenant, kept in creation order, and may carry unique keys
(`unique`: index name -> key; a None key is not indexed). Every write takes the tenant's next
sequence number, which is also what ids and the fixed clock are made from. Returned records are
shared: callers never mutate them, they pass a new dict to `update`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping
from dataclasses import field
from types import MappingProxyType
from typing import Any

from mockserver.records import dataclass

Record = dict[str, Any]
Unique = Mapping[str, str | None]
NO_KEYS: Unique = MappingProxyType({})


class StoreError(Exception):
    """The store cannot be opened or used (a foreign file, an incompatible schema version)."""


@dataclass(frozen=True, order=True)
class Tenant:
    """One isolated world: a vendor and one credential."""

    vendor: str
    credential: str


@dataclass
class Page:
    items: list[tuple[int, Record]] = field(default_factory=list)  # (seq, record), oldest first
    more_before: bool = False
    more_after: bool = False


class Store(ABC):
    @abstractmethod
    def insert(self, tenant: Tenant, collection: str, build: Callable[[int], Record],
               unique: Unique = NO_KEYS) -> Record:
        """Store `build(seq)` with the tenant's next seq; `Conflict` if a unique key is taken."""

    @abstractmethod
    def get(self, tenant: Tenant, collection: str, record_id: str) -> Record | None: ...

    @abstractmethod
    def find(self, tenant: Tenant, collection: str, index: str, key: str) -> Record | None:
        """The record holding a unique key."""

    @abstractmethod
    def update(self, tenant: Tenant, collection: str, record_id: str,
               change: Callable[[Record, int], Record], unique: Unique = NO_KEYS) -> Record | None:
        """Replace a record with `change(old, seq)`; None if absent; `Conflict` if a new key is taken.
        `unique` lists the record's keys after the change (indexes not named keep theirs)."""

    @abstractmethod
    def delete(self, tenant: Tenant, collection: str, record_id: str) -> bool: ...

    @abstractmethod
    def page(self, tenant: Tenant, collection: str, limit: int, after: int | None = None,
             before: int | None = None) -> Page:
        """Up to `limit` records after seq `after` (or the last ones before seq `before`)."""

    @abstractmethod
    def scan(self, tenant: Tenant, collection: str) -> Iterator[Record]:
        """Every record of a collection, oldest first (a snapshot: safe against concurrent writes)."""

    @abstractmethod
    def count(self, tenant: Tenant, collection: str) -> int: ...

    @abstractmethod
    def tenants(self) -> list[Tenant]: ...

    @abstractmethod
    def sequence(self, tenant: Tenant) -> int:
        """The tenant's last sequence number (0 before its first write)."""

    @abstractmethod
    def reset(self, vendor: str | None = None, tenant: Tenant | None = None) -> None:
        """Forget everything, one vendor's tenants, or one tenant (its sequence starts again)."""

    @abstractmethod
    def export(self) -> list[dict]:
        """Every tenant as `{vendor, credential, seq, collections: {name: [{seq, record, unique}]}}`."""

    @abstractmethod
    def load(self, tenants: list[dict]) -> None:
        """Replace the given tenants (whole) with exported data; all or nothing."""

    def close(self) -> None:
        """Release files and connections."""
