"""Any OpenAPI document as a stateful mock with no code: handlers made from what `inference` reads
in the spec, values made by `generate`, errors in the shapes the document declares.

A stored item is `{"id": <key as text>, "seq": n, "object": <the item as the API shows it>}`; the
object is the request body merged over generated values, so every field the schema wants is there.
A vendor may keep a collection in its own format instead (`Overrides.codecs`): small flat records
rendered per answer, with no generated values (the vendors' hot path stays as lean as their code was).
Every generated value is a pure function of (seed, API, tenant, collection, sequence, JSON pointer).
"""

from __future__ import annotations

import base64
import binascii
import bisect
import functools
import json
import re
from collections.abc import Callable
from typing import Any

from mockserver.answers import documented_headers, fit, generated, render_error, success, without_write_only
from mockserver.determinism import iso_millis, rfc3339_micros, rfc3339_nano
from mockserver.errors import (
    MISSING,
    BadRequest,
    Conflict,
    EntityNotFound,
)
from mockserver.inference import Collection, InferenceError, Role, defaults, infer, properties_of, without_required
from mockserver.spec import Operation, ResponseSpec, Spec, compile_schema, narrowed
from mockserver.store import Record
from mockserver.vendors.base import Call, Codec, Cursors, Overrides, Reply, Scope, StateFormat, Vendor, recognize

KEY_INDEX = "key"
MAX_KEY_TRIES = 64  # generated keys taken by client-chosen ones: try the next sequence numbers


def build_vendor(spec: Spec, overrides: Overrides | None = None) -> Vendor:
    """A vendor made from the spec: one handler per operation, from its inferred role. `overrides`
    add what the spec cannot say: collections kept in a vendor's own record format, a vendor's steps
    around the engine's handlers, its error renderer and credential check."""
    overrides = overrides or Overrides()
    roles = infer(spec)
    _check_overrides(spec, roles, overrides)
    parents = {role.collection.item_path: role.collection for role in roles.values()
               if role.collection is not None and role.collection.item_path}
    hidden: dict[str, set[str]] = {}  # per collection: what a request may write and no answer shows
    for op_id, role in roles.items():
        body = spec.operations[op_id].body_schema
        if role.collection is not None and isinstance(body, dict):
            hidden.setdefault(role.collection.name, set()).update(
                name for name, prop in properties_of(body).items() if isinstance(prop, dict) and prop.get("writeOnly"))
    handlers = {}
    for op_id, role in roles.items():
        name = role.collection.name if role.collection else ""
        codec, cursors = overrides.codecs.get(name), overrides.cursors.get(name, ENGINE_CURSORS)
        handlers[op_id] = _coded_handler(spec.operations[op_id], role, parents, codec, cursors) if codec else \
            _handler(spec.operations[op_id], role, parents, frozenset(hidden.get(name, ())), cursors)
    for op_id, around in overrides.handlers.items():
        handlers[op_id] = _around(around, handlers[op_id])
    formats = tuple(_state_format(spec, roles, collection, frozenset(hidden.get(collection.name, ())), parents,
                                  overrides.codecs.get(collection.name))
                    for collection in _collections(roles))
    return Vendor(name=spec.vendor, spec_file=str(spec.source), handlers=handlers,
                  render_error=overrides.render_error or render_error, accept_credential=overrides.accept_credential,
                  collections=tuple(form for form in formats if form is not None),
                  undocumented_errors=overrides.undocumented_errors)


def _around(around: Callable[[Call, Callable[[Call], Reply]], Reply],
            engine: Callable[[Call], Reply]) -> Callable[[Call], Reply]:
    return lambda call: around(call, engine)


def _check_overrides(spec: Spec, roles: dict[str, Role], overrides: Overrides) -> None:
    """Overrides name what the spec has: a typo would silently leave the engine's behaviour."""
    names = {collection.name for collection in _collections(roles)}
    unknown = [f"collection {name!r}" for name in {*overrides.codecs, *overrides.cursors} if name not in names] + \
        [f"operation {op_id!r}" for op_id in overrides.handlers if op_id not in roles]
    if unknown:
        raise InferenceError(f"{spec.source}: overrides name no {', no '.join(unknown)} of the document")


def _collections(roles: dict[str, Role]) -> list[Collection]:
    return list({role.collection.name: role.collection for role in roles.values() if role.collection}.values())


def _state_format(spec: Spec, roles: dict[str, Role], collection: Collection, hidden: frozenset[str],
                  parents: dict[str, Collection], codec: Codec | None = None) -> StateFormat | None:
    """State export/import of a collection: its objects as the API shows them (a nested collection's
    grouped by parent); an imported object needs what create requires, the rest is generated as a
    create would (or, for a collection with a codec, is what the codec gives a new item)."""
    ops = {role.kind: op_id for op_id, role in roles.items() if role.collection == collection and not role.by_body}
    read = ops.get("read") or ops.get("list")
    if read is None:
        return None
    create = ops.get("create")
    create_body = (spec.operations[create].body_schema or {}) if create else {}
    required = list(create_body.get("required", []))
    schema = {**without_required(collection.schema), "required": required}
    create_defaults = defaults(create_body)  # filled in as a create would

    def export(record: Record, call: Call) -> dict:
        return codec.show(call, record, "export") if codec else _hide(record["object"], hidden)

    def restore(obj: dict, call: Call, seq: int) -> tuple[Record, dict]:
        given = obj.get(collection.key_property, MISSING) if collection.key_property else MISSING
        key = given if given is not MISSING else _new_key(call, collection, seq, codec)
        obj = normalized(collection, {**create_defaults, **obj})
        if codec:
            return codec.record(call, obj, key, seq), unique_keys(collection, obj)
        value = _fresh(call, collection, seq, obj)
        if collection.key_property:
            value[collection.key_property] = key
        return {"id": store_id(key), "seq": seq, "object": value}, _unique(collection, key, value)

    def sequence_of(objs: list[dict], call: Call, sequence: int) -> list[int | None]:
        """The sequence number a generated key was made from, so export -> import keeps it."""
        keys = [obj.get(collection.key_property) if collection.key_property else None for obj in objs]
        if _derived_key(collection) == "sequence":
            return [key if isinstance(key, int) and not isinstance(key, bool) else None for key in keys]
        if _derived_key(collection) is None:
            return [None] * len(objs)
        return recognize([key if isinstance(key, str) else None for key in keys],
                         lambda seq: _new_key(call, collection, seq, codec), sequence)

    scope = _scope(spec, read, collection, parents) if collection.scope else None
    return StateFormat(collection.name, create, read, export, restore,
                       codec.sequence_of if codec and codec.sequence_of else sequence_of, schema=schema, scope=scope)


def _scope(spec: Spec, read: str, collection: Collection, parents: dict[str, Collection]) -> Scope:
    """How the state of a nested collection names each group's parent: by its path parameters, each
    typed as a request's path has it, so that a group is the store collection a request would use."""
    declared = {param.name: param.schema for param in spec.operations[read].parameters if param.location == "path"}
    typed = {name: _as_path_value(declared.get(name, {})) for name in collection.scope}
    prefix = f"{collection.name}@"
    parent = parents.get(collection.path.rsplit("/", 1)[0])

    def values(given: dict) -> dict:
        # a `number` parameter is read from the path as a float: `1` stores as `1.0`, as a request does
        return {name: float(value) if typed[name].get("type") == "number" and type(value) is int else value
                for name, value in given.items()}

    def parent_of(name: str) -> dict | None:
        if not name.startswith(prefix):
            return None
        try:
            found = json.loads(name[len(prefix):])
        except ValueError:
            return None
        if not isinstance(found, list) or len(found) != len(collection.scope):
            return None
        return dict(zip(collection.scope, found, strict=True))

    def owner(given: dict) -> tuple[str, str, str] | None:
        if parent is None or parent.key_param not in given:
            return None
        path = values(given)
        return parent.name, _store_name(parent, path), store_id(path[parent.key_param])

    schema = {"type": "object", "additionalProperties": False, "required": list(collection.scope), "properties": typed}
    return Scope(collection.scope, schema, lambda given: _store_name(collection, values(given)), parent_of, owner)


def _as_path_value(schema: dict) -> dict:
    """A path parameter's schema for the value a request reads: integers, numbers and booleans are
    converted from the path's text, anything else stays that text."""
    if schema.get("type") in ("integer", "number", "boolean", "string"):
        return schema
    return {"allOf": [schema, {"type": "string"}]} if schema else {"type": "string"}


def _derived_key(collection: Collection) -> str | None:
    """How new keys of the collection are made from the sequence number, when it can be undone."""
    schema = collection.key_schema
    kind = schema.get("type")
    if kind == "integer" or (isinstance(kind, list) and "integer" in kind):
        return "sequence"
    if schema.get("format") == "uuid":
        return "uuid"
    if _plain_string(schema):
        return "base62"
    return None


def _plain_string(schema: dict) -> bool:
    """Whether 21-character base62 ids are keys of the schema: a string with no constraint they
    break (a `pattern` is tried on a few of them)."""
    if schema.get("type") not in (None, "string") or {"enum", "const", "format"} & set(schema) \
            or schema.get("maxLength", 21) < 21 or schema.get("minLength", 0) > 21:
        return False
    return "pattern" not in schema or all(compile_schema(schema, "a key").is_valid(one) for one in _BASE62_SAMPLES)


_BASE62_SAMPLES = ("0" * 21, "9" * 21, "a" * 21, "z" * 21, "A" * 21, "Z" * 21)


# --- keys, seeds and stored objects ------------------------------------------------------------------

def _seed(call: Call, collection: str, seq: int) -> str:
    tenant = call.tenant
    return f"{call.determinism.seed}|{tenant.vendor}|{tenant.credential}|{collection}|{seq}"


def store_id(key: Any) -> str:
    """A key as the store's text id: strings as they are, other JSON values as JSON."""
    return key if isinstance(key, str) else json.dumps(key, separators=(",", ":"))


def _store_name(collection: Collection, path: dict[str, Any]) -> str:
    """Scoped collections keep one store collection per parent (`pets@["owner-1"]`), named from the
    request's path parameters."""
    if not collection.scope:
        return collection.name
    parents = [path.get(name) for name in collection.scope]
    return f"{collection.name}@{json.dumps(parents, separators=(',', ':'))}"


def _check_parent(call: Call, collection: Collection, parents: dict[str, Collection]) -> None:
    """An item under `/owners/{ownerId}` needs that owner, when owners are a collection too."""
    parent = parents.get(collection.path.rsplit("/", 1)[0]) if collection.scope else None
    if parent is None or parent.key_param not in call.path:
        return
    if call.store.get(call.tenant, _store_name(parent, call.path), store_id(call.path[parent.key_param])) is None:
        raise EntityNotFound(parent.name, str(call.path[parent.key_param]))


def _new_key(call: Call, collection: Collection, seq: int, codec: Codec | None = None) -> Any:
    return _key_maker(collection, codec)(call, seq)


def _key_maker(collection: Collection, codec: Codec | None = None) -> Callable[[Call, int], Any]:
    """How keys are made from the key's schema: the sequence number for integers, a uuid, a
    21-character id, else a generated value (unique by the seed; a clash takes the next number).
    Ids are made in the collection's namespace, or the codec's."""
    derived = _derived_key(collection)
    namespace = codec.item if codec else collection.name
    if derived == "sequence":
        return lambda call, seq: seq
    if derived == "uuid":
        return lambda call, seq: call.uuid4(namespace, seq)
    if derived == "base62":
        return lambda call, seq: call.base62_id(namespace, seq)

    def generate_key(call: Call, seq: int) -> Any:
        key = generated(collection.key_schema, _seed(call, collection.name, seq), "/key")
        return key if key is not MISSING else call.base62_id(namespace, seq)

    return generate_key


def _merge(base: Any, over: Any) -> Any:
    """`over` on top of `base`, object by object (arrays and scalars are replaced)."""
    if isinstance(base, dict) and isinstance(over, dict):
        merged = dict(base)
        for name, value in over.items():
            merged[name] = _merge(base.get(name), value) if isinstance(value, dict) else value
        return merged
    return over


def _fresh(call: Call, collection: Collection, seq: int, body: Any) -> dict:
    """A new item: generated values for the schema, the body over them, times from the clock."""
    made = generated(narrowed(collection.schema, body), _seed(call, collection.name, seq), "", {})
    if not isinstance(made, dict):
        made = {}
    now = call.now(seq)
    for name, prop in properties_of(collection.schema).items():
        if name in made and isinstance(prop, dict) and prop.get("format") == "date-time":
            text = clock_text(prop, now)
            if text is not None:
                made[name] = text
    return _merge(made, body if isinstance(body, dict) else {})


# The ways APIs print a time, in the order tried: the first the property's schema accepts (a `pattern`
# may ask for milliseconds, as JavaScript prints them, or Go's trimmed fraction) is the one used.
_TIME_FORMATS = (rfc3339_micros, iso_millis, rfc3339_nano)


def clock_text(schema: dict, micros: int) -> str | None:
    """The tenant's clock as the property's schema wants it printed, or None when no format fits."""
    if "pattern" not in schema:
        return rfc3339_micros(micros)
    validator = compile_schema(schema, "a time property")
    return next((text for text in (form(micros) for form in _TIME_FORMATS) if validator.is_valid(text)), None)


def _hide(body: Any, hidden: frozenset[str]) -> Any:
    """Write-only fields out of an item, or out of each item of a list (bare or in an envelope)."""
    if isinstance(body, list):
        return [_hide(item, hidden) for item in body]
    if isinstance(body, dict):
        if hidden & body.keys():
            return {name: value for name, value in body.items() if name not in hidden}
        return {name: _hide(value, hidden) if isinstance(value, list) else value for name, value in body.items()}
    return body


def _reply(call: Call, value: Any, seed: str, status: int | None = None) -> Reply:
    code, documented = success(call.operation)
    code = status or code
    body = fit(value, documented, seed) if code != 204 else None
    unmet = body is not value and body is not None and not documented.validator.is_valid(body)
    return Reply(code, body, documented_headers(documented, seed), best_effort=unmet)


# --- handlers ----------------------------------------------------------------------------------------

def _handler(operation: Operation, role: Role, parents: dict[str, Collection], hidden: frozenset[str],
             cursors: Cursors) -> Callable[[Call], Reply]:
    collection = role.collection
    if collection is None or role.kind == "other":
        return _other
    kinds = {"create": _create, "list": functools.partial(_list, cursors=cursors), "read": _read,
             "replace": _replace, "merge": _merge_item, "delete": _delete}

    def handler(call: Call) -> Reply:
        _check_parent(call, collection, parents)
        reply = kinds[role.kind](call, role, collection)
        if hidden and reply.body is not None:
            reply.body = _hide(reply.body, hidden)
        return reply

    return handler


def _key_from_path(call: Call, collection: Collection) -> Any:
    return call.path[collection.key_param]


def _existing(call: Call, collection: Collection, key: Any, entity: str | None = None) -> Record:
    """The item with the key; a 404 naming the entity (default: the collection) when there is none."""
    record = call.store.get(call.tenant, _store_name(collection, call.path), store_id(key))
    if record is None:
        raise EntityNotFound(entity or collection.name, str(key))
    return record


def _with_defaults(call: Call, body: dict) -> dict:
    """The request body with the defaults its schema declares for what it leaves out."""
    schema = call.operation.body_schema
    return {**defaults(schema), **body} if isinstance(schema, dict) else body


_NORMALIZE = {"lowercase": str.lower, "uppercase": str.upper, "trim": str.strip}


def normalized(collection: Collection, value: dict) -> dict:
    """`x-mock-normalize`: the values as the API stores them (`name` lowercased, ...)."""
    if not collection.normalize:
        return value
    value = dict(value)
    for name, how in collection.normalize:
        if isinstance(value.get(name), str):
            value[name] = _NORMALIZE[how](value[name])
    return value


def unique_keys(collection: Collection, value: dict) -> dict[str, str | None]:
    """The store's keys of an item's `x-mock-unique` rules: a property's text value as it is, a
    combination as a JSON list; None (not indexed) where a value is missing."""
    keys: dict[str, str | None] = {}
    for index, names in collection.unique:
        values = [value.get(name) for name in names]
        if None in values:
            keys[index] = None
        elif len(values) == 1:
            keys[index] = store_id(values[0])
        else:
            keys[index] = json.dumps(values)
    return keys


def _unique(collection: Collection, key: Any, value: dict) -> dict[str, str | None]:
    """The store's unique keys of an item: its key, and each `x-mock-unique` rule."""
    return {KEY_INDEX: store_id(key), **unique_keys(collection, value)}


def _clash(collection: Collection, error: Conflict, value: dict) -> Conflict:
    """A conflict naming the properties and the values taken."""
    if error.index == KEY_INDEX:
        return Conflict(collection.key_property or KEY_INDEX, store_id(value.get(collection.key_property)))
    names = dict(collection.unique).get(error.index, (error.index,))
    if len(names) == 1:
        return Conflict(names[0], value.get(names[0]))
    shown = ", ".join(f"{name} {value.get(name)!r}" for name in names)
    return Conflict(error.index, [value.get(name) for name in names], f"{collection.name}: {shown} already exists")


def _create(call: Call, role: Role, collection: Collection) -> Reply:
    body = normalized(collection, _with_defaults(call, call.body if isinstance(call.body, dict) else {}))
    name = _store_name(collection, call.path)
    given = body.get(collection.key_property, MISSING) if collection.key_property else MISSING
    record = None
    for attempt in range(MAX_KEY_TRIES):
        guess = call.store.sequence(call.tenant) + 1 + attempt
        key = given if given is not MISSING else _new_key(call, collection, guess)
        value = _fresh(call, collection, guess, body)  # under concurrent writes the guess may be off: fine
        if collection.key_property:
            value[collection.key_property] = key

        def build(seq: int, key: Any = key, value: dict = value) -> Record:
            return {"id": store_id(key), "seq": seq, "object": value}

        try:
            record = call.store.insert(call.tenant, name, build, _unique(collection, key, value))
            break
        except Conflict as error:
            if given is not MISSING or error.index != KEY_INDEX:
                raise _clash(collection, error, value) from None
    if record is None:
        raise Conflict(collection.key_property or KEY_INDEX, "(generated)")
    return _reply(call, record["object"], _seed(call, collection.name, record["seq"]))


def _read(call: Call, role: Role, collection: Collection) -> Reply:
    record = _existing(call, collection, _key_from_path(call, collection))
    return _reply(call, record["object"], _seed(call, collection.name, record["seq"]))


def _replace(call: Call, role: Role, collection: Collection) -> Reply:
    return _change(call, role, collection, merge=False)


def _merge_item(call: Call, role: Role, collection: Collection) -> Reply:
    return _change(call, role, collection, merge=True)


def _change(call: Call, role: Role, collection: Collection, merge: bool) -> Reply:
    body = call.body if isinstance(call.body, dict) else {}
    if role.by_body:
        key = body.get(collection.key_property, MISSING)
        if key is MISSING:  # valid by the schema (the key is optional there), but names no item
            raise EntityNotFound(collection.name, f"(no {collection.key_property})")
    else:
        key = _key_from_path(call, collection)
    # Query parameters named like properties change them too (`POST /pets/{id}?status=sold`).
    props = properties_of(collection.schema)
    fields = {name: value for name, value in call.query.items() if name in props}
    current = _existing(call, collection, key)
    if merge:
        value = _merge(current["object"], normalized(collection, {**body, **fields}))
    else:
        value = _merge(_fresh(call, collection, current["seq"], body),  # body: of the subtype it names
                       normalized(collection, {**_with_defaults(call, body), **fields}))
    if collection.key_property:
        value[collection.key_property] = key

    stamps = {name: prop for name, prop in props.items() if _UPDATED.match(name) and isinstance(prop, dict)
              and prop.get("format") == "date-time" and name not in body}

    def change(old: Record, seq: int) -> Record:
        changed = dict(value)
        for name, prop in stamps.items():  # `updatedAt` and the like: the time of this write
            text = clock_text(prop, call.now(seq))
            if text is not None:
                changed[name] = text
        return {"id": old["id"], "seq": old["seq"], "object": changed}

    try:
        record = call.store.update(call.tenant, _store_name(collection, call.path), current["id"], change,
                                   _unique(collection, key, value))
    except Conflict as error:
        raise _clash(collection, error, value) from None
    if record is None:  # deleted meanwhile
        raise EntityNotFound(collection.name, str(key))
    return _reply(call, record["object"], _seed(call, collection.name, record["seq"]))


_UPDATED = re.compile(r"(?i)^(updated|updated_?at|update_?time|updated_?on|modified|modified_?at|last_?modified)$")


def _delete(call: Call, role: Role, collection: Collection) -> Reply:
    key = _key_from_path(call, collection)
    record = _existing(call, collection, key)
    if not call.store.delete(call.tenant, _store_name(collection, call.path), record["id"]):
        raise EntityNotFound(collection.name, str(key))
    return _reply(call, record["object"], _seed(call, collection.name, record["seq"]))


def _list(call: Call, role: Role, collection: Collection, cursors: Cursors) -> Reply:
    body = _listing(call, role, collection, lambda record: record["object"], cursors)
    return _reply(call, body, _seed(call, collection.name, call.store.sequence(call.tenant)))


def _listing(call: Call, role: Role, collection: Collection, show: Callable[[Record], Any],
             cursors: Cursors) -> Any:
    """The list answer: the items the query's filters keep, the page its paging asks for (a cursor,
    an offset or a page number), in the documented shape (a bare array, or an envelope with the
    page, total and cursors). Unfiltered pages come from the store page by page, at any size."""
    query, paging = call.query, role.paging
    name = _store_name(collection, call.path)
    limit = query.get(paging.limit) if paging.limit else None
    limit = limit if isinstance(limit, int) and limit >= 0 else None
    position = cursors.read(query[paging.cursor]) if paging.cursor and query.get(paging.cursor) else None
    after, before = (None, position[1]) if position and position[0] == "prev" else (position and position[1], None)
    # `x-mock-normalize` applies to what a filter asks for too (a lowercased name is found by any case).
    wanted = [(prop, _normal(collection, prop, query[param])) for param, prop in role.filters if param in query]
    start = 0
    if paging.offset and isinstance(query.get(paging.offset), int):
        start = max(query[paging.offset], 0)
    if paging.page and isinstance(query.get(paging.page), int) and limit:
        start = max(query[paging.page] - paging.page_base, 0) * limit
    if not wanted and not start and limit:
        page = call.store.page(call.tenant, name, limit, after=after, before=before)
        items = [(seq, show(record)) for seq, record in page.items]
        more_before, more_after = page.more_before, page.more_after
        total = functools.partial(call.store.count, call.tenant, name)
    else:
        items = [(record["seq"], show(record)) for record in _candidates(call, collection, name, wanted)]
        for prop, value in wanted:
            items = [item for item in items if _matches(item[1].get(prop, MISSING), value)]
        total = functools.partial(len, items)
        items, more_before, more_after = _window(items, limit, start, after, before)
    _, documented = success(call.operation)
    return _list_body(documented, [item for _, item in items], total,
                      cursors.write("next", items[-1][0]) if items and more_after else None,
                      cursors.write("prev", items[0][0]) if items and more_before else None)


def _normal(collection: Collection, prop: str, value: Any) -> Any:
    if isinstance(value, list):
        return [normalized(collection, {prop: item})[prop] for item in value]
    return normalized(collection, {prop: value})[prop]


def _candidates(call: Call, collection: Collection, name: str, wanted: list[tuple[str, Any]]) -> list[Record]:
    """The records a filter may keep: by its unique index when one filters on a unique property (one
    lookup, at any size), else every record, oldest first."""
    single = {names[0]: index for index, names in collection.unique if len(names) == 1}
    for prop, value in wanted:
        if prop in single and isinstance(value, str):
            found = call.store.find(call.tenant, name, single[prop], value)
            return [found] if found is not None else []
    return list(call.store.scan(call.tenant, name))


def _window(items: list[tuple[int, Any]], limit: int | None, start: int, after: int | None,
            before: int | None) -> tuple[list[tuple[int, Any]], bool, bool]:
    """A page of (seq, item) pairs in sequence order, as the store pages: from `start`, after seq
    `after`, or the last ones before seq `before`; and whether items come before and after it."""
    if before is not None:
        end = bisect.bisect_left(items, before, key=lambda item: item[0])
        start = end - limit if limit is not None and end > limit else 0
    else:
        if after is not None:
            start = bisect.bisect_right(items, after, key=lambda item: item[0])
        end = len(items) if limit is None else min(len(items), start + limit)
    return items[start:end], start > 0, end < len(items)


def _matches(value: Any, wanted: Any) -> bool:
    """Equality; an array parameter matches any of its values; an array property matches when it
    holds a wanted value (or an object whose `name`/`id`/`value` is one)."""
    options = wanted if isinstance(wanted, list) else [wanted]
    if isinstance(value, list):
        held = [item.get("name", item.get("id", item.get("value"))) if isinstance(item, dict) else item
                for item in value]
        return any(str(option) == str(item) for option in options for item in held)
    return any(value == option or str(value) == str(option) for option in options)


def _write_cursor(direction: str, seq: int) -> str:
    return base64.urlsafe_b64encode(f"{direction}:{seq}".encode()).decode().rstrip("=")


def _read_cursor(cursor: Any) -> tuple[str, int] | None:
    """Where a cursor this mock gave out points; one it did not give out starts from the beginning
    (the document cannot say what the real API does with it, and it is valid by its schema)."""
    try:
        text = base64.urlsafe_b64decode(str(cursor) + "=" * (-len(str(cursor)) % 4)).decode("ascii")
        direction, _, seq = text.partition(":")
        if direction in ("next", "prev") and seq.isdigit():
            return direction, int(seq)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        pass
    return None


ENGINE_CURSORS = Cursors(_write_cursor, _read_cursor)


_TOTAL = re.compile(r"(?i)^(total|totalcount|total_count|count|totalitems|total_items|totalresults)$")
_NEXT = re.compile(r"(?i)^(next|nextcursor|next_cursor|nextpagetoken|next_page_token|cursor|nexttoken)$")
_PREVIOUS = re.compile(r"(?i)^(previous|prev|previouscursor|previous_cursor|prevcursor|prev_cursor|"
                       r"previouspagetoken|previous_page_token|prevpagetoken|prev_page_token)$")
_MORE = re.compile(r"(?i)^(hasmore|has_more|more)$")


def _list_body(documented: ResponseSpec | None, page: list, total: Callable[[], int], following: str | None,
               preceding: str | None) -> Any:
    """The page in the documented shape: the array itself, or an envelope whose members are named
    like the array, a total, the next or previous cursor, or whether more follow."""
    schema = documented.validator.schema if documented and documented.validator else {"type": "array"}
    if schema.get("type") == "array" or "properties" not in schema:
        return page
    body: dict[str, Any] = {}
    for name, prop in schema.get("properties", {}).items():
        kind = prop.get("type") if isinstance(prop, dict) else None
        if kind == "array":
            body[name] = page
        elif _TOTAL.match(name):
            body[name] = total()
        elif _NEXT.match(name):
            body[name] = following
        elif _PREVIOUS.match(name):
            body[name] = preceding
        elif _MORE.match(name):
            body[name] = following is not None
    return body


# --- collections kept by a codec (a vendor's own record format) ---------------------------------------

def _coded_handler(operation: Operation, role: Role, parents: dict[str, Collection], codec: Codec,
                   cursors: Cursors) -> Callable[[Call], Reply]:
    """The handler of an operation on a collection a codec keeps: the engine's roles, keys, unique
    rules, normalisation and defaults, with the codec's records and objects. What is fixed per
    operation is worked out here, once, not per request."""
    collection = role.collection
    if collection is None or role.kind == "other":
        return _other
    status, documented = success(operation)
    make = {"create": _coded_create, "read": _coded_read, "replace": _coded_change, "merge": _coded_change,
            "delete": _coded_delete, "list": functools.partial(_coded_list, cursors=cursors)}[role.kind]
    answer = make(operation, role, collection, codec, status)
    if not collection.scope and not (documented and documented.headers):
        return answer

    def handler(call: Call) -> Reply:
        _check_parent(call, collection, parents)
        reply = answer(call)
        reply.headers = documented_headers(documented, _seed(call, collection.name, call.store.sequence(call.tenant)))
        return reply

    return handler


def _coded_create(operation: Operation, role: Role, collection: Collection, codec: Codec,
                  status: int) -> Callable[[Call], Reply]:
    request_defaults = defaults(operation.body_schema) if isinstance(operation.body_schema, dict) else {}
    keyed = collection.key_property
    new_key = _key_maker(collection, codec)
    name = None if collection.scope else collection.name  # else one per parent, named per request
    record_of, show = codec.record, codec.show

    def create(call: Call) -> Reply:
        body = call.body if isinstance(call.body, dict) else {}
        body = normalized(collection, {**request_defaults, **body} if request_defaults else body)
        given = body.get(keyed, MISSING) if keyed else MISSING
        unique = unique_keys(collection, body)
        if given is not MISSING:  # a key the client chose may be taken; a made one never is
            unique = {KEY_INDEX: store_id(given), **unique}

        def build(seq: int) -> Record:
            return record_of(call, body, new_key(call, seq) if given is MISSING else given, seq)

        try:
            record = call.store.insert(call.tenant, name or _store_name(collection, call.path), build, unique)
        except Conflict as error:
            raise _clash(collection, error, body) from None
        return Reply(status, show(call, record, "create"))

    return create


def _coded_read(operation: Operation, role: Role, collection: Collection, codec: Codec,
                status: int) -> Callable[[Call], Reply]:
    name = None if collection.scope else collection.name
    key_param, item, show = collection.key_param, codec.item, codec.show

    def read(call: Call) -> Reply:
        key = call.path[key_param]
        record = call.store.get(call.tenant, name or _store_name(collection, call.path), store_id(key))
        if record is None:
            raise EntityNotFound(item, str(key))
        return Reply(status, show(call, record, "read"))

    return read


def _coded_change(operation: Operation, role: Role, collection: Collection, codec: Codec,
                  status: int) -> Callable[[Call], Reply]:
    if codec.change is None:
        raise InferenceError(f"{operation.operation_id}: a {role.kind} of {collection.name}, whose codec has no change")
    request_defaults = defaults(operation.body_schema) if role.kind == "replace" \
        and isinstance(operation.body_schema, dict) else {}
    props = properties_of(collection.schema)

    def change(call: Call) -> Reply:
        body = call.body if isinstance(call.body, dict) else {}
        key = body.get(collection.key_property, MISSING) if role.by_body else call.path[collection.key_param]
        if key is MISSING:  # valid by the schema (the key is optional there), but names no item
            raise EntityNotFound(codec.item, f"(no {collection.key_property})")
        # Query parameters named like properties change them too (`POST /pets/{id}?status=sold`).
        fields = {name: value for name, value in call.query.items() if name in props}
        body = normalized(collection, {**request_defaults, **body, **fields})
        current = _existing(call, collection, key, codec.item)
        after = codec.show(call, codec.change(call, current, body, current["seq"]), role.kind)
        try:
            record = call.store.update(call.tenant, _store_name(collection, call.path), current["id"],
                                       lambda old, seq: codec.change(call, old, body, seq),
                                       unique_keys(collection, after))
        except Conflict as error:
            raise _clash(collection, error, after) from None
        if record is None:  # deleted meanwhile
            raise EntityNotFound(codec.item, str(key))
        return Reply(status, codec.show(call, record, role.kind))

    return change


def _coded_delete(operation: Operation, role: Role, collection: Collection, codec: Codec,
                  status: int) -> Callable[[Call], Reply]:
    def delete(call: Call) -> Reply:
        key = call.path[collection.key_param]
        record = _existing(call, collection, key, codec.item)
        if not call.store.delete(call.tenant, _store_name(collection, call.path), record["id"]):
            raise EntityNotFound(codec.item, str(key))
        return Reply(status, None if status == 204 else codec.show(call, record, "delete"))

    return delete


def _coded_list(operation: Operation, role: Role, collection: Collection, codec: Codec, status: int,
                cursors: Cursors) -> Callable[[Call], Reply]:
    def list_items(call: Call) -> Reply:
        return Reply(status, _listing(call, role, collection, lambda record: codec.show(call, record, "list"), cursors))

    return list_items


def _other(call: Call) -> Reply:
    """Not a collection operation: the example the request prefers, the documented one, or generated."""
    code, documented = success(call.operation)
    seed = f"{_seed(call, call.operation.operation_id, call.store.sequence(call.tenant))}"
    if code == 204 or documented is None or documented.validator is None:
        return Reply(code, None, documented_headers(documented, seed))
    value = _example(call, documented)
    if value is not MISSING:
        value = without_write_only(documented.validator.schema, value)
    if value is MISSING or not documented.validator.is_valid(value):
        value = _without_secrets(documented, seed, generated(documented.validator.schema, seed, "",
                                                             value if value is not MISSING else {}))
        return Reply(code, value, documented_headers(documented, seed),
                     best_effort=not documented.validator.is_valid(value))
    return Reply(code, value, documented_headers(documented, seed))


def _without_secrets(documented: ResponseSpec, seed: str, value: Any, tries: int = 8) -> Any:
    """A generated answer without `writeOnly` fields: the value stripped of them when that stays valid,
    else another draw that does (a `oneOf` branch that requires none), else the value as it is."""
    schema = documented.validator.schema
    for attempt in range(tries + 1):
        candidate = value if attempt == 0 else generated(schema, f"{seed}#{attempt}", "", None)
        stripped = without_write_only(schema, candidate)
        if stripped is not None and documented.validator.is_valid(stripped):
            return stripped
    return value


_PREFER_EXAMPLE = re.compile(r"(?:^|[,;\s])example=\"?([^\",;\s]+)")


def _example(call: Call, documented: ResponseSpec) -> Any:
    examples = getattr(documented, "examples", None) or {}
    wanted = _PREFER_EXAMPLE.search(call.headers.get("Prefer", "")) if call.headers else None
    if wanted:
        if wanted.group(1) not in examples:  # a typo in a test stays loud, as with `Prefer: code=`
            raise BadRequest(f"Prefer: example={wanted.group(1)}: {call.operation.operation_id} documents no such "
                             f"example (it documents {', '.join(examples) or 'none'})")
        chosen = examples[wanted.group(1)]
        return chosen.get("value", MISSING) if isinstance(chosen, dict) else MISSING
    example = getattr(documented, "example", MISSING)
    if example is not MISSING and example is not None:
        return example
    for chosen in examples.values():
        if isinstance(chosen, dict) and "value" in chosen:
            return chosen["value"]
    return MISSING


