"""What passes between the layers of one request: the mounted API, the exchange the observers see,
and the shapes of the hooks. Below the pipeline, the journal and the faults, so each imports it."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import field
from typing import Any

from mockserver.errors import Issue
from mockserver.records import dataclass
from mockserver.spec import Operation, Spec
from mockserver.store import Tenant
from mockserver.vendors.base import Reply, Vendor


@dataclass(frozen=True)
class Mount:
    vendor: Vendor
    spec: Spec
    control: bool = False  # the mock's own control API: no faults, no journal, no CORS


@dataclass
class Exchange:
    """What one request was and what it got: the journal's raw material."""

    vendor: str
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes
    started: float = field(default_factory=time.time)
    operation_id: str | None = None
    tenant: Tenant | None = None
    status: int = 0
    response_body: Any = None
    response_bytes: bytes = b""  # the body as sent (the journal keeps these bytes, not the value)
    response_headers: dict[str, str] = field(default_factory=dict)
    issues: list[Issue] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    error: str | None = None
    fault: dict | None = None  # the fault applied (admin.yaml's JournalEntry.fault), set by the faults
    abandoned: bool = False  # a reset ended this request's delay: no answer, and no journal entry
    request: Any = None  # the request (headers, environ, body), for the faults and the journal


def http_errors() -> type[Exception]:
    """werkzeug's HTTP errors (a request's body over its limit), imported when one is to be caught
    (`except http_errors():` runs only then): a start serving JSON alone never imports werkzeug."""
    from werkzeug.exceptions import HTTPException

    return HTTPException


Interceptor = Callable[[Exchange, Operation, Mount], Reply | None]
Observer = Callable[[Exchange], None]
