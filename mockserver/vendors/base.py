"""What a vendor module provides, and what its handlers receive.

A `Vendor` is a spec file, one handler per operationId, how it accepts a credential and how it
renders an error. A vendor module defines `VENDOR = engine.build_vendor(spec, Overrides(...))`: the
engine's handlers with only what the spec cannot say (`Codec`, its steps around them, its error
renderer). It never touches Flask routing or jsonschema.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import field
from datetime import UTC, datetime, timedelta
from typing import Any

from mockserver.determinism import Determinism
from mockserver.ecma import compile_pattern
from mockserver.errors import MockError
from mockserver.records import dataclass
from mockserver.spec import Operation
from mockserver.store import Record, Store, Tenant
from mockserver.store.base import Unique


@dataclass
class Reply:
    status: int
    body: Any = None  # None: no body (204)
    headers: dict[str, str] = field(default_factory=dict)
    # The document allows no valid answer here (a schema no value meets): sent as made, with a
    # journal warning, instead of a 500 (the fault is the document's, not the client's).
    best_effort: bool = False


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
    headers: Mapping[str, str] = field(default_factory=dict)  # the request's, for preferences such as `Prefer`
    # The request's URL without its query (where links to other pages of a list point), computed when
    # asked: werkzeug's `base_url` costs ~50 µs, and few answers hold links.
    url_of: Callable[[], str] = str

    @property
    def url(self) -> str:
        return self.url_of()

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


CREDENTIAL_PATTERN = "x-mock-credential-pattern"  # on a security scheme: the form its credentials have


def accept_declared(scheme_name: str, scheme: dict, value: str) -> bool:
    """Any credential presented, or where the scheme declares `x-mock-credential-pattern`, one it matches."""
    pattern = scheme.get(CREDENTIAL_PATTERN)
    if pattern is None or not value:
        return bool(value)
    return compile_pattern(pattern).search(value) is not None


@dataclass(frozen=True)
class Scope:
    """A collection kept per parent (`/owners/{ownerId}/pets`): its state is a list of groups,
    `{"parent": {"ownerId": 1}, "items": [...]}`, each group one collection of the store."""

    params: tuple[str, ...]  # the path parameters that name the parent, outermost first
    schema: dict  # what a group's `parent` must be: each parameter, typed as a request path has it
    store_name: Callable[[dict], str]  # the store collection of a (valid) parent
    parent_of: Callable[[str], dict | None]  # the parent of a store collection; None: not one of this one
    # The item a parent is, when the parent is an item of a collection: (that collection's name, its
    # store collection, the item's id), which an import must hold too, as a create would need it.
    owner: Callable[[dict], tuple[str, str, str] | None] = lambda parent: None


@dataclass(frozen=True)
class StateFormat:
    """How a vendor's stored records map to the API objects that state export/import speak
    (`GET/PUT /__mock/state`, `--fixtures`); the generic machinery is in `mockserver.state`.

    An imported object must satisfy the `read` operation's 200 schema and carry the fields the
    `create` operation's body requires. `export(record, call)` renders a record as the API does;
    `restore(obj, call, seq)` turns a valid object into (record, unique keys): the values given,
    the rest filled in as a create would, and whatever the mock derives recomputed.
    `sequence_of(objs, call, sequence)` (optional) recognizes the sequence number each exported
    object was made with (from an id derived from it), so that export -> import is the identity.
    """

    collection: str
    create: str | None  # None: no operation creates (then `schema` says what an object is)
    read: str
    export: Callable[[Record, Call], dict]
    restore: Callable[[dict, Call, int], tuple[Record, Unique]]
    sequence_of: Callable[[list[dict], Call, int], list[int | None]] | None = None
    schema: dict | None = None  # what an imported object must be; None: from `read` and `create`
    scope: Scope | None = None  # None: one collection per tenant; else grouped by parent


RECOGNIZE_LIMIT = 100_000  # sequence numbers tried at most (each is a hash): bounded, whatever a document says


def recognize(values: list[str | None], derive: Callable[[int], str], sequence: int) -> list[int | None]:
    """For each value, the sequence number (1..sequence) that `derive` makes it from, if any."""
    wanted = {value for value in values if value is not None}
    found: dict[str, int] = {}
    for seq in range(1, min(sequence, RECOGNIZE_LIMIT) + 1):
        if len(found) == len(wanted):
            break
        value = derive(seq)
        if value in wanted:
            found[value] = seq
    return [None if value is None else found.get(value) for value in values]


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def micros(timestamp: str) -> int:
    """Microseconds since the epoch of an RFC 3339 time (what the vendors' formats print)."""
    return (datetime.fromisoformat(timestamp) - _EPOCH) // timedelta(microseconds=1)


@dataclass(frozen=True)
class Codec:
    """How an API keeps one collection's items its own way: a small flat record per item (what cannot
    be derived), rendered into the API object for each answer. The engine does the rest (keys, unique
    rules, normalisation, defaults, lookups, statuses, paging, state export/import); a codec's
    object is the answer as it is (no generated values, no fitting: the pipeline still checks it).

    `record(call, obj, key, seq)`: a create's body (defaults applied, normalised), or an imported API
    object, as the record stored (`id`: the key as text, `seq`: the sequence number, then the rest);
    what the object leaves out is what a new item has.
    `show(call, record, kind)`: the API object, for the operation `kind` (an inferred role, or
    "export"). `change(call, old, body, seq)`: the record after a replace or merge with `body`.
    `sequence_of(objs, call, sequence)`: as `StateFormat.sequence_of`, when the key does not say."""

    item: str  # what one item is called: the namespace its ids are made in, the entity a 404 names
    record: Callable[[Call, dict, Any, int], Record]
    show: Callable[[Call, Record, str], Any]
    change: Callable[[Call, Record, dict, int], Record] | None = None  # None: items never change
    sequence_of: Callable[[list[dict], Call, int], list[int | None]] | None = None


@dataclass(frozen=True)
class Cursors:
    """How an API writes a list's cursors. A cursor points after (`next`) or before (`prev`) an item's
    sequence number, so a page stays where it was while others create. `read(text)` gives back
    (direction, seq), or None for a cursor the API never gave (the list then starts at the
    beginning); it may raise the API's own error instead."""

    write: Callable[[str, int], str]
    read: Callable[[Any], tuple[str, int] | None]


# A vendor's own step around the engine's handler of an operation: `handler(call, engine)` adds what
# no spec can say (an update mask, a lookup by name), then hands over to `engine(call)`, or answers.
Around = Callable[[Call, Handler], Reply]


@dataclass(frozen=True)
class Overrides:
    """What a vendor module adds to the engine (`engine.build_vendor(spec, overrides)`): only what
    its YAML cannot say."""

    codecs: Mapping[str, Codec] = field(default_factory=dict)  # collection name -> how it is stored
    handlers: Mapping[str, Around] = field(default_factory=dict)  # operationId -> the vendor's step
    cursors: Mapping[str, Cursors] = field(default_factory=dict)  # collection name -> its list's cursors
    render_error: Callable[[MockError, ErrorContext], Reply] | None = None  # None: the document's shapes
    accept_credential: Callable[[str, dict, str], bool] = accept_declared
    undocumented_errors: bool = True  # see `Vendor`; False for a document that documents each error


@dataclass(frozen=True)
class Vendor:
    name: str
    spec_file: str  # in the openapi folder
    handlers: Mapping[str, Handler]
    render_error: Callable[[MockError, ErrorContext], Reply]
    accept_credential: Callable[[str, dict, str], bool] = accept_declared
    state: StateFormat | None = None  # None: no state export/import for this vendor
    collections: tuple[StateFormat, ...] = ()  # more collections with state, after `state`
    # Whether an error status the operation does not document is still answered (a spec mounted
    # with no code rarely documents every 401 or 404); the vendors' own specs document each one.
    undocumented_errors: bool = False
    # Steps of the request path an API may do its own way (the control API does): a first check of
    # the request (an error to answer, or None), who the caller is, and the body (read and validated).
    screen: Callable[[], MockError | None] | None = None
    authenticate: Callable[[Operation], Tenant] | None = None
    read_body: Callable[[Operation], Any] | None = None
    # Which version of the vendor's API this is (`mockserver.vendors.profiles`): None for a document
    # mounted with `--spec`, which has no versions.
    profile: str | None = None
    # Operations that find an item by what the request names (role `find`): where several share a URL
    # and the request cannot tell them apart (Box's `GET /shared_items#folders`), the one holding it answers.
    finds: frozenset[str] = frozenset()

    @property
    def formats(self) -> tuple[StateFormat, ...]:
        """Every collection whose state export/import speaks, by its name in a tenant's state."""
        return ((self.state,) if self.state is not None else ()) + self.collections
