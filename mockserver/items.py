"""What every handler of a collection shares: keys (given, or made from the key's schema), seeds,
store names (one per parent for nested collections), stored objects (generated values under the
body, times from the clock), normalisation and unique rules, and a clash as the 409 it is."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from mockserver.answers import generated
from mockserver.determinism import iso_millis, rfc3339_micros, rfc3339_nano
from mockserver.errors import MISSING, Conflict, EntityNotFound
from mockserver.inference import Collection, defaults, plain_name, properties_of
from mockserver.spec import compile_schema, narrowed
from mockserver.store import Record
from mockserver.vendors.base import Call, Codec

KEY_INDEX = "key"
MAX_KEY_TRIES = 64  # generated keys taken by client-chosen ones: try the next sequence numbers


def derived_key(collection: Collection) -> str | None:
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
    if "pattern" not in schema:
        return True
    validator = compile_schema(schema, "a key", checked=True)
    return all(validator.is_valid(one) for one in _BASE62_SAMPLES)


_BASE62_SAMPLES = ("0" * 21, "9" * 21, "a" * 21, "z" * 21, "A" * 21, "Z" * 21)


def seed_of(call: Call, collection: str, seq: int) -> str:
    tenant = call.tenant
    return f"{call.determinism.seed}|{tenant.vendor}|{tenant.credential}|{collection}|{seq}"


def store_id(key: Any) -> str:
    """A key as the store's text id: strings as they are, other JSON values as JSON."""
    return key if isinstance(key, str) else json.dumps(key, separators=(",", ":"))


def store_name(collection: Collection, path: dict[str, Any]) -> str:
    """Scoped collections keep one store collection per parent (`pets@["owner-1"]`), named from the
    request's path parameters."""
    if not collection.scope:
        return collection.name
    parents = [path.get(name) for name in collection.scope]
    return f"{collection.name}@{json.dumps(parents, separators=(',', ':'))}"


def check_parent(call: Call, collection: Collection, parents: dict[str, Collection]) -> None:
    """An item under `/owners/{ownerId}` needs that owner, when owners are a collection too."""
    parent = parents.get(collection.path.rsplit("/", 1)[0]) if collection.scope else None
    if parent is None or parent.key_param not in call.path:
        return
    if call.store.get(call.tenant, store_name(parent, call.path), store_id(call.path[parent.key_param])) is None:
        raise EntityNotFound(parent.name, str(call.path[parent.key_param]))


def new_key(call: Call, collection: Collection, seq: int, codec: Codec | None = None) -> Any:
    return key_maker(collection, codec)(call, seq)


def key_maker(collection: Collection, codec: Codec | None = None) -> Callable[[Call, int], Any]:
    """How keys are made from the key's schema: the sequence number for integers, a uuid, a
    21-character id, else a generated value (unique by the seed; a clash takes the next number).
    Ids are made in the collection's namespace, or the codec's."""
    derived = derived_key(collection)
    namespace = codec.item if codec else collection.name
    if derived == "sequence":
        return lambda call, seq: seq
    if derived == "uuid":
        return lambda call, seq: call.uuid4(namespace, seq)
    if derived == "base62":
        return lambda call, seq: call.base62_id(namespace, seq)

    def generate_key(call: Call, seq: int) -> Any:
        key = generated(collection.key_schema, seed_of(call, collection.name, seq), "/key")
        return key if key is not MISSING else call.base62_id(namespace, seq)

    return generate_key


def merge_values(base: Any, over: Any) -> Any:
    """`over` on top of `base`, object by object (arrays and scalars are replaced)."""
    if isinstance(base, dict) and isinstance(over, dict):
        merged = dict(base)
        for name, value in over.items():
            merged[name] = merge_values(base.get(name), value) if isinstance(value, dict) else value
        return merged
    return over


def fresh(call: Call, collection: Collection, seq: int, body: Any) -> dict:
    """A new item: generated values for the schema, the body over them, times from the clock."""
    made = generated(narrowed(collection.schema, body), seed_of(call, collection.name, seq), "", {})
    if not isinstance(made, dict):
        made = {}
    now = call.now(seq)
    for name, prop in properties_of(collection.schema).items():
        if name in made and isinstance(prop, dict) and prop.get("format") == "date-time":
            text = clock_text(prop, now)
            if text is not None:
                made[name] = text
    return merge_values(made, body if isinstance(body, dict) else {})


# The ways APIs print a time, in the order tried: the first the property's schema accepts (a `pattern`
# may ask for milliseconds, as JavaScript prints them, or Go's trimmed fraction) is the one used.
_TIME_FORMATS = (rfc3339_micros, iso_millis, rfc3339_nano)


def clock_text(schema: dict, micros: int) -> str | None:
    """The tenant's clock as the property's schema wants it printed, or None when no format fits."""
    if "pattern" not in schema:
        return rfc3339_micros(micros)
    validator = compile_schema(schema, "a time property", checked=True)
    return next((text for text in (form(micros) for form in _TIME_FORMATS) if validator.is_valid(text)), None)


def without_hidden(body: Any, hidden: frozenset[str]) -> Any:
    """Write-only fields out of an item, or out of each item of a list (bare or in an envelope)."""
    if isinstance(body, list):
        return [without_hidden(item, hidden) for item in body]
    if isinstance(body, dict):
        if hidden & body.keys():
            return {name: value for name, value in body.items() if name not in hidden}
        return {name: without_hidden(value, hidden) if isinstance(value, list) else value
                for name, value in body.items()}
    return body


def existing(call: Call, collection: Collection, key: Any, entity: str | None = None, flat: bool = False) -> Record:
    """The item with the key, else (`x-mock-lookup`) the oldest whose property is the value, compared
    as stored; a 404 naming the entity (default: the collection) when there is none. `flat`: a
    codec's records, which hold the properties themselves (the engine's hold them in `object`)."""
    where = store_name(collection, call.path)
    record = call.store.get(call.tenant, where, store_id(key))
    if record is None and collection.lookup and isinstance(key, str):
        for prop in collection.lookup:
            wanted = normalized(collection, {prop: key})[prop]
            record = next((found for found in call.store.scan(call.tenant, where)
                           if (found if flat else found["object"]).get(prop) == wanted), None)
            if record is not None:
                break
    if record is None:
        raise EntityNotFound(entity or collection.name, str(key))
    return record


def with_defaults(schema: dict | None, body: dict) -> dict:
    """The request body with the defaults its schema declares for what it leaves out."""
    return {**defaults(schema), **body} if isinstance(schema, dict) else body


def in_item_names(collection: Collection, body: Any) -> Any:
    """A request body's fields under the names the item has, where the request writes them in another
    case style (Twilio's form `FriendlyName` is the answer's `friendly_name`); others as they are."""
    props = properties_of(collection.schema)
    if not isinstance(body, dict) or all(name in props for name in body):
        return body
    by_norm = {plain_name(name): name for name in props}
    renamed = {}
    for name, value in body.items():
        target = name if name in props else by_norm.get(plain_name(name), name)
        if target not in body or target == name:
            renamed[target] = value
    return renamed


def path_fields(collection: Collection, path: dict[str, Any]) -> dict[str, Any]:
    """The item's properties named like its parent's path parameters, with their values (a queue of
    `/Accounts/{AccountSid}/Queues.json` has that `account_sid`), where the property's schema takes it."""
    if not collection.scope:
        return {}
    by_norm = {plain_name(name): (name, prop) for name, prop in properties_of(collection.schema).items()}
    found = {}
    for param in collection.scope:
        name, prop = by_norm.get(plain_name(param), (None, None))
        if name is not None and param in path and isinstance(prop, dict) \
                and compile_schema(prop, "a property named like a path parameter", checked=True).is_valid(path[param]):
            found[name] = path[param]
    return found


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


def unique_with_key(collection: Collection, key: Any, value: dict) -> dict[str, str | None]:
    """The store's unique keys of an item: its key, and each `x-mock-unique` rule."""
    return {KEY_INDEX: store_id(key), **unique_keys(collection, value)}


def clash(collection: Collection, error: Conflict, value: dict) -> Conflict:
    """A conflict naming the properties and the values taken."""
    if error.index == KEY_INDEX:
        return Conflict(collection.key_property or KEY_INDEX, store_id(value.get(collection.key_property)))
    names = dict(collection.unique).get(error.index, (error.index,))
    if len(names) == 1:
        return Conflict(names[0], value.get(names[0]))
    shown = ", ".join(f"{name} {value.get(name)!r}" for name in names)
    return Conflict(error.index, [value.get(name) for name in names], f"{collection.name}: {shown} already exists")
