"""What a vendor module provides, and what its handlers receive.

A vendor module defines `VENDOR = Vendor(...)`: its spec file, one handler per operationId, how
it accepts a credential and how it renders an error. It never touches Flask routing or jsonschema.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from mockserver.determinism import Determinism
from mockserver.errors import MockError
from mockserver.spec import Operation
from mockserver.store import Store, Tenant


@dataclass
class Reply:
    status: int
    body: Any = None  # None: no body (204)
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Call:
    """One validated request, as a handler sees it."""

    operation: Operation
    tenant: Tenant
    body: Any  # validated; properties the schema does not name are already dropped
    path: dict[str, Any]
    query: dict[str, Any]
    store: Store
    determinism: Determinism
    warnings: list[str] = field(default_factory=list)

    def base62_id(self, collection: str, seq: int, length: int = 21) -> str:
        return self.determinism.base62_id(self.tenant.vendor, self.tenant.credential, collection, seq, length)

    def uuid4(self, collection: str, seq: int) -> str:
        return self.determinism.uuid4(self.tenant.vendor, self.tenant.credential, collection, seq)

    def now(self, seq: int) -> int:
        return self.determinism.now(seq)


@dataclass
class ErrorContext:
    """What a vendor may use to render an error: the operation is None when no route matched."""

    method: str
    path: str
    operation: Operation | None
    tenant: Tenant | None
    determinism: Determinism
    store: Store


Handler = Callable[[Call], Reply]


def accept_any(scheme_name: str, scheme: dict, value: str) -> bool:
    return bool(value)


@dataclass(frozen=True)
class Vendor:
    name: str
    spec_file: str  # in the openapi folder
    handlers: Mapping[str, Handler]
    render_error: Callable[[MockError, ErrorContext], Reply]
    accept_credential: Callable[[str, dict, str], bool] = accept_any
