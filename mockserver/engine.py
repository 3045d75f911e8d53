"""Any OpenAPI document as a stateful mock with no code: handlers made from what `inference` reads
in the spec, values made by `generate`, errors in the shapes the document declares.

A stored item is `{"id": <key as text>, "seq": n, "object": <the item as the API shows it>}`; the
object is the request body merged over generated values, so every field the schema wants is there.
A vendor may keep a collection in its own format instead (`Overrides.codecs`): small flat records
rendered per answer, with no generated values (the vendors' hot path stays as lean as their code was).
Every generated value is a pure function of (seed, API, tenant, collection, sequence, JSON pointer).

Here: `build_vendor`, state export/import formats, and the handlers of the engine's own records.
What they share is in `items` (keys, store names, stored objects, unique rules), lists in `listing`,
operations that are not CRUD in `examples`, and the handlers of codec-kept collections in `coded`.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable
from typing import Any

from mockserver.answers import as_deleted, documented_headers, fit, render_error, success
from mockserver.coded import coded_handler
from mockserver.errors import MISSING, BadRequest, Conflict, EntityNotFound, Issue, ValidationFailed
from mockserver.examples import other_answer
from mockserver.inference import (
    Collection,
    InferenceError,
    Role,
    defaults,
    form_fields,
    infer,
    named_property,
    properties_of,
    request_schema,
    update_mask,
    without_required,
)
from mockserver.items import (
    KEY_INDEX,
    MAX_KEY_TRIES,
    check_parent,
    clash,
    clock_text,
    derived_key,
    existing,
    fresh,
    in_item_names,
    merge_values,
    new_key,
    normalized,
    path_fields,
    seed_of,
    store_id,
    store_name,
    unique_keys,
    unique_with_key,
    with_defaults,
    without_hidden,
)
from mockserver.listing import ENGINE_CURSORS, listing, matches
from mockserver.spec import Operation, Spec
from mockserver.store import Record
from mockserver.vendors.base import Call, Codec, Cursors, Overrides, Reply, Scope, StateFormat, Vendor, recognize


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
        body = request_schema(spec.operations[op_id], role) if role.collection is not None else None
        if isinstance(body, dict):
            hidden.setdefault(role.collection.name, set()).update(
                name for name, prop in properties_of(body).items() if isinstance(prop, dict) and prop.get("writeOnly"))
    handlers = {}
    for op_id, role in roles.items():
        name = role.collection.name if role.collection else ""
        codec, cursors = overrides.codecs.get(name), overrides.cursors.get(name, ENGINE_CURSORS)
        handlers[op_id] = _unwrapping(role, coded_handler(spec.operations[op_id], role, parents, codec, cursors)
                                      if codec else _handler(spec.operations[op_id], role, parents,
                                                             frozenset(hidden.get(name, ())), cursors))
    for op_id, operation in spec.operations.items():
        rule = update_mask(spec, operation)
        if rule is not None and op_id in handlers:
            handlers[op_id] = _masked(*rule, handlers[op_id])
    for op_id, around in overrides.handlers.items():
        handlers[op_id] = _around(around, handlers[op_id])
    named: dict[str, dict[str, Role]] = {}  # each collection's roles (a collection is equal only to its namesakes)
    for op_id, role in roles.items():
        if role.collection is not None:
            named.setdefault(role.collection.name, {})[op_id] = role
    formats = tuple(_state_format(spec, roles, collection, frozenset(hidden.get(collection.name, ())), parents,
                                  overrides.codecs.get(collection.name), named[collection.name])
                    for collection in _collections(roles))
    return Vendor(name=spec.vendor, spec_file=str(spec.source), handlers=handlers,
                  render_error=overrides.render_error or render_error, accept_credential=overrides.accept_credential,
                  collections=tuple(form for form in formats if form is not None),
                  undocumented_errors=overrides.undocumented_errors,
                  finds=frozenset(op_id for op_id, role in roles.items() if role.kind == "find"
                                  and not overrides.codecs.get(role.collection.name)))


def _unwrapping(role: Role, handler: Callable[[Call], Reply]) -> Callable[[Call], Reply]:
    """A collection's handler reading a request body as the item says it: out of its wrapper
    (`{"ssh_key": {...}}`), fields named in another case style under the item's names."""
    if role.collection is None or role.kind in ("other", "list"):
        return handler
    collection, wrapper = role.collection, role.body_wrapper

    def unwrapping(call: Call) -> Reply:
        if wrapper and isinstance(call.body, dict):
            call.body = call.body.get(wrapper, {})
        call.body = in_item_names(collection, call.body)
        return handler(call)

    return unwrapping


def _masked(mask: str, values: str, allowed: tuple[str, ...],
            handler: Callable[[Call], Reply]) -> Callable[[Call], Reply]:
    """An update whose body names the paths it changes (`x-mock-update-mask`): only those values are
    read. A path the values object does not declare is a 400 naming the allowed ones; a named path
    without its value a 422."""
    def masked(call: Call) -> Reply:
        paths, given = call.body[mask], call.body[values]
        unknown = [path for path in paths if path not in allowed]
        if unknown:
            raise BadRequest(f"Invalid update mask: {', '.join(repr(path) for path in unknown)}",
                             remedy=f"Allowed masks: {' and '.join(repr(path) for path in allowed)}")
        missing = [path for path in dict.fromkeys(paths) if path not in given]
        if missing:
            raise ValidationFailed([Issue("body", (values, path), "required", f"value not found for mask '{path}'")
                                    for path in missing])
        call.body = {path: given[path] for path in paths}
        return handler(call)

    return masked


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
                  parents: dict[str, Collection], codec: Codec | None = None,
                  candidates: dict[str, Role] | None = None) -> StateFormat | None:
    """State export/import of a collection: its objects as the API shows them (a nested collection's
    grouped by parent); an imported object needs what create requires, the rest is generated as a
    create would (or, for a collection with a codec, is what the codec gives a new item)."""
    ops = {role.kind: op_id for op_id, role in (roles if candidates is None else candidates).items()
           if role.collection == collection and not role.by_body}
    read = ops.get("read") or ops.get("list")
    if read is None:
        return None
    create = ops.get("create")
    create_body = (request_schema(spec.operations[create], roles[create]) or {}) if create else {}
    required = list(create_body.get("required", []))
    schema = {**without_required(collection.schema), "required": required}
    create_defaults = defaults(create_body)  # filled in as a create would

    def export(record: Record, call: Call) -> dict:
        return codec.show(call, record, "export") if codec else without_hidden(record["object"], hidden)

    def restore(obj: dict, call: Call, seq: int) -> tuple[Record, dict]:
        given = obj.get(collection.key_property, MISSING) if collection.key_property else MISSING
        key = given if given is not MISSING else new_key(call, collection, seq, codec)
        obj = normalized(collection, {**create_defaults, **obj})
        if codec:
            return codec.record(call, obj, key, seq), unique_keys(collection, obj)
        value = fresh(call, collection, seq, obj)
        if collection.key_property:
            value[collection.key_property] = key
        return {"id": store_id(key), "seq": seq, "object": value}, unique_with_key(collection, key, value)

    def sequence_of(objs: list[dict], call: Call, sequence: int) -> list[int | None]:
        """The sequence number a generated key was made from, so export -> import keeps it."""
        keys = [obj.get(collection.key_property) if collection.key_property else None for obj in objs]
        if derived_key(collection) == "sequence":
            return [key if isinstance(key, int) and not isinstance(key, bool) else None for key in keys]
        if derived_key(collection) is None:
            return [None] * len(objs)
        return recognize([key if isinstance(key, str) else None for key in keys],
                         lambda seq: new_key(call, collection, seq, codec), sequence)

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
        return parent.name, store_name(parent, path), store_id(path[parent.key_param])

    schema = {"type": "object", "additionalProperties": False, "required": list(collection.scope), "properties": typed}
    return Scope(collection.scope, schema, lambda given: store_name(collection, values(given)), parent_of, owner)


def _as_path_value(schema: dict) -> dict:
    """A path parameter's schema for the value a request reads: integers, numbers and booleans are
    converted from the path's text, anything else stays that text."""
    if schema.get("type") in ("integer", "number", "boolean", "string"):
        return schema
    return {"allOf": [schema, {"type": "string"}]} if schema else {"type": "string"}


def _reply(call: Call, value: Any, seed: str, wrapper: str | None = None, deleted: bool = False) -> Reply:
    """The value fitted to the documented answer; an item in its wrapper where the answer has one. A
    delete's answer holds what the mock knows (the item, that it is gone); the rest is generated, never
    the example's."""
    code, documented = success(call.operation)
    if deleted and wrapper is None:
        value = as_deleted(value, documented)
    if wrapper is not None:
        value = {wrapper: value}
    body, unmet = fit(value, documented, seed, whole_examples=not deleted) if code != 204 else (None, False)
    return Reply(code, body, documented_headers(documented, seed), best_effort=unmet)


# --- handlers ----------------------------------------------------------------------------------------

def _handler(operation: Operation, role: Role, parents: dict[str, Collection], hidden: frozenset[str],
             cursors: Cursors) -> Callable[[Call], Reply]:
    collection = role.collection
    if collection is None or role.kind == "other":
        return other_answer
    kinds = {"create": _create, "list": functools.partial(_list, cursors=cursors), "read": _read,
             "replace": _replace, "merge": _merge_item, "delete": _delete, "find": _find}

    def handler(call: Call) -> Reply:
        check_parent(call, collection, parents)
        reply = kinds[role.kind](call, role, collection)
        if hidden and reply.body is not None:
            if role.answer_wrapper and isinstance(reply.body, dict) and role.answer_wrapper in reply.body:
                reply.body[role.answer_wrapper] = without_hidden(reply.body[role.answer_wrapper], hidden)
            else:
                reply.body = without_hidden(reply.body, hidden)
        return reply

    return handler


def _key_from_path(call: Call, collection: Collection) -> Any:
    return call.path[collection.key_param]


def _create(call: Call, role: Role, collection: Collection) -> Reply:
    body = normalized(collection, with_defaults(request_schema(call.operation, role), {
        **path_fields(collection, call.path), **(call.body if isinstance(call.body, dict) else {})}))
    name = store_name(collection, call.path)
    given = body.get(collection.key_property, MISSING) if collection.key_property else MISSING
    if given is not MISSING and _read_only(request_schema(call.operation, role), collection.key_property):
        given = MISSING  # the server sets a read-only key: one sent is ignored (PagerDuty's `id`), never a clash
    if given == "" and collection.item_path:
        # `/users/` folds to `/users`: an item with an empty key could never be read, changed or deleted
        raise ValidationFailed([Issue("body", (collection.key_property,), "minLength",
                                      f"{collection.key_property}: an empty key names no item "
                                      f"(its path {collection.item_path} needs a non-empty value)")])
    record = None
    for attempt in range(MAX_KEY_TRIES):
        guess = call.store.sequence(call.tenant) + 1 + attempt
        key = given if given is not MISSING else new_key(call, collection, guess)
        value = fresh(call, collection, guess, body)  # under concurrent writes the guess may be off: fine
        if collection.key_property:
            value[collection.key_property] = key

        def build(seq: int, key: Any = key, value: dict = value) -> Record:
            return {"id": store_id(key), "seq": seq, "object": value}

        try:
            record = call.store.insert(call.tenant, name, build, unique_with_key(collection, key, value))
            break
        except Conflict as error:
            if given is not MISSING or error.index != KEY_INDEX:
                raise clash(collection, error, value) from None
    if record is None:
        raise Conflict(collection.key_property or KEY_INDEX, "(generated)")
    return _reply(call, record["object"], seed_of(call, collection.name, record["seq"]), role.answer_wrapper)


def _read_only(schema: Any, name: str) -> bool:
    prop = properties_of(schema).get(name) if isinstance(schema, dict) else None
    return isinstance(prop, dict) and prop.get("readOnly") is True


def _read(call: Call, role: Role, collection: Collection) -> Reply:
    record = existing(call, collection, _key_from_path(call, collection))
    return _reply(call, record["object"], seed_of(call, collection.name, record["seq"]), role.answer_wrapper)


def _find(call: Call, role: Role, collection: Collection) -> Reply:
    """The oldest item holding what the request's parameters name (a property's value, or one of an
    object property's values: Box's `shared_link=URL` is the item's `shared_link.url`); else a 404."""
    wanted = []
    for location, name, prop in role.find_by:
        value = call.query.get(name) if location == "query" else call.headers.get(name)
        if value is None:
            continue
        if prop is not None:
            wanted.append((prop, value))
        else:
            wanted.extend((named, text) for field, text in form_fields(value).items()
                          if (named := named_property(collection, field)) is not None)
    if wanted:
        for record in call.store.scan(call.tenant, store_name(collection, call.path)):
            if all(_holds(record["object"].get(prop, MISSING), value) for prop, value in wanted):
                return _reply(call, record["object"], seed_of(call, collection.name, record["seq"]),
                              role.answer_wrapper)
    raise EntityNotFound(collection.name, ", ".join(f"{prop}={value}" for prop, value in wanted) or "(none named)")


def _holds(stored: Any, value: Any) -> bool:
    """Whether a stored property is the value a request names, as a list's filter compares them, or,
    for an object, holds it as one of its own values."""
    if isinstance(stored, dict):
        return any(matches(each, value) for each in stored.values() if not isinstance(each, dict))
    return stored is not MISSING and matches(stored, value)


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
    current = existing(call, collection, key)
    if collection.key_property:  # the path may have named it by another property (`x-mock-lookup`)
        key = current["object"].get(collection.key_property, key)
    if merge:
        value = merge_values(current["object"], normalized(collection, {**body, **fields}))
    else:
        given = with_defaults(request_schema(call.operation, role), body)
        value = merge_values(fresh(call, collection, current["seq"], body),  # body: of the subtype it names
                             normalized(collection, {**given, **fields}))
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
        record = call.store.update(call.tenant, store_name(collection, call.path), current["id"], change,
                                   unique_with_key(collection, key, value))
    except Conflict as error:
        raise clash(collection, error, value) from None
    if record is None:  # deleted meanwhile
        raise EntityNotFound(collection.name, str(key))
    return _reply(call, record["object"], seed_of(call, collection.name, record["seq"]), role.answer_wrapper)


_UPDATED = re.compile(r"(?i)^(updated|updated_?at|update_?time|updated_?on|modified|modified_?at|last_?modified)$")


def _delete(call: Call, role: Role, collection: Collection) -> Reply:
    key = _key_from_path(call, collection)
    record = existing(call, collection, key)
    if not call.store.delete(call.tenant, store_name(collection, call.path), record["id"]):
        raise EntityNotFound(collection.name, str(key))
    return _reply(call, record["object"], seed_of(call, collection.name, record["seq"]), role.answer_wrapper,
                  deleted=True)


def _list(call: Call, role: Role, collection: Collection, cursors: Cursors) -> Reply:
    body = listing(call, role, collection, lambda record: record["object"], cursors)
    return _reply(call, body, seed_of(call, collection.name, call.store.sequence(call.tenant)))


