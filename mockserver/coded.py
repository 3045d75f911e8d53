"""Handlers for collections a vendor keeps in its own record format (`Overrides.codecs`): the
engine's roles, keys, unique rules, normalisation and defaults, with the codec's flat records and
objects (no schema fitting or generation per request). What is fixed per operation is worked out
once, when the handler is made."""

from __future__ import annotations

import functools
from collections.abc import Callable

from mockserver.answers import documented_headers, success
from mockserver.errors import MISSING, Conflict, EntityNotFound
from mockserver.examples import other_answer
from mockserver.inference import Collection, InferenceError, Role, defaults, properties_of
from mockserver.items import (
    KEY_INDEX,
    check_parent,
    clash,
    existing,
    key_maker,
    normalized,
    seed_of,
    store_id,
    store_name,
    unique_keys,
)
from mockserver.listing import listing
from mockserver.spec import Operation
from mockserver.store import Record
from mockserver.vendors.base import Call, Codec, Cursors, Reply


def coded_handler(operation: Operation, role: Role, parents: dict[str, Collection], codec: Codec,
                  cursors: Cursors) -> Callable[[Call], Reply]:
    """The handler of an operation on a collection a codec keeps: the engine's roles, keys, unique
    rules, normalisation and defaults, with the codec's records and objects. What is fixed per
    operation is worked out here, once, not per request."""
    collection = role.collection
    if collection is None or role.kind in ("other", "find"):  # a find scans objects, which codecs do not keep
        return other_answer
    status, documented = success(operation)
    make = {"create": _coded_create, "read": _coded_read, "replace": _coded_change, "merge": _coded_change,
            "delete": _coded_delete, "list": functools.partial(_coded_list, cursors=cursors)}[role.kind]
    answer = make(operation, role, collection, codec, status)
    wrapper = role.answer_wrapper
    if not collection.scope and not (documented and documented.headers) and not wrapper:
        return answer

    def handler(call: Call) -> Reply:
        check_parent(call, collection, parents)
        reply = answer(call)
        reply.headers = documented_headers(documented, seed_of(call, collection.name, call.store.sequence(call.tenant)))
        if wrapper and reply.body is not None:  # the item in the answer's wrapper (`{"ssh_key": {...}}`)
            reply.body = {wrapper: reply.body}
        return reply

    return handler


def _coded_create(operation: Operation, role: Role, collection: Collection, codec: Codec,
                  status: int) -> Callable[[Call], Reply]:
    request_defaults = defaults(operation.body_schema) if isinstance(operation.body_schema, dict) else {}
    keyed = collection.key_property
    new_key = key_maker(collection, codec)
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
            record = call.store.insert(call.tenant, name or store_name(collection, call.path), build, unique)
        except Conflict as error:
            raise clash(collection, error, body) from None
        return Reply(status, show(call, record, "create"))

    return create


def _coded_read(operation: Operation, role: Role, collection: Collection, codec: Codec,
                status: int) -> Callable[[Call], Reply]:
    key_param, item, show = collection.key_param, codec.item, codec.show

    def read(call: Call) -> Reply:
        return Reply(status, show(call, existing(call, collection, call.path[key_param], item, flat=True), "read"))

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
        current = existing(call, collection, key, codec.item, flat=True)
        after = codec.show(call, codec.change(call, current, body, current["seq"]), role.kind)
        try:
            record = call.store.update(call.tenant, store_name(collection, call.path), current["id"],
                                       lambda old, seq: codec.change(call, old, body, seq),
                                       unique_keys(collection, after))
        except Conflict as error:
            raise clash(collection, error, after) from None
        if record is None:  # deleted meanwhile
            raise EntityNotFound(codec.item, str(key))
        return Reply(status, codec.show(call, record, role.kind))

    return change


def _coded_delete(operation: Operation, role: Role, collection: Collection, codec: Codec,
                  status: int) -> Callable[[Call], Reply]:
    def delete(call: Call) -> Reply:
        key = call.path[collection.key_param]
        record = existing(call, collection, key, codec.item, flat=True)
        if not call.store.delete(call.tenant, store_name(collection, call.path), record["id"]):
            raise EntityNotFound(codec.item, str(key))
        return Reply(status, None if status == 204 else codec.show(call, record, "delete"))

    return delete


def _coded_list(operation: Operation, role: Role, collection: Collection, codec: Codec, status: int,
                cursors: Cursors) -> Callable[[Call], Reply]:
    def list_items(call: Call) -> Reply:
        return Reply(status, listing(call, role, collection, lambda record: codec.show(call, record, "list"), cursors))

    return list_items
