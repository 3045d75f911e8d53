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
from datetime import datetime
from typing import Any

from mockserver import jsontext
from mockserver.determinism import rfc3339_micros
from mockserver.exchange import Exchange, http_errors
from mockserver.records import dataclass
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


# Per-entry and per-read limits. Bodies are kept as the bytes that came (and went), never parsed
# until read: a 900 KB body of `[{},{},...]` is 900 KB here, not the ~21 MB its parsed value takes.
PARSE_BYTES = 256 * 1024  # a body longer than this is served as text, never parsed
PAGE_BYTES = 4 * 1024 * 1024  # bodies served by one read of the journal, at most (one entry at least)
ENTRY_OVERHEAD = 3072  # bytes counted for an entry besides its bodies and texts (its dicts: ~2.4 KiB measured)
TEXT_OVERHEAD = 64  # bytes counted for each text besides its characters (a str object, its slot)
TEXT_CAP = 2000  # characters of one issue, warning or error kept
MIN_SUBSTRING_SECRET = 6  # shorter secrets are masked where they are a whole value, not inside text
DEFAULT_PAGE = 100


@dataclass
class _Kept:
    id: int
    tenant: Tenant | None
    started: float
    meta: dict  # the entry's small fields, masked (admin.yaml's JournalEntry, without the bodies)
    body: bytes  # masked, at most `field_cap`
    response: bytes  # masked, JSON text
    size: int  # bytes counted against the budget

    @property
    def body_bytes(self) -> int:
        return len(self.body) + len(self.response)


@dataclass(slots=True)
class _Raw:
    """What one entry is built from, as it was recorded: the bodies as bytes and the texts capped;
    nothing parsed is kept (not the request's value, nor an issue's, nor the answer's: parsed, a
    900 KB `[{},{},...]` takes ~21 MB). `size` counts what it holds, and is at least the size of
    the entry built from it (masking and cutting never lengthen a body, and a text by 3 at most)."""

    vendor: str
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes
    started: float
    ended: float
    operation_id: str | None
    tenant: Tenant | None
    status: int
    response: bytes  # the answer as sent (or its JSON text, for an answer given outside the pipeline)
    response_headers: dict[str, str]
    issues: list[tuple[str, str, str, str]]  # (in, name, keyword, message), capped
    warnings: list[str]  # capped
    error: str | None  # capped
    fault: dict | None
    dropped: bool  # a fault dropped the answer
    rejected: str | None
    id: int = 0
    size: int = 0

    @classmethod
    def of(cls, exchange: Exchange, ended: float) -> _Raw:
        fault = exchange.fault
        response = exchange.response_bytes
        if not response and exchange.response_body is not None:  # an error answered outside the pipeline
            response = jsontext.dumps(exchange.response_body).encode()
        raw = cls(exchange.vendor, exchange.method, exchange.path, exchange.query, exchange.headers,
                  _request_body(exchange), exchange.started, ended, exchange.operation_id, exchange.tenant,
                  exchange.status, response, exchange.response_headers,
                  [(issue.location, _cap(issue.dotted or issue.location), issue.keyword, _cap(issue.message))
                   for issue in exchange.issues[:50]],
                  [_cap(warning) for warning in exchange.warnings[:50]],
                  _cap(exchange.error) if exchange.error else None,
                  fault, bool(fault and fault["drop"]), _rejected(exchange, fault))
        raw.size = raw.measure()
        return raw

    def measure(self) -> int:
        headers, answered = self.headers, self.response_headers  # (in C where it can: once a request)
        texts = 1 + len(headers) + len(answered) + len(self.warnings) + (1 if self.error else 0)
        size = (len(self.body) + len(self.response) + ENTRY_OVERHEAD + len(self.path)
                + sum(map(len, headers)) + sum(map(len, headers.values()))
                + sum(map(len, answered)) + sum(map(len, answered.values()))
                + sum(map(len, self.warnings)) + len(self.error or ""))
        for name, values in self.query.items():
            texts += len(values)
            size += len(name) * len(values) + sum(map(len, values))
        for _, name, _, message in self.issues:
            size += TEXT_OVERHEAD + len(name) + len(message) + 6
        return size + texts * (TEXT_OVERHEAD + 3)  # each text: its object, and 3 more when masked


class Journal:
    """Newest last, at most `capacity` entries and `byte_capacity` bytes (0 keeps none). Thread-safe.

    An entry counts its request and response bodies, its other texts (headers, query, issues) and a
    fixed overhead; the oldest entries go when either bound is passed (`dropped` counts them). A body
    longer than an eighth of the budget is cut (the entry's `truncated` says so)."""

    def __init__(self, capacity: int = 1000, secrets: tuple[frozenset[str], frozenset[str]] | None = None,
                 byte_capacity: int = 64 * 1024 * 1024, secret_values: Iterable[str] = ()) -> None:
        self.capacity = capacity
        self.byte_capacity = byte_capacity
        self.field_cap = max(1024, byte_capacity // 8)
        self._secret_headers, self._secret_query = secrets or (ALWAYS_SECRET, frozenset())
        self._secret_values = frozenset(value for value in secret_values if value)  # the admin token
        self._lock = threading.Lock()
        self._entries: deque[_Kept] = deque()
        self._pending: deque[_Raw] = deque()  # what the entries not built yet are built from
        self._pending_bytes = 0  # what they hold (`_Raw.size`)
        self._bytes = 0
        self._dropped = 0
        self._next_id = 1

    # --- recording -------------------------------------------------------------------------------

    def record(self, exchange: Exchange) -> None:
        """The observer: one entry per finished exchange. Only what its entry is built from is kept
        here (`_Raw`: bytes and capped texts, never a parsed value), counted as the bytes it holds;
        the entry is built when the journal is read (`_settle`), and never for the exchanges that
        would have been dropped by then."""
        if exchange.abandoned or self.capacity == 0:
            return
        raw = _Raw.of(exchange, time.time())
        with self._lock:
            raw.id = self._next_id
            self._next_id += 1
            self._pending.append(raw)
            self._pending_bytes += raw.size
            if len(self._pending) + len(self._entries) > self.capacity:  # the oldest can no longer stay
                if self._entries:
                    self._bytes -= self._entries.popleft().size
                else:
                    self._pending_bytes -= self._pending.popleft().size
                self._dropped += 1
            if self._bytes + self._pending_bytes > self.byte_capacity:  # all it holds passes the budget
                self._settle()

    def _settle(self) -> None:
        """Build the entries of the pending exchanges (the lock held), with the result recording each
        one at once would have had: the kept entries are the newest run within both bounds, so they
        are built newest first, and the older ones dropped unbuilt once the bounds are passed."""
        if not self._pending:
            return
        pending, self._pending, self._pending_bytes = self._pending, deque(), 0
        built: list[_Kept] = []
        size = 0
        while pending:
            kept = self._build(pending.pop())
            if len(built) + 1 > self.capacity or size + kept.size > self.byte_capacity:
                self._dropped += len(pending) + 1 + len(self._entries)
                self._entries.clear()
                self._bytes = 0
                break
            built.append(kept)
            size += kept.size
        built.reverse()
        self._entries.extend(built)
        self._bytes += size
        while self._entries and (len(self._entries) > self.capacity or self._bytes > self.byte_capacity):
            self._bytes -= self._entries.popleft().size
            self._dropped += 1

    def _build(self, raw: _Raw) -> _Kept:
        hide = _Masker(self._secrets_of(raw))
        truncated = []
        body = hide.data(raw.body)
        if len(body) > self.field_cap:
            body, truncated = body[:self.field_cap], ["body"]
        response = b""
        if not raw.dropped:
            response = hide.data(raw.response)
            if len(response) > self.field_cap:
                response, truncated = response[:self.field_cap], [*truncated, "responseBody"]
        meta = {
            "time": rfc3339_micros(int(raw.started * 1_000_000)),
            "durationMs": round(max(0.0, raw.ended - raw.started) * 1000, 3),
            "vendor": raw.vendor or None,
            "operationId": raw.operation_id,
            "method": raw.method,
            "path": hide.text(raw.path),
            "query": {name: [mask(v) if name.lower() in self._secret_query else hide.text(v) for v in values]
                      for name, values in raw.query.items()},
            "headers": {name: mask_header(name, value) if name.lower() in self._secret_headers
                        else hide.text(value) for name, value in raw.headers.items()},
            "credential": mask(raw.tenant.credential) if raw.tenant and raw.tenant.credential else None,
            "status": None if raw.dropped else raw.status,
            "responseHeaders": {} if raw.dropped else {name: hide.text(value)
                                                       for name, value in raw.response_headers.items()},
            "rejected": raw.rejected,
            "issues": [{"in": where, "name": hide.text(name), "keyword": keyword, "message": hide.text(message)}
                       for where, name, keyword, message in raw.issues],
            "warnings": [hide.text(warning) for warning in raw.warnings],
            "error": hide.text(raw.error) if raw.error else None,
            "fault": raw.fault,
            "truncated": truncated,
        }
        size = len(body) + len(response) + ENTRY_OVERHEAD + _text_size(meta)
        return _Kept(raw.id, raw.tenant, raw.started, meta, body, response, size)

    def _secrets_of(self, exchange: _Raw) -> set[str]:
        """Every credential the request carried (whatever header or parameter it was read from), the
        tenant's, and the admin token: masked wherever they appear, by value."""
        found = set(self._secret_values)
        for name, value in exchange.headers.items():
            if name.lower() in self._secret_headers:
                found.add(value.strip())
                scheme, space, token = value.strip().partition(" ")
                if space:
                    found.add(token.strip())
                if name.lower() == "cookie":
                    found.update(part.partition("=")[2].strip() for part in value.split(";"))
        for name, values in exchange.query.items():
            if name.lower() in self._secret_query:
                found.update(values)
        if exchange.tenant is not None and exchange.tenant.credential:
            found.add(exchange.tenant.credential)
        return {secret for secret in found if secret}

    # --- reading ---------------------------------------------------------------------------------

    def page(self, vendor: str | None = None, operation_id: str | None = None, credential: str | None = None,
             status: str | None = None, since: str | None = None, after: int | None = None,
             rejected: bool | None = None, limit: int | None = None) -> dict:
        """Matching entries, oldest first: with `after`, the first `limit` after that id (`next` then
        says where to go on, or is None at the newest); without it, the newest `limit`. A page also
        stops at `PAGE_BYTES` of bodies. `total` counts every match; `status` is `503` or `5XX`;
        `since` an RFC 3339 time; `credential` the real (unmasked) value."""
        limit = limit or DEFAULT_PAGE
        since_time = _timestamp(since) if since else None
        with self._lock:
            self._settle()
            kept = list(self._entries)
            stats = {"capacity": self.capacity, "bytes": self._bytes, "byteCapacity": self.byte_capacity,
                     "dropped": self._dropped}
        matching = [item for item in kept
                    if (vendor is None or item.meta["vendor"] == vendor)
                    and (operation_id is None or item.meta["operationId"] == operation_id)
                    and (credential is None or (item.tenant is not None and item.tenant.credential == credential))
                    and (status is None or _status_matches(item.meta["status"], status))
                    and (since_time is None or item.started >= since_time)
                    and (after is None or item.id > after)
                    and (rejected is None or (item.meta["rejected"] is not None) == rejected)]
        chosen: list[_Kept] = []
        budget = PAGE_BYTES
        run = matching if after is not None else reversed(matching)
        for item in run:
            if len(chosen) == limit or (chosen and item.body_bytes > budget):
                break
            chosen.append(item)
            budget -= item.body_bytes
        if after is None:
            chosen.reverse()
        more = after is not None and len(chosen) < len(matching)
        return {"requests": [_entry(item) for item in chosen], "total": len(matching),
                "next": chosen[-1].id if more and chosen else None, **stats}

    def entries(self, **filters: Any) -> list[dict]:
        """Every matching entry, oldest first (page after page)."""
        found, after = [], 0
        while True:
            page = self.page(**{**filters, "after": max(after, filters.get("after") or 0)}, limit=1000)
            found.extend(page["requests"])
            if page["next"] is None:
                return found
            after = page["next"]

    def __len__(self) -> int:
        with self._lock:
            self._settle()
            return len(self._entries)

    @property
    def bytes(self) -> int:
        """What the kept entries count against `byte_capacity`."""
        with self._lock:
            self._settle()
            return self._bytes

    def clear(self, vendor: str | None = None, credential: str | None = None) -> int:
        """Forget everything, one vendor's entries, or one tenant's. Returns how many went."""
        with self._lock:
            went = 0
            if self._pending and self._keeps_all_pending():  # no entry need be built to know what goes
                kept = deque(raw for raw in self._pending
                             if vendor is not None and not _raw_in_scope(raw, vendor, credential))
                went = len(self._pending) - len(kept)
                self._pending, self._pending_bytes = kept, sum(raw.size for raw in kept)
            else:
                self._settle()
            before = len(self._entries)
            if vendor is None:
                self._entries.clear()
                self._dropped = 0
            else:
                self._entries = deque(item for item in self._entries if not _in_scope(item, vendor, credential))
            self._bytes = sum(item.size for item in self._entries)
            return went + before - len(self._entries)

    def _keeps_all_pending(self) -> bool:
        """Whether building the pending entries would keep every one of them (the lock held): their
        sizes' upper bounds (`_Raw.size`) fit the byte budget beside the kept entries (the count
        always fits)."""
        return self._bytes + self._pending_bytes <= self.byte_capacity


class _Masker:
    """Replaces each secret by its masked form: whole values always, inside text when long enough."""

    def __init__(self, secrets: set[str]) -> None:
        self.secrets = secrets
        self.inside = sorted((s for s in secrets if len(s) >= MIN_SUBSTRING_SECRET), key=len, reverse=True)

    def text(self, value: str) -> str:
        if value in self.secrets:
            return mask(value)
        for secret in self.inside:
            if secret in value:
                value = value.replace(secret, mask(secret))
        return value

    def data(self, raw: bytes) -> bytes:
        for secret in self.inside:
            encoded = secret.encode("utf-8", "replace")
            if encoded in raw:
                raw = raw.replace(encoded, mask(secret).encode())
        return raw


def mask_within(value: Any, secrets: Iterable[str]) -> Any:
    """A text with each of these secrets masked (as the journal masks them); anything else as is."""
    return _Masker({secret for secret in secrets if secret}).text(value) if isinstance(value, str) else value


def _entry(item: _Kept) -> dict:
    """The entry as the control API serves it; bodies parsed now, and only when small enough."""
    truncated = list(item.meta["truncated"])
    body, cut = _shown(item.body, "body" in truncated)
    if cut and "body" not in truncated:
        truncated.append("body")
    response, cut = _shown(item.response, "responseBody" in truncated)
    if cut and "responseBody" not in truncated:
        truncated.append("responseBody")
    meta = item.meta
    return {"id": item.id, "time": meta["time"], "durationMs": meta["durationMs"], "vendor": meta["vendor"],
            "operationId": meta["operationId"], "method": meta["method"], "path": meta["path"],
            "query": meta["query"], "headers": meta["headers"], "body": body, "credential": meta["credential"],
            "status": meta["status"], "responseHeaders": meta["responseHeaders"], "responseBody": response,
            "rejected": meta["rejected"], "issues": meta["issues"], "warnings": meta["warnings"],
            "error": meta["error"], "fault": meta["fault"], "truncated": truncated}


def _shown(raw: bytes, cut: bool) -> tuple[Any, bool]:
    """(JSON when it parses, else text; None when empty, whether it is given as text for its size)."""
    if not raw.strip():
        return None, False
    if cut or len(raw) > PARSE_BYTES:
        return raw[:PARSE_BYTES].decode("utf-8", "ignore"), True
    try:
        value = jsontext.loads(raw)  # lone surrogates repaired: kept, they would fail every read
        if raw.count(b"[") + raw.count(b"{") > 100:  # deep enough to fail when served: prove it is not
            json.dumps(value)
        return value, False
    except (ValueError, RecursionError):
        return raw.decode("utf-8", "replace"), False


def _request_body(exchange: Exchange) -> bytes:
    raw = exchange.body
    current = exchange.request
    if not raw and current is not None:
        try:  # not read by the pipeline (it stopped before the body): read it now, within the limit
            raw = current.get_data(cache=True)
        except http_errors():
            raw = b""
    return raw


def _raw_in_scope(raw: _Raw, vendor: str, credential: str | None) -> bool:
    """`_in_scope` of the entry this record becomes."""
    if (raw.vendor or None) != vendor:
        return False
    return credential is None or (raw.tenant is not None and raw.tenant.credential == credential)


def _cap(text: str) -> str:
    return text if len(text) <= TEXT_CAP else text[:TEXT_CAP] + f"… ({len(text) - TEXT_CAP} more characters)"


def _text_size(meta: dict) -> int:
    """What the entry's texts take: their characters, and each one's object (`TEXT_OVERHEAD`)."""
    size = TEXT_OVERHEAD + len(meta["path"])
    for name, values in meta["query"].items():
        size += sum(TEXT_OVERHEAD + len(name) + len(value) for value in values)
    for headers in (meta["headers"], meta["responseHeaders"]):
        size += sum(TEXT_OVERHEAD + len(name) + len(value) for name, value in headers.items())
    size += sum(TEXT_OVERHEAD + len(issue["name"]) + len(issue["message"]) for issue in meta["issues"])
    size += sum(TEXT_OVERHEAD + len(warning) for warning in meta["warnings"])
    return size + (TEXT_OVERHEAD + len(meta["error"]) if meta["error"] else 0)


def _timestamp(since: str) -> float:
    try:
        return datetime.fromisoformat(since.replace("Z", "+00:00").replace("z", "+00:00")).timestamp()
    except ValueError:
        raise ValueError(f"since: {since!r} is not an RFC 3339 time") from None


def _in_scope(item: _Kept, vendor: str, credential: str | None) -> bool:
    if item.meta["vendor"] != vendor:
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


__all__ = ["Journal", "mask", "mask_within", "secret_names"]
