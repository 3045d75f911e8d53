"""The request journal: a bounded record of what every vendor request was and what it got.

It is an observer of the pipeline (`runtime.observers`), requests no route matched included.
Entries are the JSON the control API serves, built once when the request ends, with credentials
masked; the real tenant is kept beside each entry so filters can compare with it.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import has_request_context, request
from werkzeug.exceptions import HTTPException

from mockserver import faults, jsontext
from mockserver.determinism import rfc3339_micros
from mockserver.exchange import Exchange
from mockserver.spec import Spec
from mockserver.store import Tenant

# Always masked, whatever the specs say; the specs' security schemes add their own names.
ALWAYS_SECRET = frozenset({"authorization", "proxy-authorization", "cookie", "x-api-key", "x-mock-admin-token"})
# A request the mock refused because it broke the spec (vendor-neutral statuses of the pipeline).
INVALID_STATUSES = frozenset({400, 413, 415, 422})


def secret_names(specs: Iterable[Spec]) -> tuple[frozenset[str], frozenset[str]]:
    """(header names, query names) that carry credentials, lower-cased."""
    headers, query = set(ALWAYS_SECRET), set()
    for spec in specs:
        for operation in spec.operations.values():
            for _, scheme in operation.security:
                if scheme.get("type") == "apiKey":
                    (headers if scheme.get("in") == "header" else query).add(scheme["name"].lower())
    return frozenset(headers), frozenset(query)


def mask(secret: str) -> str:
    """Enough of a credential to tell two apart, never enough to use: `sk-t…`, or `***` when short."""
    keep = min(4, len(secret) // 3)
    return secret[:keep] + "…" if keep else "***"


def mask_header(name: str, value: str) -> str:
    scheme, space, token = value.partition(" ")
    if name.lower() in ("authorization", "proxy-authorization") and space and scheme.isalpha():
        return f"{scheme} {mask(token.strip())}"
    return mask(value)


@dataclass(frozen=True)
class _Kept:
    tenant: Tenant | None
    started: float
    entry: dict


class Journal:
    """Newest last, at most `capacity` entries (0 keeps none). Thread-safe."""

    def __init__(self, capacity: int = 1000, secrets: tuple[frozenset[str], frozenset[str]] | None = None) -> None:
        self.capacity = capacity
        self._secret_headers, self._secret_query = secrets or (ALWAYS_SECRET, frozenset())
        self._lock = threading.Lock()
        self._entries: deque[_Kept] = deque(maxlen=capacity)
        self._next_id = 1

    # --- recording -------------------------------------------------------------------------------

    def record(self, exchange: Exchange) -> None:
        """The observer: one entry per finished exchange."""
        if faults.abandoned():
            return
        ended = time.time()
        fault = faults.applied()
        dropped = bool(fault and fault["drop"])
        entry = {
            "id": 0,
            "time": rfc3339_micros(int(exchange.started * 1_000_000)),
            "durationMs": round(max(0.0, ended - exchange.started) * 1000, 3),
            "vendor": exchange.vendor or None,
            "operationId": exchange.operation_id,
            "method": exchange.method,
            "path": exchange.path,
            "query": {name: [v if name.lower() not in self._secret_query else mask(v) for v in values]
                      for name, values in exchange.query.items()},
            "headers": {name: mask_header(name, value) if name.lower() in self._secret_headers else value
                        for name, value in exchange.headers.items()},
            "body": _body(exchange.body),
            "credential": mask(exchange.tenant.credential) if exchange.tenant and exchange.tenant.credential
            else None,
            "status": None if dropped else exchange.status,
            "responseHeaders": {} if dropped else dict(exchange.response_headers),
            "responseBody": None if dropped else exchange.response_body,
            "rejected": _rejected(exchange, fault),
            "issues": [{"in": issue.location, "name": issue.dotted or issue.location, "keyword": issue.keyword,
                        "message": issue.message} for issue in exchange.issues],
            "warnings": list(exchange.warnings),
            "error": exchange.error,
            "fault": fault,
        }
        with self._lock:
            if self.capacity == 0:
                return
            entry["id"] = self._next_id
            self._next_id += 1
            self._entries.append(_Kept(exchange.tenant, exchange.started, entry))

    # --- reading ---------------------------------------------------------------------------------

    def entries(self, vendor: str | None = None, operation_id: str | None = None, credential: str | None = None,
                status: str | None = None, since: str | None = None, after: int | None = None,
                rejected: bool | None = None) -> list[dict]:
        """The entries matching every filter given, oldest first. `status` is `503` or `5XX`;
        `since` an RFC 3339 time; `credential` the real (unmasked) value."""
        since_time = datetime.fromisoformat(since).timestamp() if since else None
        with self._lock:
            kept = list(self._entries)
        return [item.entry for item in kept
                if (vendor is None or item.entry["vendor"] == vendor)
                and (operation_id is None or item.entry["operationId"] == operation_id)
                and (credential is None or (item.tenant is not None and item.tenant.credential == credential))
                and (status is None or _status_matches(item.entry["status"], status))
                and (since_time is None or item.started >= since_time)
                and (after is None or item.entry["id"] > after)
                and (rejected is None or (item.entry["rejected"] is not None) == rejected)]

    def __len__(self) -> int:
        return len(self._entries)

    def clear(self, vendor: str | None = None, credential: str | None = None) -> int:
        """Forget everything, one vendor's entries, or one tenant's. Returns how many went."""
        with self._lock:
            before = len(self._entries)
            if vendor is None:
                self._entries.clear()
            else:
                self._entries = deque((item for item in self._entries
                                       if not _in_scope(item, vendor, credential)), maxlen=self.capacity)
            return before - len(self._entries)


def _in_scope(item: _Kept, vendor: str, credential: str | None) -> bool:
    if item.entry["vendor"] != vendor:
        return False
    return credential is None or (item.tenant is not None and item.tenant.credential == credential)


def _status_matches(actual: int | None, wanted: str) -> bool:
    if actual is None:
        return False
    if wanted[1:].upper() == "XX":
        return actual // 100 == int(wanted[0])
    return actual == int(wanted)


def _rejected(exchange: Exchange, fault: dict | None) -> str | None:
    if exchange.operation_id is None:
        return "unmatched"
    if fault and (fault["status"] is not None or fault["drop"]):
        return None  # an error the test asked for
    if exchange.issues or exchange.status in INVALID_STATUSES:
        return "invalid"
    return None


def _body(raw: bytes) -> Any:
    """The request body as JSON when it parses, else as text; None when empty."""
    if not raw and has_request_context():
        try:  # not read by the pipeline (it stopped before the body): read it now, within the limit
            raw = request.get_data(cache=True)
        except HTTPException:
            raw = b""
    if not raw.strip():
        return None
    try:
        value = jsontext.loads(raw)  # lone surrogates repaired: kept, they would fail every read
        if raw.count(b"[") + raw.count(b"{") > 100:  # deep enough to fail when served: prove it is not
            json.dumps(value)
        return value
    except (ValueError, RecursionError):
        return raw.decode("utf-8", "replace")


__all__ = ["Journal", "mask", "secret_names"]
