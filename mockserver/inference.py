"""What a spec implies about state, read from its paths and schemas alone: which paths form a
collection, which property is an item's key, and what each operation does to the store.

    /pets + /pets/{petId}               a collection; `petId` names the key (`petId`, else `id`)
    /owners/{ownerId}/pets/{petId}      a collection scoped to its parent (one per `ownerId`)
    POST /pets                          create        GET /pets          list (filters, paging)
    GET /pets/{petId}                   read          PUT /pets/{petId}  replace
    PATCH /pets/{petId}                 merge         POST /pets/{petId} merge (body or query fields)
    DELETE /pets/{petId}                delete        PUT /pets          replace, the key in the body
    GET /pets/findByStatus              list, when it answers an array of the collection's items
    GET /pet_by_tag?tag=x               find: a path of no parameter answering one collection's item,
                                        with required query or header parameters that name the item's
                                        properties, or whose example's form fields do (Box's
                                        `boxapi: shared_link=...`): the oldest item holding them, else 404
    /Queues.json + /Queues/{Sid}.json   a collection too: a parameter followed by a suffix names the item
    {"ssh_key": {...}}                  a wrapped item (Rails style): one object property that is the item,
                                        in a request body or an answer, is unwrapped and wrapped again
    PUT /pets/{petId}#add_tag           as PUT /pets/{petId}: a `#fragment` path is another operation on
                                        its URL (the request tells which, `pipeline.choose`)

Everything else is an `other` operation: it answers its example or generated data. A spec may
override any inference with `x-mock-*` extensions (see the README's "Spec extensions").
"""

from __future__ import annotations

import re
import urllib.parse
from dataclasses import field, replace
from typing import Any

from mockserver.records import dataclass
from mockserver.spec import Operation, Spec, SpecError, route_path

_TEMPLATE = re.compile(r"^\{([^}/]+)\}$")
_SUFFIXED = re.compile(r"^\{([^}/]+)\}([^{}]+)$")  # `{Sid}.json`: the parameter, then a literal suffix
JSON_MEDIA = re.compile(r"^application/(?:[\w.+-]+\+)?json$")

# Query parameters that page a list, by the style they belong to (compared case-insensitively).
LIMIT_NAMES = frozenset({"limit", "per_page", "perpage", "page_size", "pagesize", "size", "count", "max",
                         "maxresults", "max_results", "top", "first", "take"})
OFFSET_NAMES = frozenset({"offset", "skip", "start", "from"})
PAGE_NAMES = frozenset({"page", "pagenumber", "page_number", "pageno"})
CURSOR_NAMES = frozenset({"cursor", "after", "page_token", "pagetoken", "next", "next_token", "nexttoken",
                          "starting_after", "continuation", "continuationtoken", "marker", "after_id",
                          "starting_after_id", "since_id"})
BEFORE_NAMES = frozenset({"before", "ending_before", "before_id", "ending_before_id"})  # the page before an item
ORDER_NAMES = frozenset({"order", "sort_order", "sortorder", "direction", "sort_direction"})


@dataclass(frozen=True)
class Collection:
    name: str  # unique within the API; the name state export/import use
    path: str  # the collection's path as the spec writes it, e.g. /owners/{ownerId}/pets
    item_path: str | None  # e.g. /owners/{ownerId}/pets/{petId}; None: items have no own URL
    key_param: str | None  # the item path's last parameter, e.g. petId
    key_property: str | None  # the item's property holding the key, e.g. id; None: a key of the mock's
    key_schema: dict  # the key's schema (the property's, else the path parameter's)
    scope: tuple[str, ...]  # the collection path's parameters: one collection per parent
    schema: dict  # an item as the API answers it
    unique: tuple[tuple[str, tuple[str, ...]], ...] = ()  # `x-mock-unique`: (index, properties) unique together
    normalize: tuple[tuple[str, str], ...] = ()  # `x-mock-normalize`: (property, how) applied when stored
    lookup: tuple[str, ...] = ()  # `x-mock-lookup`: properties the item path's parameter may name an item by


NORMALIZERS = ("lowercase", "uppercase", "trim")


@dataclass(frozen=True)
class Paging:
    limit: str | None = None
    offset: str | None = None
    page: str | None = None
    page_base: int = 1  # the first page's number
    cursor: str | None = None  # a cursor the mock gave out, or an item's key (`after=asst_abc`)
    before: str | None = None  # a cursor or key naming what the page ends before (`before=asst_abc`)
    order: str | None = None  # `order=asc|desc`: the parameter, when its enum has both
    descending: bool = False  # the order when the parameter is not sent (its `default`)


@dataclass(frozen=True)
class Role:
    kind: str  # create | list | read | replace | merge | delete | other
    collection: Collection | None = None
    filters: tuple[tuple[str, str], ...] = ()  # (query parameter, item property)
    paging: Paging = field(default_factory=Paging)
    by_body: bool = False  # replace/merge whose key is in the body (PUT /pets)
    body_wrapper: str | None = None  # the request body holds the item in this property (`ssh_key`)
    answer_wrapper: str | None = None  # the answer holds the item in this property
    # find: (location, parameter, item property) for each parameter naming the item; the property is
    # None where the value's form fields name properties (`shared_link=...&shared_link_password=...`)
    find_by: tuple[tuple[str, str, str | None], ...] = ()


ROLES = ("create", "list", "read", "replace", "merge", "delete", "find", "other")


class InferenceError(SpecError):
    """An `x-mock-*` extension the engine cannot follow."""


def infer(spec: Spec) -> dict[str, Role]:
    """The role of every operation of the spec, by operationId; `x-mock-role` on an operation
    overrides what its path implies."""
    collections = _collections(spec)
    by_path = {c.path: c for c in collections}
    by_item = {c.item_path: c for c in collections if c.item_path}
    roles: dict[str, Role] = {}
    for path, operations in spec.paths.items():
        for method, operation in operations.items():
            # `/files/{id}#add_link` is an operation on `/files/{id}`: its role is that URL's
            role = _role(spec, route_path(path), method, operation, by_path, by_item)
            wanted = _extension(spec, path, method, "x-mock-role")
            if wanted is not None and wanted != role.kind:
                role = _forced(spec, path, method, operation, wanted, role, by_path, by_item)
            if role.collection is not None and role.kind not in ("other", "list"):
                role = replace(role, body_wrapper=_body_wrapper(operation.body_schema, role.collection.schema),
                               answer_wrapper=_answer_wrapper(_success_schema(operation), role.collection.schema))
            if role.kind == "replace" and wanted is None and _partial(request_schema(operation, role),
                                                                      role.collection.schema):
                role = replace(role, kind="merge")  # DigitalOcean's `PUT {"name": ...}` renames, keeps the rest
            roles[operation.operation_id] = role
    return roles


def _unwrapped(schema: Any) -> dict | None:
    """The item a wrapper holds: the schema's one property, when that is an object with properties
    (`{"ssh_key": {...}}`); None for anything else."""
    if not isinstance(schema, dict):
        return None
    props = properties_of(schema)
    if len(props) != 1:
        return None
    inner = next(iter(props.values()))
    return inner if isinstance(inner, dict) and properties_of(inner) and inner.get("type") in (None, "object") \
        else None


# The property an envelope with other fields beside it (`{"status_code": 200, "data": {...}}`, Apideck,
# JSON:API) holds its one item in.
_ITEM_FIELDS = ("data", "item", "result", "resource", "record", "object", "entity")


def _enveloped(schema: Any) -> dict | None:
    """The item an envelope holds beside other fields: its one object property named like `data`, in
    a schema with no `id` of its own (Box's collaboration has an `item`: it is the item itself);
    None for anything else."""
    props = properties_of(schema) if isinstance(schema, dict) else {}
    if "id" in props:
        return None
    found = [prop for name, prop in props.items() if name.lower() in _ITEM_FIELDS
             and isinstance(prop, dict) and properties_of(prop) and prop.get("type") in (None, "object")]
    return found[0] if len(found) == 1 else None


def _body_wrapper(body: Any, item: dict) -> str | None:
    """The property of a request body that holds the item: its only one, an object, and not a property
    of the item itself (that would be a change of that property)."""
    inner = _unwrapped(body)
    if inner is None:
        return None
    name = next(iter(properties_of(body)))
    return None if name in properties_of(item) else name


def _answer_wrapper(answer: Any, item: dict) -> str | None:
    """The property of an answer that holds the item: the one object property of the item's shape,
    when the answer is not itself of that shape (others, such as `links` or `meta`, may sit beside);
    else the one named like `data` that holds some of the item's properties and nothing else (Apideck
    answers a create with `data: {id}`)."""
    if not isinstance(answer, dict) or _same_shape(answer, item):
        return None
    objects = {name: prop for name, prop in properties_of(answer).items()
               if isinstance(prop, dict) and prop.get("type") in (None, "object") and properties_of(prop)}
    found = [name for name, prop in objects.items() if _same_shape(prop, item)]
    if not found:
        held = set(properties_of(item))
        found = [name for name, prop in objects.items() if name.lower() in _ITEM_FIELDS
                 and set(properties_of(prop)) <= held]
    return found[0] if len(found) == 1 else None


def _partial(body: Any, item: dict) -> bool:
    """Whether a request body cannot hold a whole item: it declares properties, and requires none of
    them, or not every one the item requires (those the server sets, `readOnly`, aside)."""
    declared = properties_of(body) if isinstance(body, dict) else {}
    if not declared:
        return False
    if not required_of(body):  # every field optional (Box's `PUT /webhooks/{id}`): what is sent changes
        return True
    props = properties_of(item)
    required = {name for name in required_of(item) if not (isinstance(props.get(name), dict)
                                                         and props[name].get("readOnly"))}
    return bool(required - set(declared))


def required_of(schema: dict) -> set[str]:
    """The properties an object schema requires, through `allOf`."""
    found = set(schema.get("required", ()))
    for branch in schema.get("allOf", ()):
        if isinstance(branch, dict):
            found |= required_of(branch)
    return found


def request_schema(operation: Operation, role: Role) -> dict | None:
    """The schema of what a request body says about the item: the body's, or its wrapper's property's."""
    body = operation.body_schema
    if role.body_wrapper and isinstance(body, dict):
        return properties_of(body).get(role.body_wrapper)
    return body if isinstance(body, dict) else None


def _extension(spec: Spec, path: str, method: str | None, name: str) -> Any:
    item = spec.document.get("paths", {}).get(path, {})
    if not isinstance(item, dict):
        return None
    if method is None:
        return item.get(name)
    operation = item.get(method.lower())
    return operation.get(name) if isinstance(operation, dict) else None


def _forced(spec: Spec, path: str, method: str, operation: Operation, wanted: Any, inferred: Role,
            by_path: dict[str, Collection], by_item: dict[str, Collection]) -> Role:
    where = f"{spec.source}: {method} {path}: x-mock-role"
    path = route_path(path)
    if wanted not in ROLES:
        raise InferenceError(f"{where}: {wanted!r} is not one of {', '.join(ROLES)}")
    if wanted == "other":
        return Role("other")
    collection = inferred.collection or by_item.get(path) or by_path.get(path) \
        or by_path.get("/" + "/".join(_segments(path)[:-1]))
    if collection is None:
        raise InferenceError(f"{where}: {wanted} needs a collection, and {path} belongs to none")
    if wanted == "list":
        return _list_role(operation, collection)
    if wanted == "find":
        found = _find_role(operation, collection)
        if found is None:
            raise InferenceError(f"{where}: find needs a required query or header parameter naming a property "
                                 f"of the {collection.name} items")
        return found
    return Role(wanted, collection, by_body=path == collection.path and wanted in ("replace", "merge"))


_INFERRED: dict[int, tuple[Spec, dict[str, Role]]] = {}  # id(spec) -> (spec, roles): specs live for the process


def update_mask(spec: Spec, operation: Operation) -> tuple[str, str, tuple[str, ...]] | None:
    """`x-mock-update-mask: {mask: NAME, values: NAME}` on an operation: its body names the paths to
    change (an array property) and holds their values (an object property): (mask, values, the
    paths the values object declares); None where the operation declares none."""
    rule = _extension(spec, operation.path, operation.method, "x-mock-update-mask")
    if rule is None:
        return None
    where = f"{spec.source}: {operation.method} {operation.path}: x-mock-update-mask"
    props = properties_of(operation.body_schema) if isinstance(operation.body_schema, dict) else {}
    if not isinstance(rule, dict) or set(rule) != {"mask", "values"}:
        raise InferenceError(f"{where} must be {{mask: PROPERTY, values: PROPERTY}}")
    mask, values = props.get(rule["mask"]), props.get(rule["values"])
    if not (isinstance(mask, dict) and mask.get("type") == "array"):
        raise InferenceError(f"{where}: mask {rule['mask']!r} names no array property of the body")
    if not (isinstance(values, dict) and properties_of(values)):
        raise InferenceError(f"{where}: values {rule['values']!r} names no object property of the body")
    return rule["mask"], rule["values"], tuple(properties_of(values))


def collection_named(spec: Spec, name: str) -> Collection:
    """A collection of the spec by name, with the rules its document declares (inferred once)."""
    found = _INFERRED.get(id(spec))
    if found is None or found[0] is not spec:
        found = _INFERRED[id(spec)] = (spec, infer(spec))
    for role in found[1].values():
        if role.collection is not None and role.collection.name == name:
            return role.collection
    raise InferenceError(f"{spec.source}: no collection {name!r}")


def _segments(path: str) -> list[str]:
    return [part for part in path.split("/") if part]


def _param(segment: str) -> str | None:
    found = _TEMPLATE.match(segment)
    return found.group(1) if found else None


def _last_param(item_path: str) -> str | None:
    """The parameter an item path ends with, alone (`{petId}`) or before a suffix (`{Sid}.json`)."""
    last = _segments(item_path)[-1]
    found = _TEMPLATE.match(last) or _SUFFIXED.match(last)
    return found.group(1) if found else None


def _without_suffix(segment: str, item_path: str | None) -> str:
    """A collection's last segment without the suffix its items share (`Queues.json` -> `Queues`)."""
    found = _SUFFIXED.match(_segments(item_path)[-1]) if item_path else None
    suffix = found.group(2) if found else ""
    return segment[:-len(suffix)] if suffix and segment.endswith(suffix) and segment != suffix else segment


def _collections(spec: Spec) -> list[Collection]:
    found: list[Collection] = []
    names: set[str] = set()
    candidates: dict[str, str | None] = {}  # collection path -> item path
    for path in spec.paths:
        parts = _segments(path)
        if "#" in path or len(parts) < 2 or _param(parts[-2]) or _SUFFIXED.match(parts[-2]):
            continue
        if _param(parts[-1]):
            candidates.setdefault("/" + "/".join(parts[:-1]), path)
        elif (suffixed := _SUFFIXED.match(parts[-1])) is not None:
            # `/Queues/{Sid}.json` is an item when `/Queues.json` is a path too: that is its collection
            collection = "/" + "/".join(parts[:-1]) + suffixed.group(2)
            if collection in spec.paths:
                candidates.setdefault(collection, path)
    for path, operations in spec.paths.items():  # a path that creates and lists, with no item path
        if path not in candidates and "#" not in path and "POST" in operations and "GET" in operations \
                and _array_items(_success_schema(operations["GET"])) is not None:
            candidates[path] = None
    for path, item_path in candidates.items():
        schema = _item_schema(spec, path, item_path)
        if schema is None:
            continue
        parts = _segments(path)
        key_param = _last_param(item_path) if item_path else None
        key_property = _extension(spec, path, None, "x-mock-key") or _key_property(schema, key_param)
        key_schema = (schema.get("properties", {}).get(key_property) if key_property else None) \
            or _path_param_schema(spec, item_path, key_param) or {"type": "string"}
        name = _extension(spec, path, None, "x-mock-collection") or _without_suffix(parts[-1], item_path)
        if name in names:  # two collections of the same last segment: name by the whole path
            name = "/".join(part for part in parts if not _param(part))
        names.add(name)
        scope = tuple(p for p in (_param(part) for part in parts) if p)
        unique, normalize, lookup = _rules(spec, path, properties_of(schema))
        found.append(Collection(name, path, item_path, key_param, key_property, key_schema, scope, schema,
                                unique, normalize, lookup))
    return found


def _rules(spec: Spec, path: str, props: dict) -> tuple[tuple, tuple[tuple[str, str], ...], tuple[str, ...]]:
    """`x-mock-unique` (a list of: a property name, a list of them, or `{index, properties}` to name
    the store's index), `x-mock-normalize` (property -> lowercase, uppercase or trim) and
    `x-mock-lookup` (properties an item's path parameter may name it by) on the collection's path item."""
    where = f"{spec.source}: {path}"
    unique_node = _extension(spec, path, None, "x-mock-unique") or []
    if not isinstance(unique_node, list):
        raise InferenceError(f"{where}: x-mock-unique must be a list of property names or of lists of them")
    unique = []
    for entry in unique_node:
        index = None
        if isinstance(entry, dict):
            index, entry = entry.get("index"), entry.get("properties")
        names = (entry,) if isinstance(entry, str) else tuple(entry) if isinstance(entry, list) else ()
        if not names or not all(isinstance(name, str) and name in props for name in names):
            raise InferenceError(f"{where}: x-mock-unique: {entry!r} names no property of the items "
                                 f"(they have {', '.join(sorted(props))})")
        unique.append((index if isinstance(index, str) and index else ",".join(names), names))
    normalize_node = _extension(spec, path, None, "x-mock-normalize") or {}
    if not isinstance(normalize_node, dict) or not all(
            name in props and how in NORMALIZERS for name, how in normalize_node.items()):
        raise InferenceError(f"{where}: x-mock-normalize maps item properties to one of {', '.join(NORMALIZERS)}")
    lookup_node = _extension(spec, path, None, "x-mock-lookup") or []
    if not isinstance(lookup_node, list) or not all(isinstance(name, str) and name in props for name in lookup_node):
        raise InferenceError(f"{where}: x-mock-lookup must list item properties (they have {', '.join(sorted(props))})")
    return tuple(unique), tuple(normalize_node.items()), tuple(lookup_node)


def _success(operation: Operation):
    codes = sorted(code for code in operation.responses if code.isdigit() and code.startswith("2"))
    return operation.responses[codes[0]] if codes else None


def _success_schema(operation: Operation) -> dict | None:
    response = _success(operation)
    return response.validator.schema if response is not None and response.validator is not None else None


def _array_items(schema: dict | None) -> dict | None:
    """The item schema of a list answer: an array, or an envelope with one array of items."""
    return list_array(schema)[1]


_ITEM_ARRAYS = ("data", "items", "entries", "results", "records", "values", "elements", "content", "list")


def list_array(schema: Any) -> tuple[str | None, dict | None]:
    """Where a list answer holds its items: (None, item schema) for a bare array; (property, item
    schema) for an envelope, its properties merged through `allOf` (Box, DigitalOcean), whose one array
    of objects, or the one named like `data`/`entries`/`items`, is the page; (None, None) for neither."""
    if not isinstance(schema, dict):
        return None, None
    if schema.get("type") == "array" or "items" in schema and not properties_of(schema):
        items = schema.get("items")
        return None, items if isinstance(items, dict) else None
    arrays = {name: prop["items"] for name, prop in properties_of(schema).items()
              if isinstance(prop, dict) and prop.get("type") == "array" and isinstance(prop.get("items"), dict)}
    if len(arrays) > 1:  # Box's `order` beside `entries`: arrays of objects, then the usual names
        arrays = {name: items for name, items in arrays.items() if _is_object(items)} or arrays
    if len(arrays) > 1:
        arrays = {name: items for name, items in arrays.items() if name.lower() in _ITEM_ARRAYS} or arrays
    return next(iter(arrays.items())) if len(arrays) == 1 else (None, None)


def _is_object(schema: Any) -> bool:
    return isinstance(schema, dict) and (schema.get("type") == "object" or "properties" in schema
                                         or any(k in schema for k in ("allOf", "oneOf", "anyOf")))


def _item_schema(spec: Spec, path: str, item_path: str | None) -> dict | None:
    """An item as the API answers it: the item read's answer, else what create answers or takes."""
    if item_path and "GET" in spec.paths.get(item_path, {}):
        schema = _success_schema(spec.paths[item_path]["GET"])
        if _is_object(schema):
            return _unwrapped(schema) or _enveloped(schema) or schema
    operations = spec.paths.get(path, {})
    if "POST" in operations:
        schema = _success_schema(operations["POST"])
        if _is_object(schema):
            return _unwrapped(schema) or schema
        if _is_object(operations["POST"].body_schema):
            return _unwrapped(operations["POST"].body_schema) or operations["POST"].body_schema
    if "GET" in operations:
        items = _array_items(_success_schema(operations["GET"]))
        if _is_object(items):
            return items
    return None


def properties_of(schema: dict) -> dict[str, dict]:
    """Declared properties, through allOf/oneOf/anyOf branches."""
    found = dict(schema.get("properties", {})) if isinstance(schema, dict) else {}
    for keyword in ("allOf", "oneOf", "anyOf"):
        for branch in schema.get(keyword, []) if isinstance(schema, dict) else []:
            for name, prop in properties_of(branch).items():
                found.setdefault(name, prop)
    return found


def _key_property(schema: dict, key_param: str | None) -> str | None:
    props = properties_of(schema)
    if key_param and key_param in props:
        return key_param
    if key_param and key_param.lower() in (lowered := {name.lower(): name for name in props}):
        return lowered[key_param.lower()]  # `{Sid}` -> `sid`
    if key_param:
        stem = re.sub(r"(?i)[_-]?(id|key|name|code|slug)$", "", key_param)
        suffix = key_param[len(stem):].lstrip("_-").lower()
        for name in props:  # `{petId}` -> `id`, `{userName}` -> `name`
            if suffix and name.lower() == suffix:
                return name
    return "id" if "id" in props else None


def _path_param_schema(spec: Spec, item_path: str | None, name: str | None) -> dict | None:
    if not item_path or not name:
        return None
    for operation in spec.paths.get(item_path, {}).values():
        for param in operation.parameters:
            if param.location == "path" and param.name == name:
                return param.schema
    return None


def _role(spec: Spec, path: str, method: str, operation: Operation, by_path: dict[str, Collection],
          by_item: dict[str, Collection]) -> Role:
    if path in by_item:
        collection = by_item[path]
        kind = {"GET": "read", "PUT": "replace", "PATCH": "merge", "POST": "merge", "DELETE": "delete"}.get(method)
        return Role(kind, collection) if kind else Role("other")
    if path in by_path:
        collection = by_path[path]
        if method == "POST":
            return Role("create", collection)
        if method == "GET":
            return _list_role(operation, collection)
        if method in ("PUT", "PATCH") and collection.key_property and operation.body_schema is not None:
            return Role("replace" if method == "PUT" else "merge", collection, by_body=True)
        return Role("other")
    if method == "GET":  # /pets/findByStatus: a list of the parent collection's items
        parent = "/" + "/".join(_segments(path)[:-1])
        collection = by_path.get(parent)
        items = _array_items(_success_schema(operation))
        if collection is not None and items is not None and _same_shape(items, collection.schema):
            return _list_role(operation, collection)
    if method == "GET" and not any("{" in part for part in _segments(path)) and any(
            param.required and param.location in ("query", "header") for param in operation.parameters):
        answer = _success_schema(operation)  # a find's answer: one collection's item, or it wrapped
        shaped = [collection for collection in by_item.values() if not collection.scope and _is_object(answer)
                  and properties_of(answer) and (_same_shape(answer, collection.schema)
                                                 or _answer_wrapper(answer, collection.schema))]
        found = _find_role(operation, shaped[0]) if len(shaped) == 1 else None
        if found is not None:
            return found
    return Role("other")


_NOT_NAMING = frozenset({"accept", "accept-language", "content-type", "user-agent", "authorization"})


def _find_role(operation: Operation, collection: Collection) -> Role | None:
    """A find of the collection's items by the operation's required query and header parameters: each
    that names a property (as the list's filters do), or whose example is form fields that do."""
    credentials = {(scheme.get("in"), str(scheme.get("name", "")).lower()) for _, scheme in operation.security
                   if isinstance(scheme, dict) and scheme.get("type") == "apiKey"}
    by = []
    for param in operation.parameters:
        lowered = param.name.lower()
        if not param.required or param.location not in ("query", "header") or (param.location, lowered) in \
                credentials or plain_name(param.name) in _PAGING_PLAIN or lowered in _NOT_NAMING \
                or lowered.startswith("if-"):
            continue
        if (named := named_property(collection, param.name)) is not None:
            by.append((param.location, param.name, named))
        elif any(named_property(collection, name) for name in form_fields(param.example)):
            by.append((param.location, param.name, None))
    return Role("find", collection, find_by=tuple(by)) if by else None


def named_property(collection: Collection, name: str) -> str | None:
    """The item property a parameter or field name names, however its case is written (`FriendlyName`,
    `friendly_name`); None for none."""
    return next((prop for prop in properties_of(collection.schema) if plain_name(prop) == plain_name(name)), None)


def form_fields(value: Any) -> dict[str, str]:
    """The fields of a value written as a form (`a=1&b=2`); empty for anything else."""
    if not isinstance(value, str) or "=" not in value:
        return {}
    return dict(urllib.parse.parse_qsl(value, keep_blank_values=True))


def _same_shape(one: dict, other: dict) -> bool:
    return one is other or set(properties_of(one)) == set(properties_of(other))  # (`==` would walk them whole)


def plain_name(name: str) -> str:
    """A name without case or separators (`FriendlyName`, `friendly_name` -> `friendlyname`)."""
    return name.replace("_", "").replace("-", "").lower()


_PAGING_PLAIN = frozenset(plain_name(name) for name in (*LIMIT_NAMES, *OFFSET_NAMES, *PAGE_NAMES, *CURSOR_NAMES,
                                                     *BEFORE_NAMES, *ORDER_NAMES))


# On a query parameter's schema: how its filter compares. `contains`: the property holds the value,
# ignoring case (SQL's `ILIKE '%value%'`); without it, equality.
MATCH = "x-mock-match"
MATCHES = ("contains",)


def _list_role(operation: Operation, collection: Collection) -> Role:
    props = properties_of(collection.schema)
    lowered = {name.lower(): name for name in props}
    plain = {plain_name(name): name for name in props}
    filters, paging = [], {}
    for param in operation.parameters:
        if param.location != "query":
            continue
        if param.schema.get(MATCH, MATCHES[0]) not in MATCHES:
            raise InferenceError(f"{operation.method} {operation.path}: parameter {param.name}: {MATCH} must be "
                                 f"one of {', '.join(MATCHES)}")
        name = param.name.lower()
        if name in lowered:
            filters.append((param.name, lowered[name]))
        elif name in LIMIT_NAMES:
            paging.setdefault("limit", param.name)
        elif name in OFFSET_NAMES:
            paging.setdefault("offset", param.name)
        elif name in PAGE_NAMES:
            paging.setdefault("page", param.name)
            paging["page_base"] = 0 if param.schema.get("minimum") == 0 else 1
        elif name in CURSOR_NAMES:
            paging.setdefault("cursor", param.name)
        elif name in BEFORE_NAMES:
            paging.setdefault("before", param.name)
        elif name in ORDER_NAMES and {"asc", "desc"} <= set(param.schema.get("enum", ())):
            paging.setdefault("order", param.name)
            paging["descending"] = param.schema.get("default") == "desc"
        elif name.rstrip("s") in lowered:  # `tags` -> `tag`, `statuses` -> `status`
            filters.append((param.name, lowered[name.rstrip("s")]))
        elif plain_name(name) in plain and plain_name(name) not in _PAGING_PLAIN:  # Twilio's `FriendlyName`
            filters.append((param.name, plain[plain_name(name)]))
    return Role("list", collection, tuple(filters), Paging(**paging))


def defaults(schema: dict, *path: str) -> dict[str, Any]:
    """The `default` of each property of the object at `path` (property names) in the schema: what
    the document says a new item holds where nothing else sets it."""
    for name in path:
        schema = properties_of(schema).get(name, {})
    return {name: prop["default"] for name, prop in properties_of(schema).items()
            if isinstance(prop, dict) and "default" in prop}


_NOT_SCHEMAS = frozenset({"enum", "const", "default", "example", "examples"})  # values, not subschemas
_NAMED = frozenset({"properties", "patternProperties", "$defs", "dependentSchemas"})  # name -> subschema


def without_required(schema: Any) -> Any:
    """The schema with every `required` dropped, at every depth: what an imported object may omit."""
    if isinstance(schema, list):
        return [without_required(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    kept = {}
    for key, value in schema.items():
        if key == "required" and isinstance(value, list):
            continue
        if key in _NAMED and isinstance(value, dict):
            kept[key] = {name: without_required(sub) for name, sub in value.items()}
        else:
            kept[key] = value if key in _NOT_SCHEMAS else without_required(value)
    return kept
