"""OpenAPI loading: read a document once (YAML or JSON, OpenAPI 3.0 or 3.1), inline its `$ref`s (inside
the file and to relative files), translate 3.0 schemas to JSON Schema 2020-12, and compile one validator
per request body media type, parameter and response, keyed by operationId. Nothing here knows a vendor.

Resolved nodes are shared between the places that refer to them: treat every schema as read-only."""

from __future__ import annotations

import functools
import json
import logging
import re
from dataclasses import field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

from mockserver import ecma, formats, speccache
from mockserver.coercion import MODES
from mockserver.discriminator import DISCRIMINATOR
from mockserver.errors import MISSING
from mockserver.fastschema import FastValidator, check_schema, compile_check, forget, meta_check, remembering
from mockserver.generate import CUT
from mockserver.records import dataclass

if TYPE_CHECKING:
    from jsonschema import Draft202012Validator

# `x-mock-coerce-types` (document or operation): request values are coerced as ajv's `coerceTypes`
# does (true: scalars; "array": scalars and arrays) before they are validated; see coercion.py.
COERCE_TYPES = "x-mock-coerce-types"
METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
_INT_RANGES = {"int32": (-(2**31), 2**31 - 1), "int64": (-(2**63), 2**63 - 1)}


def _int_range(name: str):
    """OpenAPI's `int32`/`int64`: an integer within the format's range (other types pass)."""
    low, high = _INT_RANGES[name]

    def check(instance: Any) -> bool:
        if isinstance(instance, bool) or not isinstance(instance, (int, float)):
            return True
        return low <= instance <= high

    return check


@functools.cache
def format_checker() -> Any:
    """Requests' and answers' format checker: every 2020-12 format (formats.py), and OpenAPI's
    int32/int64. Built when a value first needs it: jsonschema and the format packages are imported
    then (a valid canonical id or time never needs them), not at start-up."""
    from jsonschema import FormatChecker

    checker = FormatChecker()
    checker.checkers = dict(formats.format_checker().checkers)
    for name in _INT_RANGES:
        checker.checks(name)(_int_range(name))
    return checker


def __getattr__(name: str) -> Any:
    if name == "_FORMATS":  # the checker by its former name (tests read it)
        return format_checker()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class SpecError(Exception):
    """The spec cannot be served: raised at start-up, naming the file and the place."""


@dataclass(frozen=True)
class Parameter:
    name: str
    location: str  # "path", "query", "header" or "cookie"
    required: bool
    schema: dict
    validator: Draft202012Validator
    style: str | None = None  # as written; None: the location's default
    explode: bool | None = None
    media: str | None = None  # given by `content` instead of `schema`: the value is text of this type
    example: Any = None  # the parameter's `example`, else its schema's (None: neither)


@dataclass(frozen=True)
class MediaSpec:
    """One media type of a request or response body: its 2020-12 schema and compiled validator."""

    media_type: str  # lower case, without parameters: "application/json", "multipart/form-data"
    schema: dict
    validator: Draft202012Validator
    encoding: dict = field(default_factory=dict)  # property -> OpenAPI Encoding object (resolved)
    example: Any = MISSING  # the media type's `example`, MISSING when absent
    examples: dict = field(default_factory=dict)  # name -> OpenAPI Example object (`value`, `summary`...)


@dataclass(frozen=True)
class ResponseSpec:
    status: str  # "201", "4XX" or "default"
    media_type: str | None  # None: no body; with several, a JSON one (application/json, then +json)
    validator: Draft202012Validator | None
    headers: dict = field(default_factory=dict)  # name -> OpenAPI Header object (resolved, 2020-12 schema)
    schema: dict | None = None  # the chosen media type's schema (2020-12)
    example: Any = MISSING  # the chosen media type's `example`, MISSING when absent
    examples: dict = field(default_factory=dict)  # the chosen media type's `examples`
    media: dict[str, MediaSpec] = field(default_factory=dict)  # every documented media type


@dataclass(frozen=True)
class Operation:
    vendor: str
    operation_id: str
    method: str  # upper case
    path: str  # as written in the spec, e.g. /v1/projects/{id}
    security: tuple[tuple[str, dict], ...]  # alternatives: (scheme name, scheme); empty: no auth
    parameters: tuple[Parameter, ...]
    body_schema: dict | None
    body_validator: Draft202012Validator | None
    body_required: bool
    responses: dict[str, ResponseSpec]
    body_media: dict[str, MediaSpec] = field(default_factory=dict)  # every request media type declared
    anonymous: bool = False  # a security requirement is `{}` (or only mutualTLS): no credential is fine
    synthesized_id: bool = False  # the document gave no operationId: `operation_id` is made up
    coerce_types: bool | str = False  # `x-mock-coerce-types`: False, True or "array" (see coercion.py)
    # The scheme names of each security requirement that names several (all of them are needed
    # together: Plaid's client id, secret and version headers); empty when each names one.
    together: tuple[tuple[str, ...], ...] = ()

    def response(self, status: int) -> ResponseSpec | None:
        """The documented response for a status: exact, then range (`4XX`), then `default`."""
        return (
            self.responses.get(str(status))
            or self.responses.get(f"{status // 100}XX")
            or self.responses.get("default")
        )

    def error_statuses(self) -> list[int]:
        return sorted(int(code) for code in self.responses if code.isdigit() and int(code) >= 400)

    def documents_error(self, status: int) -> bool:
        """Whether an error status is documented: by itself, by its range (`5XX`) or by `default`."""
        return 400 <= status <= 599 and (str(status) in self.responses or f"{status // 100}XX" in self.responses
                                         or "default" in self.responses)


@dataclass(frozen=True)
class Spec:
    vendor: str
    source: Path
    document: dict  # the spec as written (keys as strings), for serving
    server_url: str
    server_path: str  # the path part of the first server URL: the mount prefix
    operations: dict[str, Operation]  # by operationId
    paths: dict[str, dict[str, Operation]]  # spec path -> METHOD -> operation
    version: str = "3.1"  # "3.0" or "3.1": the document's OpenAPI version
    schemas: dict[str, Any] = field(default_factory=dict)  # components.schemas, resolved, 2020-12
    bundled: dict | None = None  # what to serve when the document refers to other files: all inlined
    faults: tuple[str, ...] = ()  # metaschema faults a lenient load repaired, one line each

    @functools.cached_property
    def base_path(self) -> str:
        """Where the API lives, for requests no operation matches: its server's path (`/api`), or for
        an API served at the root, the first segment all its paths share (`/v1`); "" if none is shared."""
        if self.server_path:
            return self.server_path
        firsts = {route_path(path).split("/")[1] for path in self.paths if path.count("/") >= 1}
        first = next(iter(firsts), "") if len(firsts) == 1 else ""
        return f"/{first}" if first and "{" not in first else ""

    @functools.cached_property
    def routes(self) -> dict[str, dict[str, tuple[Operation, ...]]]:
        """URL (a spec path without its `#fragment`) -> METHOD -> the operations a request there may
        mean: the plain path's first, then its `#fragment` paths' in the document's order."""
        found: dict[str, dict[str, list[Operation]]] = {}
        for path, operations in sorted(self.paths.items(), key=lambda pair: "#" in pair[0]):  # stable
            for method, operation in operations.items():
                found.setdefault(route_path(path), {}).setdefault(method, []).append(operation)
        return {url: {method: tuple(each) for method, each in methods.items()} for url, methods in found.items()}

    def owns(self, path: str) -> bool:
        """Whether a request path is under `base_path` (and so gets this API's own 404)."""
        base = self.base_path
        return bool(base) and (path == base or path.startswith(base + "/"))


# Inlined `$ref`s repeat the same schema (an error shape, the project) across operations, and the
# metaschema check dominates start-up: each distinct schema is checked and compiled once per process.
# The key is the repr: the same keys in the same order (error order follows it), the same types.
_CHECKED: dict[str, FastValidator] = {}
_COMPILED: dict[str, Any] = {}
_VALIDATORS: dict[str, Draft202012Validator] = {}
_SAME: dict[int, tuple[dict, FastValidator]] = {}  # id -> (the schema, kept alive; its validator): no repr


def compile_schema(schema: dict, where: str, faults: list[str] | None = None,
                   checked: bool = False) -> Draft202012Validator:
    """The schema's validator. A schema the 2020-12 metaschema refuses is a SpecError now, at load time,
    or with `faults` (a lenient load) it is repaired (see `_repair`) and each fault is added to `faults`.
    The validator and its compiled check are built on first use (`_build_validator`), which cannot fail.
    `checked`: the schema is a node of a loaded spec's schema, which passed the metaschema with every
    subschema in it (a cached spec passed it when it was loaded), so it is not checked again: a
    vendor's inference at start-up then needs neither the metaschema nor jsonschema."""
    same = _SAME.get(id(schema))
    if same is not None and same[0] is schema:  # the very node again (a $ref many operations share)
        return same[1]
    key = repr(schema)
    found = _CHECKED.get(key)
    if found is not None:
        _SAME[id(schema)] = (schema, found)
        return found
    if checked:
        found = _CHECKED[key] = FastValidator.lazy(schema, _build_check, _build_validator)
        return found
    meta = meta_check()
    if meta is None or not meta(schema):  # the compiled metaschema passes the usual schema: once, not again below
        repaired = _repair(schema) if faults is not None else []
        if repaired:
            forget()  # the verdicts on the repaired nodes (and those holding them) were remembered before
            faults.extend(f"{where}: #{fault}" for fault in repaired)
        try:
            check_schema(schema)  # jsonschema's metaschema check, compiled for the usual valid case
        except Exception as error:
            from jsonschema.exceptions import SchemaError

            if not isinstance(error, SchemaError):
                raise
            raise SpecError(f"{where}: invalid schema: {error.message}") from None
    found = _CHECKED[key] = FastValidator.lazy(schema, _build_check, _build_validator)
    _SAME[id(schema)] = (schema, found)
    return found


def _build_check(schema: dict) -> Any:
    """A checked schema's compiled check (None: jsonschema answers alone). It answers for valid
    instances without jsonschema; jsonschema still produces every error (`_build_validator`)."""
    key = repr(schema)
    found = _COMPILED.get(key)
    if found is None:
        try:
            found = compile_check(discriminated(schema), format_checker)
        except Exception:  # never expected (the schema passed the metaschema); jsonschema then answers alone
            found = None
        _COMPILED[key] = found
    return found


def _build_validator(schema: dict) -> Draft202012Validator:
    """A checked schema's jsonschema validator: `ecma.Validator`, jsonschema's 2020-12 with ECMA-262
    patterns (`$` is the end of the text)."""
    key = repr(schema)
    found = _VALIDATORS.get(key)
    if found is None:
        found = _VALIDATORS[key] = ecma.validator_class()(discriminated(schema), format_checker=format_checker())
    return found


_SUBSCHEMA = ("items", "additionalProperties", "not", "if", "then", "else", "contains", "propertyNames",
              "unevaluatedItems", "unevaluatedProperties", "additionalItems", "contentSchema")
_SUBSCHEMA_LISTS = ("allOf", "anyOf", "oneOf", "prefixItems")
_SUBSCHEMA_MAPS = ("properties", "patternProperties", "$defs", "definitions", "dependentSchemas")


def _repair(schema: Any, pointer: str = "", depth: int = 0) -> list[str]:
    """Make a schema the metaschema refuses one it accepts, in place, and say what was wrong (each
    fault as `/pointer/keyword: message`): a list that must be unique (`required`, `enum`) loses its
    repeats; any other faulty keyword is left out (2019-09's `$recursiveAnchor: true`, a `type` no
    draft knows), as if the document had not written it. In place: the nodes are the ones every
    operation that refers to them shares, so each fault is repaired, and said, once.

    The faulty nodes are found with the compiled metaschema check, descending into the subschemas
    that fail it; jsonschema's own (slow on a large schema) only says what is wrong with one node,
    its subschemas left out."""
    check = meta_check()
    if check is None or check(schema) or not isinstance(schema, dict) or depth > 64:
        return []
    faults: list[str] = []
    for key, value in list(schema.items()):
        if key in _SUBSCHEMA:
            faults += _repair(value, f"{pointer}/{key}", depth + 1)
        elif key in _SUBSCHEMA_LISTS and isinstance(value, list):
            for index, item in enumerate(value):
                faults += _repair(item, f"{pointer}/{key}/{index}", depth + 1)
        elif key in _SUBSCHEMA_MAPS and isinstance(value, dict):
            for name, item in value.items():
                faults += _repair(item, f"{pointer}/{key}/{_escape(str(name))}", depth + 1)
    if check(schema):
        return faults
    shallow = {key: (True if key in _SUBSCHEMA else [True] * len(value) if key in _SUBSCHEMA_LISTS and isinstance(
        value, list) else dict.fromkeys(value, True) if key in _SUBSCHEMA_MAPS and isinstance(value, dict) else value)
        for key, value in schema.items()}
    from jsonschema import Draft202012Validator

    meta = Draft202012Validator(Draft202012Validator.META_SCHEMA, format_checker=Draft202012Validator.FORMAT_CHECKER)
    for error in sorted(meta.iter_errors(shallow), key=lambda e: [str(part) for part in e.path], reverse=True):
        place = list(error.path)
        if not place or place[0] not in schema:
            continue
        parent: Any = schema
        try:
            for part in place[:-1]:
                parent = parent[part]
            value = parent[place[-1]]
        except (KeyError, IndexError, TypeError):
            continue  # under a keyword already left out
        where = pointer + "".join("/" + _escape(str(part)) for part in place)
        if error.validator == "uniqueItems" and isinstance(value, list):
            parent[place[-1]] = [item for index, item in enumerate(value) if item not in value[:index]]
            faults.append(f"{where}: {error.message} (repeats ignored)")
        else:
            del parent[place[-1]]
            faults.append(f"{where}: {error.message} (ignored)")
    return faults


# DISCRIMINATOR: set by the loader on a schema with a discriminator, {property, branches: [[values], ...]}
# and either `of` (oneOf/anyOf: the branches are that list's) or `subtypes` (a base schema that other
# schemas extend through allOf). Defined in `generate`, which generates values for it.


def discriminated(schema: Any, done: dict | None = None) -> Any:
    """The schema with OpenAPI's `discriminator` as JSON Schema, for validation: the property, when
    present, names one of the branches (by `mapping`, else by the schema's name), and the value must
    match that branch. A plain `oneOf` would refuse a value two open branches both accept, and accept
    one whose discriminator names no branch. Without the property, the `oneOf`/`anyOf` decides."""
    done = {} if done is None else done
    if isinstance(schema, list):
        return [discriminated(item, done) for item in schema]
    if not isinstance(schema, dict):
        return schema
    if id(schema) in done:
        return done[id(schema)]
    out = {key: discriminated(value, done) if key not in ("enum", "const", "default", "example", "examples")
           else value for key, value in schema.items() if key != DISCRIMINATOR}
    rule = schema.get(DISCRIMINATOR)
    branches, absent = None, {}
    if isinstance(rule, dict) and isinstance(out.get(rule.get("of")), list):
        branches = out.pop(rule["of"])
        out["anyOf"] = branches
        absent = {rule["of"]: branches}
    elif isinstance(rule, dict) and isinstance(rule.get("subtypes"), list):
        # a base schema (allOf inheritance): the value is the base and the subtype its property names
        branches = [discriminated(subtype, done) for subtype in rule["subtypes"]]
    if branches is not None:
        prop = rule["property"]
        keyed = [(value, branch) for values, branch in zip(rule["branches"], branches, strict=False)
                 for value in values]
        # without the property (a branch may leave it optional: OpenAI's item reference), the value is
        # checked as the document's oneOf/anyOf says, as a reader that knows no discriminator would
        out["allOf"] = [*out.get("allOf", []),
                        {"if": {"required": [prop]}, "then": {"properties": {prop: {"enum": [
                            value for value, _ in keyed]}}}, "else": absent},
                        *({"if": {"required": [prop], "properties": {prop: {"const": value}}}, "then": branch}
                          for value, branch in keyed)]
    done[id(schema)] = out
    return out


_NARROWED: dict[tuple[int, str], tuple[dict, dict]] = {}  # (id(schema), name) -> (schema kept alive, narrowed)


def subtype(schema: Any, value: Any) -> dict | None:
    """For a base schema whose discriminator names the schemas that extend it (allOf inheritance):
    the one the value's property names (as the loader expanded it, see `_Resolver`); else None."""
    note = schema.get(DISCRIMINATOR) if isinstance(schema, dict) else None
    if not isinstance(note, dict) or "subtypes" not in note or not isinstance(value, dict):
        return None
    name = value.get(note["property"])
    return next((sub for names, sub in zip(note["branches"], note["subtypes"], strict=False) if name in names), None)


def narrowed(schema: Any, value: Any) -> Any:
    """A base schema (allOf inheritance) with only the subtype the value's discriminator names, so that
    a value generated for it is of that subtype; any other schema as it is."""
    chosen = subtype(schema, value)
    if chosen is None or not isinstance(value.get(schema[DISCRIMINATOR]["property"]), str):
        return schema
    name = value[schema[DISCRIMINATOR]["property"]]
    found = _NARROWED.get((id(schema), name))
    if found is None or found[0] is not schema:
        note = {**schema[DISCRIMINATOR], "branches": [[name]], "subtypes": [chosen], "mapped": 0}
        found = _NARROWED[id(schema), name] = (schema, {**schema, DISCRIMINATOR: note})
    return found[1]


def specs_dir() -> Path:
    """Where the bundled OpenAPI files are: inside an installed package, or at the repository's root."""
    packaged = Path(__file__).parent / "openapi"
    return packaged if packaged.is_dir() else Path(__file__).parent.parent / "openapi"


def route_path(path: str) -> str:
    """The URL a spec path serves: without a `#fragment`, which HTTP never sends (`/files/{id}#add_link`
    is another operation on `/files/{id}`, told apart by its request; see `pipeline.choose`).

    >>> route_path("/files/{file_id}#add_shared_link")
    '/files/{file_id}'
    """
    return path.partition("#")[0]


def flask_rule(path: str) -> str:
    """Turn an OpenAPI path into a Flask rule.

    >>> flask_rule("/v1/projects/{projectIdOrName}")
    '/v1/projects/<projectIdOrName>'
    >>> flask_rule("/a/{id}/{pet-id}/{id}")
    '/a/<id>/<_p1>/<_p2>'
    """
    names = iter(flask_name for flask_name, _ in path_variables(path))
    return re.sub(r"\{([^}/]+)\}", lambda _: f"<{next(names)}>", path)


_VARIABLE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@functools.lru_cache(maxsize=4096)
def path_variables(path: str) -> tuple[tuple[str, str], ...]:
    """(routing variable, parameter name) of each template of a path. A name the router cannot take
    (`pet-id`, a name used twice) gets a positional one (`_p1`)."""
    found, seen = [], set()
    for index, name in enumerate(re.findall(r"\{([^}/]+)\}", path)):
        usable = _VARIABLE.fullmatch(name) and name not in seen and not name.startswith("_p")
        found.append((name if usable else f"_p{index}", name))
        seen.add(name)
    return tuple(found)


def is_json_media(media_type: str) -> bool:
    """application/json or any `+json` type (problem+json, vnd.api+json), parameters ignored."""
    base = media_type.split(";", 1)[0].strip().lower()
    return base == "application/json" or (base.startswith("application/") and base.endswith("+json"))


def load_spec(path: Path, vendor: str, strict: bool = True) -> Spec:
    """The document, loaded. `strict`: a schema the 2020-12 metaschema refuses stops the load; else
    (`--spec` without `--strict-spec`) it is repaired and each fault is one warning line (logged, and
    kept in `Spec.faults`). A document that cannot be used (unparsable, no paths, a broken `$ref`)
    stops the load either way."""
    path = Path(path)
    try:
        stat = path.stat()
    except OSError as error:
        raise SpecError(f"{path}: cannot read the spec: {error.strerror}") from None
    spec = _load_spec(path, vendor, stat.st_mtime_ns, stat.st_size, strict)
    for fault in spec.faults:
        logging.getLogger("mockserver").warning("%s", fault)
    return spec


@functools.lru_cache(maxsize=32)
def _load_spec(path: Path, vendor: str, _mtime_ns: int, _size: int, strict: bool = True) -> Spec:
    # Cached per file version (of the root document): every app of the process shares one immutable spec;
    # across processes, by content (speccache: the loaded spec, read back instead of built again).
    data = _read_bytes(path)
    names = (str(path), str(path.resolve()), vendor, "strict" if strict else "lenient")
    with remembering():  # the metaschema's verdicts on shared subschemas, for this load
        return speccache.cached(data, names, lambda: _build_spec(path, vendor, data, strict))


def _build_spec(path: Path, vendor: str, data: bytes, strict: bool) -> tuple[Spec, dict[str, str]]:
    """The spec, and the other files it was read from ({path: digest of their bytes})."""
    document = _read_document(path, data)
    if not isinstance(document, dict):
        raise SpecError(f"{path}: not an OpenAPI document (the top level is not a mapping)")
    version = _version(document, path)
    resolver = _Resolver(path, document)
    resolved = resolver.resolve_root()
    # A 3.1 document keeps its own dialect, except for 3.0 keywords its author kept writing, read as
    # meant: a boolean `exclusiveMinimum` (2020-12 would refuse the schema) and `nullable: true` (2020-12
    # ignores it: a null the API takes would be refused; OpenAI's document writes it everywhere).
    translate = _From30()
    server_url = _server_url(resolved.get("servers"), path)
    server_path = urlsplit(server_url).path.rstrip("/") if "://" in server_url else server_url.rstrip("/")
    if server_path and not server_path.startswith("/"):
        server_path = "/" + server_path
    schemes = _mapping(_mapping(resolved.get("components")).get("securitySchemes"))
    default_security = resolved.get("security") or []
    default_coercion = _coercion(resolved.get(COERCE_TYPES, False), f"{path}: {COERCE_TYPES}")
    paths_node = _mapping(resolved.get("paths"))
    declared = {item[m]["operationId"] for item in paths_node.values() if isinstance(item, dict)
                for m in METHODS if isinstance(item.get(m), dict) and isinstance(item[m].get("operationId"), str)}
    operations: dict[str, Operation] = {}
    paths: dict[str, dict[str, Operation]] = {}
    faults: list[str] | None = None if strict else []
    for spec_path, item in paths_node.items():
        if not spec_path.startswith("/") or not isinstance(item, dict):
            continue  # `x-` extensions of the Paths object
        shared_params = item.get("parameters") or []
        for method in METHODS:
            raw = item.get(method)
            if not isinstance(raw, dict):
                continue
            where = f"{path}: {method.upper()} {spec_path}"
            op_id = raw.get("operationId")
            if op_id is not None and not isinstance(op_id, str):
                raise SpecError(f"{where}: operationId must be a string, not {op_id!r}")
            synthesized = not op_id
            if synthesized:
                op_id = _synthesize_id(method, spec_path, declared | set(operations))
            elif op_id in operations:
                raise SpecError(f"{where}: operationId {op_id!r} is used twice")
            security = raw["security"] if "security" in raw else default_security
            operation = _operation(vendor, str(op_id), method, spec_path, raw, shared_params, security or [],
                                   schemes, where, translate, synthesized,
                                   _coercion(raw.get(COERCE_TYPES, default_coercion), f"{where}: {COERCE_TYPES}"),
                                   faults)
            operations[operation.operation_id] = operation
            paths.setdefault(spec_path, {})[method.upper()] = operation
    components = _mapping(_mapping(resolved.get("components")).get("schemas"))
    schemas = {name: translate(schema) for name, schema in components.items()}
    # A document that refers to other files is served whole: its references inlined, so a client of
    # /__mock/openapi/NAME.yaml needs none of the files beside it.
    bundled = _without_notes(resolved, {}) if _external_refs(document) else None
    if bundled is None:
        _serve_mappings(resolver.mappings)
    if faults is not None and resolver.unnamed:
        first, count = next(iter(resolver.unnamed)), len(resolver.unnamed)
        faults.append(f"{first}: a discriminator whose branches pin the property to other values than their names "
                      "(mapping keys, else schema names): requests take either, answers only the names, and the "
                      "served document gives the mapping" + (f" (and {count - 1} more places)" if count > 1 else ""))
    return (Spec(vendor, path, document, server_url, server_path, operations, paths, version, schemas, bundled,
                 _one_line_each(faults or [])), resolver.digests)


def _one_line_each(faults: list[str]) -> tuple[str, ...]:
    """One line per fault: a schema inlined in many places (a component) is named where first met."""
    lines: dict[str, list[str]] = {}
    for fault in faults:
        # the same keyword and value (a recursive schema is expanded more than once) is one fault
        lines.setdefault(fault.rpartition(": #/")[2].rpartition("/")[2], []).append(fault)
    return tuple(found[0] + (f" (and {len(found) - 1} more places)" if len(found) > 1 else "")
                 for found in lines.values())


def _without_notes(node: Any, done: dict) -> Any:
    """The resolved document without the loader's own notes (`x-mock-discriminator`, `x-mock-recursion`),
    as it is served."""
    if isinstance(node, list):
        return [_without_notes(item, done) for item in node]
    if not isinstance(node, dict):
        return node
    if id(node) not in done:
        done[id(node)] = {key: _without_notes(value, done) for key, value in node.items()
                          if key not in (DISCRIMINATOR, CUT)}
    return done[id(node)]


def _external_refs(node: Any) -> bool:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and not ref.startswith("#"):
            return True
        return any(_external_refs(value) for value in node.values())
    if isinstance(node, list):
        return any(_external_refs(value) for value in node)
    return False


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as error:
        raise SpecError(f"{path}: cannot read the spec: {error.strerror}") from None


def _read_document(path: Path, data: bytes) -> Any:
    """A YAML or JSON file, keys as strings, dates as ISO strings. JSON is read as JSON first (YAML
    refuses the tabs JSON allows)."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise SpecError(f"{path}: cannot parse the spec: not UTF-8 text ({error.reason})") from None
    if text.lstrip().startswith(("{", "[")):
        try:
            return json.loads(text)
        except ValueError:
            pass  # YAML flow style is a superset: let YAML say what is wrong
    import yaml  # here: a start whose documents are all cached (speccache) reads no YAML

    from mockserver import yamltext

    try:
        return yamltext.load(text)
    except (yaml.YAMLError, RecursionError) as error:
        detail = " ".join(str(error).split())
        raise SpecError(f"{path}: cannot parse the spec: {detail}") from None


def _version(document: dict, path: Path) -> str:
    if "swagger" in document:
        raise SpecError(f"{path}: Swagger {document['swagger']} (OpenAPI 2.0) is not supported: "
                        "convert it to OpenAPI 3 (for example with swagger2openapi)")
    declared = str(document.get("openapi", ""))
    if re.match(r"3\.0(\.\d+)?(-.*)?$", declared):
        return "3.0"
    if re.match(r"3\.1(\.\d+)?(-.*)?$", declared):
        return "3.1"
    found = f"openapi: {declared}" if declared else "no `openapi` field"
    raise SpecError(f"{path}: not an OpenAPI 3.0 or 3.1 document ({found})")


def _mapping(node: Any) -> dict:
    return node if isinstance(node, dict) else {}


def _server_url(servers: Any, path: Path) -> str:
    """The first server's URL with each `{variable}` replaced by its default; none: `/`."""
    if not isinstance(servers, list) or not servers or not isinstance(servers[0], dict):
        return "/"
    first = servers[0]
    url = str(first.get("url") or "/")
    variables = _mapping(first.get("variables"))

    def default(match: re.Match) -> str:
        variable = _mapping(variables.get(match.group(1)))
        if "default" not in variable:
            raise SpecError(f"{path}: servers[0]: the variable {{{match.group(1)}}} has no default")
        return str(variable["default"])

    return re.sub(r"\{([^{}]+)\}", default, url)


def _synthesize_id(method: str, spec_path: str, taken: set[str]) -> str:
    """`get /pets/{petId}` -> `getPetsPetId`; a number is added while the name is taken."""
    words = [word for word in re.split(r"[^A-Za-z0-9]+", spec_path) if word]
    base = method + "".join(word[0].upper() + word[1:] for word in words) if words else method + "Root"
    name, number = base, 2
    while name in taken:
        name, number = f"{base}{number}", number + 1
    return name


def _coercion(value: Any, where: str) -> bool | str:
    if value is False or value in MODES:
        return value
    raise SpecError(f"{where}: must be false, true or \"array\" (ajv's coerceTypes), not {value!r}")


def _operation(vendor, op_id, method, spec_path, raw, shared_params, security, schemes, where, translate,
               synthesized, coerce_types: bool | str = False, faults: list[str] | None = None) -> Operation:
    alternatives = []
    anonymous = False
    together = []
    if not isinstance(security, list):
        raise SpecError(f"{where}: security must be a list of requirements")
    for requirement in security:
        if not isinstance(requirement, dict):
            raise SpecError(f"{where}: a security requirement must be a mapping of scheme names, not {requirement!r}")
        names = [name for name in requirement if name in schemes]
        for name in requirement:
            if name not in schemes:  # a slip of the document's: that requirement cannot be checked
                logging.getLogger("mockserver").warning("%s: unknown security scheme %r is ignored", where, name)
        kept = [name for name in names if _mapping(schemes[name]).get("type") != "mutualTLS"]
        if not kept:
            anonymous = True  # `{}`, or only a TLS client certificate: a mock over HTTP asks for nothing
        for name in kept:
            scheme = schemes[name]
            if not isinstance(scheme, dict) or "type" not in scheme:
                raise SpecError(f"{where}: security scheme {name!r} has no type")
            if (name, scheme) not in alternatives:
                alternatives.append((name, scheme))
        together.append(tuple(kept))
    if anonymous and not alternatives:
        anonymous = False  # no credential at all: `security` is empty, which already means no auth
    by_key = {}
    own_params = raw.get("parameters") or []
    if not isinstance(shared_params, list) or not isinstance(own_params, list):
        raise SpecError(f"{where}: parameters must be a list")
    for param in [*shared_params, *own_params]:
        if not isinstance(param, dict) or not isinstance(param.get("name"), str) \
                or param.get("in") not in ("path", "query", "header", "cookie"):
            raise SpecError(f"{where}: a parameter needs a `name` and an `in` (path, query, header or cookie)")
        by_key[(param["in"], param["name"])] = param
    parameters = tuple(_parameter(param, where, translate, faults) for param in by_key.values())
    body_media: dict[str, MediaSpec] = {}
    body = raw.get("requestBody")
    if isinstance(body, dict):
        body_media = _media(body.get("content"), f"{where} request body", lambda schema: _as_request(
            translate(schema), translate.requests), faults)
    chosen = _pick_body(body_media)
    responses = {}
    for status, response in _mapping(raw.get("responses")).items():
        if not isinstance(response, dict) or str(status).startswith("x-"):
            continue
        status = str(status).upper() if re.fullmatch(r"[1-5]xx", str(status), re.IGNORECASE) else str(status)
        media = _media(response.get("content"), f"{where} response {status}", translate, faults)
        picked = _pick_response(media)
        headers = {name: _header(header, translate) for name, header in _mapping(response.get("headers")).items()
                   if name.lower() != "content-type"}  # OpenAPI: a Content-Type header is ignored
        responses[status] = ResponseSpec(
            status, picked.media_type if picked else None, picked.validator if picked else None, headers,
            picked.schema if picked else None, picked.example if picked else MISSING,
            picked.examples if picked else {}, media)
    return Operation(vendor, op_id, method.upper(), spec_path, tuple(alternatives), parameters,
                     chosen.schema if chosen else None, chosen.validator if chosen else None,
                     bool(isinstance(body, dict) and body.get("required")) and chosen is not None, responses,
                     body_media, anonymous, synthesized, coerce_types,
                     tuple(names for names in together if names) if any(len(names) > 1 for names in together)
                     else ())


def _parameter(param: dict, where: str, translate, faults: list[str] | None = None) -> Parameter:
    schema, media = param.get("schema"), None
    if schema is None and isinstance(param.get("content"), dict) and param["content"]:
        media = next(iter(param["content"]))
        schema = _mapping(param["content"][media]).get("schema")
    schema = translate(schema if schema is not None else {})
    validator = compile_schema(schema, f"{where} parameter {param['name']}", faults)
    required = bool(param.get("required", param["in"] == "path"))
    explode = param.get("explode")
    example = param.get("example", schema.get("example") if isinstance(schema, dict) else None)
    return Parameter(param["name"], param["in"], required, schema, validator, param.get("style"),
                     explode if isinstance(explode, bool) else None, media, example)


def _header(header: Any, translate) -> dict:
    header = _mapping(header)
    if "schema" in header:
        return {**header, "schema": translate(header["schema"])}
    return header


def _media(content: Any, where: str, translate, faults: list[str] | None = None) -> dict[str, MediaSpec]:
    found: dict[str, MediaSpec] = {}
    for media_type, media in _mapping(content).items():
        media = _mapping(media)
        key = media_type.split(";", 1)[0].strip().lower()
        schema = translate(media["schema"]) if "schema" in media else {}
        validator = compile_schema(schema, f"{where} {key}", faults)
        examples = _mapping(media.get("examples"))
        found.setdefault(key, MediaSpec(key, schema, validator, _mapping(media.get("encoding")),
                                        media.get("example", MISSING), examples))
    return found


def _as_request(schema: Any, done: dict[int, Any], inherited: frozenset[str] = frozenset()) -> Any:
    """A request body's schema: a `readOnly` property the server sets is not required of the client
    (OpenAPI: its `required` applies to answers only; Apideck's `id`). Unchanged parts are the same
    objects, so their compiled checks are shared. `inherited`: read-only names of the object an
    `allOf` branch belongs to."""
    if isinstance(schema, list):
        items = [_as_request(item, done) for item in schema]
        return schema if all(new is old for new, old in zip(items, schema, strict=True)) else items
    if not isinstance(schema, dict):
        return schema
    key = (id(schema), inherited)
    if key in done:
        return done[key]
    done[key] = schema  # a schema reached again inside itself stays as it is
    props = _declared_properties(schema)
    read_only = inherited | {name for name, prop in props.items() if isinstance(prop, dict) and prop.get("readOnly")}
    out = {}
    for word, value in schema.items():
        if word == "required" and isinstance(value, list) and read_only.intersection(value):
            out[word] = [name for name in value if name not in read_only]
        elif word == "allOf" and isinstance(value, list):
            out[word] = [_as_request(branch, done, read_only) for branch in value]
        elif word in _ONE_SCHEMA or word in _SCHEMA_LISTS:
            out[word] = _as_request(value, done)
        elif word in _SCHEMA_MAPS and isinstance(value, dict):
            mapped = {name: _as_request(sub, done) for name, sub in value.items()}
            out[word] = value if all(mapped[name] is sub for name, sub in value.items()) else mapped
        else:
            out[word] = value
    changed = any(out[word] is not value for word, value in schema.items())
    done[key] = result = out if changed else schema
    return result


def _declared_properties(schema: dict) -> dict:
    """The properties an object schema declares, its `allOf` branches' too."""
    found = dict(schema["properties"]) if isinstance(schema.get("properties"), dict) else {}
    for branch in schema.get("allOf") or () if isinstance(schema.get("allOf"), list) else ():
        if isinstance(branch, dict):
            found.update(_declared_properties(branch))
    return found


def _pick_body(media: dict[str, MediaSpec]) -> MediaSpec | None:
    """The JSON media type (application/json, then any +json), else `*/*`, else the first."""
    if not media:
        return None
    return (media.get("application/json") or next((m for k, m in media.items() if is_json_media(k)), None)
            or media.get("*/*") or next(iter(media.values())))


def _pick_response(media: dict[str, MediaSpec]) -> MediaSpec | None:
    if not media:
        return None
    return (media.get("application/json") or next((m for k, m in media.items() if is_json_media(k)), None)
            or next(iter(media.values())))


# Keywords whose value is a schema, a list of schemas, or a map of schemas (2020-12, and 3.0's subset).
_ONE_SCHEMA = ("items", "additionalProperties", "not", "if", "then", "else", "contains", "propertyNames",
               "unevaluatedItems", "unevaluatedProperties", "additionalItems")
_SCHEMA_LISTS = ("allOf", "anyOf", "oneOf", "prefixItems")
_SCHEMA_MAPS = ("properties", "patternProperties", "$defs", "definitions", "dependentSchemas")
_COMPOSED = ("allOf", "anyOf", "oneOf", "not", "$ref", "const", "if")
_ANNOTATIONS = ("title", "description", "default", "example", "readOnly", "writeOnly", "deprecated")


class _From30:
    """OpenAPI 3.0's schema dialect as JSON Schema 2020-12.

    `nullable: true` adds "null" to `type` (and None to `enum`); where a `type` alone cannot say it
    (no `type`, or composed with allOf/oneOf/anyOf/not, whose branches would still refuse null), the
    schema becomes `anyOf: [schema, {type: null}]`, annotations repeated outside. A boolean
    `exclusiveMinimum/Maximum: true` moves `minimum/maximum` into it; `false` is dropped. `example`
    stays: 2020-12 ignores unknown keywords. Memoized by identity: resolved schemas are shared."""

    def __init__(self, nullable: bool = True) -> None:
        self.done: dict[int, Any] = {}
        self.requests: dict = {}  # `_as_request`'s memo, shared by the document's request bodies
        self.keep: list[Any] = []  # the memo's keys stay alive, so an id is never reused
        self.nullable = nullable  # False: a 3.1 document, where `nullable` is no keyword

    def __call__(self, schema: Any) -> Any:
        if not isinstance(schema, dict):
            return schema
        found = self.done.get(id(schema))
        if found is not None:
            return found
        out: dict = {}
        for key, value in schema.items():
            if key in _ONE_SCHEMA:
                out[key] = [self(v) for v in value] if isinstance(value, list) else self(value)
            elif key in _SCHEMA_LISTS and isinstance(value, list):
                out[key] = [self(v) for v in value]
            elif key in _SCHEMA_MAPS and isinstance(value, dict):
                out[key] = {name: self(v) for name, v in value.items()}
            elif key == DISCRIMINATOR and isinstance(value, dict) and "subtypes" in value:
                out[key] = {**value, "subtypes": [self(v) for v in value["subtypes"]]}
            else:
                out[key] = value
        for bound, exclusive in (("minimum", "exclusiveMinimum"), ("maximum", "exclusiveMaximum")):
            flag = out.get(exclusive)
            if isinstance(flag, bool):
                del out[exclusive]
                if flag and bound in out:
                    out[exclusive] = out.pop(bound)
        if self.nullable and out.pop("nullable", False) is True:
            out = self._nullable(out)
        self.done[id(schema)] = out
        self.keep.append(schema)
        return out

    @staticmethod
    def _nullable(out: dict) -> dict:
        kind = out.get("type")
        if isinstance(kind, (str, list)) and not any(word in out for word in _COMPOSED):
            kinds = [kind] if isinstance(kind, str) else list(kind)
            out["type"] = kinds if "null" in kinds else [*kinds, "null"]
            if isinstance(out.get("enum"), list) and None not in out["enum"]:
                out["enum"] = [*out["enum"], None]
            return out
        if not any(word in out for word in (*_COMPOSED, "type", "enum")):
            return out  # no constraint that refuses null
        wrapped = {word: out[word] for word in _ANNOTATIONS if word in out}
        wrapped["anyOf"] = [out, {"type": "null"}]
        return wrapped


class _Resolver:
    """Inline every `$ref`: `#/...` inside a file, and relative files (`other.yaml#/x`, `./pet.json`)
    resolved against the referring file. Remote (http, https) references are never fetched.

    Recursion: a `$ref` met again inside its own expansion (a tree of nodes, a linked list) becomes
    only its type (`{type: object}`, or `{}` when it names none): each recursive schema is expanded
    once, then its recursive occurrence accepts any value of that type. Validation and the generator
    get finite, inlined schemas (a generated `{}` or `[]` there is one the full schema accepts where it
    requires nothing), at the cost of not checking below the first level of recursion. Schemas that
    refer to each other in a dense web (a strongly connected component of the graph of refs, common in
    large public documents) would still expand exponentially, so inside one component at most
    `RECURSION_DEPTH` schemas are nested before the next one is cut to its type too. A cycle of bare
    `$ref`s with nothing in between (A is B, B is A) has no meaning and is an error.

    Expansions are shared, not copied: the result of a `$ref` is cached with the set of refs its
    expansion met (`seen`), under the part of the stack of refs being expanded that it met and the
    number of refs of its own component on that stack; an expansion depends on nothing else, so a
    document refers to a schema many times at one cost.

    A base schema with a `discriminator` and no oneOf/anyOf (allOf inheritance: Cat is
    `allOf: [{$ref: Pet}, {...}]`) gets the schemas its values name under `x-mock-discriminator`
    (see `_inheritance_rule`); they are expanded with the base on the stack, so their own reference
    to it is cut to its type: they are checked together with the base, which holds the rest."""

    RECURSION_DEPTH = 3

    def __init__(self, root: Path, document: Any) -> None:
        self.root = root.resolve()
        self.files: dict[Path, Any] = {self.root: document}
        self.shown: dict[Path, Path] = {self.root: root}  # how to name a file in messages
        self.cache: dict[str, list[tuple[frozenset, int, frozenset, Any]]] = {}
        self.extended: tuple[int, dict[str, list[_Subtype]]] | None = None  # (files read, base -> subtypes)
        self.component: dict[str, frozenset] = {}  # a ref on a cycle -> the refs of its component
        self.digests: dict[str, str] = {}  # every other file read -> the digest of its bytes (speccache)
        self.located: dict[tuple[Path, str], Path] = {}  # (referring file, address) -> the file it names
        self.folders: dict[Path, Path] = {}  # a folder as a reference names it -> as resolved
        self.refs: dict[tuple[Path, str], tuple[Path, str]] = {}  # (referring file, $ref) -> (file, pointer)
        self.unnamed: dict[str, None] = {}  # where a discriminator's branches pin values no name gives
        self.mappings: list[tuple[dict, dict]] = []  # (document node, its rule) of those places

    def resolve_root(self) -> Any:
        self.component = _recursive_components(self._graph())
        return self._node(self.files[self.root], self.root, (), (), (), set())

    def _graph(self) -> dict[str, set[str]]:
        """Ref -> the refs inside its target, for every ref reachable from the root document. Refs that
        do not resolve are left out here: resolving says where they are."""
        graph: dict[str, set[str]] = {}
        todo = [(self.files[self.root], self.root, None)]
        while todo:
            node, base, owner = todo.pop()
            found: set[str] = set()
            stack = [node]
            while stack:
                item = stack.pop()
                if isinstance(item, dict):
                    ref = item.get("$ref")
                    if isinstance(ref, str):
                        try:
                            file, fragment = self._locate(ref, base, ())
                            key = f"{file}#{fragment}"
                            if key not in graph:
                                graph[key] = set()
                                todo.append((self._pointer(file, fragment, ref, base, ()), file, key))
                            found.add(key)
                        except SpecError:
                            pass
                    stack.extend(item.values())
                elif isinstance(item, list):
                    stack.extend(item)
            if owner is not None and isinstance(node, dict):
                for sub in self._subtypes(node, base, owner):  # a base schema refers to its subtypes too
                    if sub.key not in graph:
                        try:
                            file, fragment = self._locate(sub.ref, sub.base, ())
                            target = self._pointer(file, fragment, sub.ref, sub.base, ())
                        except SpecError:
                            continue
                        graph[sub.key] = set()
                        todo.append((target, file, sub.key))
                    found.add(sub.key)
            if owner is not None:
                graph[owner] = found
        return graph

    def _node(self, node: Any, base: Path, stack: tuple, chain: tuple, where: tuple, seen: set) -> Any:
        if isinstance(node, list):
            return [self._node(value, base, stack, (), (*where, i), seen) for i, value in enumerate(node)]
        if not isinstance(node, dict):
            return node
        ref = node.get("$ref")
        if isinstance(ref, str):
            target = self._follow(ref, base, stack, chain, where, seen)
            if len(node) == 1:
                return target
            siblings = {key: self._node(value, base, stack, (), (*where, key), seen)
                        if not _extension_key(key, where) else value
                        for key, value in node.items() if key != "$ref"}
            return {**target, **siblings} if isinstance(target, dict) else siblings
        out = {key: self._node(value, base, stack, (), (*where, key), seen) if not _extension_key(key, where)
               else value for key, value in node.items()}
        rule = _discriminator_rule(node) or self._inheritance_rule(node, base, stack, where, seen)
        if rule is not None:
            if isinstance(out.get(rule.get("of")), list):
                rule = _with_pinned_values(rule, out[rule["of"]])
                if rule["branches"] != rule["named"]:
                    self.unnamed.setdefault(f"{self._name(base)}: {_pointer(where)}")
                    self.mappings.append((node, rule))
            out[DISCRIMINATOR] = rule
        return out

    def _inheritance_rule(self, node: dict, base: Path, stack: tuple, where: tuple, seen: set) -> dict | None:
        """For a base schema whose `discriminator` names the schemas that extend it: each of them
        expanded (with the base on the stack) and the property values that name it."""
        own = _own_key(base, where)
        subtypes = self._subtypes(node, base, own)
        if not subtypes:
            return None
        inner = stack if own is None or own in stack else (*stack, own)
        branches, schemas, mapped = [], [], 0
        for sub in subtypes:
            try:
                schemas.append(self._follow(sub.ref, sub.base, inner, (), where, seen))
            except SpecError:
                continue  # a mapping to nothing names no schema: that name is refused like any unknown one
            branches.append(sub.names)
            mapped += sub.mapped
        if not schemas:
            return None
        # `mapped`: how many (first) subtypes the mapping names; values are generated of those only, as
        # tools that know only the mapping (schemathesis) would call the other names unknown
        return {"property": node["discriminator"]["propertyName"], "branches": branches, "subtypes": schemas,
                "mapped": mapped}

    def _subtypes(self, node: dict, base: Path, own: str | None) -> list[_Subtype]:
        """What a base schema's discriminator (no oneOf/anyOf beside it) names: each `mapping` target
        (a reference, or a schema's name) by its keys, then each schema that extends it through
        `allOf`, directly or not, by its own name, in document order. Empty for any other schema."""
        disc = node.get("discriminator")
        if not isinstance(disc, dict) or not isinstance(disc.get("propertyName"), str) \
                or "oneOf" in node or "anyOf" in node:
            return []
        found: dict[str, _Subtype] = {}
        mapping = disc.get("mapping") if isinstance(disc.get("mapping"), dict) else {}
        names = _mapping(_mapping(_mapping(self.files.get(base)).get("components")).get("schemas"))
        for value, target in mapping.items():
            if not isinstance(target, str):
                continue
            ref = f"#/components/schemas/{_escape(target)}" if target in names else target
            try:
                file, fragment = self._locate(ref, base, ())
            except SpecError:
                continue
            key = f"{file}#{fragment}"
            found.setdefault(key, _Subtype(key, ref, base, [], mapped=True)).names.append(str(value))
        if own is not None:
            for sub in self._descendants(own):
                found.setdefault(sub.key, sub)
        return list(found.values())

    def _descendants(self, own: str) -> list[_Subtype]:
        """The component schemas that extend `own` through `allOf`, children first."""
        if self.extended is None or self.extended[0] != len(self.files):
            children: dict[str, list[_Subtype]] = {}
            for file, document in list(self.files.items()):
                for name, schema in _mapping(_mapping(_mapping(document).get("components")).get("schemas")).items():
                    members = schema.get("allOf") if isinstance(schema, dict) else None
                    for member in members if isinstance(members, list) else ():
                        ref = member.get("$ref") if isinstance(member, dict) else None
                        try:
                            parent = "{}#{}".format(*self._locate(ref, file, ())) if isinstance(ref, str) else None
                        except SpecError:
                            continue
                        if parent is not None:
                            mine = f"#/components/schemas/{_escape(name)}"
                            children.setdefault(parent, []).append(_Subtype(f"{file}{mine}", mine, file, [name]))
            self.extended = (len(self.files), children)
        order, todo, met = [], [own], {own}
        while todo:
            for child in self.extended[1].get(todo.pop(0), ()):
                if child.key not in met:
                    met.add(child.key)
                    order.append(child)
                    todo.append(child.key)
        return order

    def _follow(self, ref: str, base: Path, stack: tuple, chain: tuple, where: tuple, seen: set) -> Any:
        file, fragment = self._locate(ref, base, where)
        key = f"{file}#{fragment}"
        if key in chain:
            names = " -> ".join((*chain, key)).replace(f"{self.root}#", "#")
            raise SpecError(f"{self._name(base)}: {_pointer(where)}: circular reference {names}")
        seen.add(key)
        if key in stack:
            return self._stub(file, fragment, ref, base, where)  # the recursive occurrence: see the class's comment
        component = self.component.get(key)
        depth = sum(1 for outer in stack if outer in component) if component else 0
        if depth >= self.RECURSION_DEPTH:
            return self._stub(file, fragment, ref, base, where)  # deep in a web: see the class's comment
        for outer, at_depth, met, value in self.cache.get(key, ()):
            if at_depth == depth and frozenset(stack) & met == outer:
                seen.update(met)
                return value
        inner: set = set()
        target = self._pointer(file, fragment, ref, base, where)
        value = self._node(target, file, (*stack, key), (*chain, key), (fragment,) if fragment else (), inner)
        inner.add(key)
        self.cache.setdefault(key, []).append((frozenset(stack) & inner, depth, frozenset(inner), value))
        seen.update(inner)
        return value

    def _stub(self, file: Path, fragment: str, ref: str, base: Path, where: tuple) -> dict:
        """What stands for a schema where its recursion stops: only its type (an object is `{}`, a list
        `[]`), so a generated value is still one the full schema accepts where nothing is required;
        marked, so that the generator leaves out an optional property of it."""
        target = self._pointer(file, fragment, ref, base, where)
        if not isinstance(target, dict):
            return {CUT: True}
        kind = target.get("type")
        if kind is None and isinstance(target.get("properties"), dict):
            kind = "object"
        if isinstance(kind, str) or (isinstance(kind, list) and all(isinstance(k, str) for k in kind)):
            return {"type": kind, CUT: True} if not target.get("nullable") else {"type": kind, "nullable": True,
                                                                                 CUT: True}
        return {CUT: True}

    def _locate(self, ref: str, base: Path, where: tuple) -> tuple[Path, str]:
        found = self.refs.get((base, ref))
        if found is None:  # a large document names each target many times: once is enough
            found = self.refs[base, ref] = self._find(ref, base, where)
        return found

    def _find(self, ref: str, base: Path, where: tuple) -> tuple[Path, str]:
        parts = urlsplit(ref)
        if parts.scheme or parts.netloc:
            raise SpecError(f"{self._name(base)}: {_pointer(where)}: remote reference {ref!r} is not fetched; "
                            "only references inside the file and to relative files")
        address, _, fragment = ref.partition("#")
        fragment = unquote(fragment)
        if fragment and not fragment.startswith("/"):
            raise SpecError(f"{self._name(base)}: {_pointer(where)}: reference {ref!r}: only JSON pointers "
                            "(`#/components/...`) are supported")
        if not address:
            return base, fragment
        file = self.located.get((base, address))
        if file is None:  # resolving a path asks the file system for each of its parts: once per folder
            named = base.parent / unquote(address)
            folder = self.folders.get(named.parent)
            if folder is None:
                folder = self.folders[named.parent] = named.parent.resolve()
            file = folder / named.name
            if named.name in ("", ".", "..") or file.is_symlink():
                file = named.resolve()
            self.located[base, address] = file
        if file not in self.files:
            shown = self._name(base).parent / unquote(address)
            if not file.is_file():
                raise SpecError(f"{self._name(base)}: {_pointer(where)}: reference {ref!r}: "
                                f"no file {shown}")
            self.shown[file] = shown
            data = _read_bytes(shown)
            self.digests[str(file)] = speccache.digest(data)
            self.files[file] = _read_document(shown, data)
        return file, fragment

    def _pointer(self, file: Path, fragment: str, ref: str, base: Path, where: tuple) -> Any:
        node: Any = self.files[file]
        for part in fragment.split("/")[1:]:
            part = part.replace("~1", "/").replace("~0", "~")
            if isinstance(node, dict) and part in node:
                node = node[part]
            elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
                node = node[int(part)]
            else:
                raise SpecError(f"{self._name(base)}: {_pointer(where)}: unresolvable reference {ref!r}")
        return node

    def _name(self, file: Path) -> Path:
        return self.shown.get(file, file)


def _discriminator_rule(node: dict) -> dict | None:
    """For a schema with a `discriminator` over `oneOf`/`anyOf` branches that are `$ref`s: which
    property values name which branch (the `mapping`'s keys, else the referenced schema's name)."""
    disc = node.get("discriminator")
    if not isinstance(disc, dict) or not isinstance(disc.get("propertyName"), str):
        return None
    mapping = disc.get("mapping") if isinstance(disc.get("mapping"), dict) else {}
    for word in ("oneOf", "anyOf"):
        refs = node.get(word)
        if isinstance(refs, list) and refs and all(isinstance(b, dict) and isinstance(b.get("$ref"), str)
                                                   for b in refs):
            branches = []
            for branch in refs:
                ref = branch["$ref"]
                name = ref.rsplit("/", 1)[-1]
                named = [key for key, target in mapping.items()
                         if isinstance(target, str) and (target == ref or target.rsplit("/", 1)[-1] == name)]
                branches.append(named or [name])
            # `named`: what a strict reader takes (the loader adds pinned values to `branches`)
            return {"property": disc["propertyName"], "of": word, "branches": branches,
                    "named": [list(names) for names in branches]}
    return None


def _serve_mappings(places: list[tuple[dict, dict]]) -> None:
    """The served document says what the mock reads: each discriminator whose branches pin other values
    than their names gets a `mapping` from every value that names a branch (its names and its pinned
    values) to the branch, so that a strict reader of /__mock/openapi/NAME.yaml (a generated client,
    schemathesis) knows what the mock takes. Done after resolving, which read the document as written."""
    for node, rule in places:
        disc = node.get("discriminator")
        refs = node.get(rule["of"])
        if not isinstance(disc, dict) or not isinstance(refs, list):
            continue
        mapping = dict(disc["mapping"]) if isinstance(disc.get("mapping"), dict) else {}
        for values, branch in zip(rule["branches"], refs, strict=False):
            for value in values:
                if isinstance(value, str) and isinstance(branch, dict) and isinstance(branch.get("$ref"), str):
                    mapping.setdefault(value, branch["$ref"])
        node["discriminator"] = {**disc, "mapping": mapping}


def _with_pinned_values(rule: dict, branches: list) -> dict:
    """A branch also answers to the values its own schema pins the property to (`const`, `enum`):
    documents that give no `mapping` (OpenAI's `role: {enum: [developer]}`) mean those, not the
    schema's name, which the branch itself would refuse."""
    names = []
    for named, branch in zip(rule["branches"], branches, strict=False):
        found = list(named)
        found += [value for value in _pinned(branch, rule["property"]) if value not in found]
        names.append(found)
    return {**rule, "branches": names}


def _pinned(schema: Any, name: str, depth: int = 0) -> list[str]:
    """The string values a schema pins a property to, through allOf/oneOf/anyOf (a branch that is
    itself a choice of items: OpenAI's `Item`)."""
    if not isinstance(schema, dict) or depth > 8:
        return []
    prop = schema.get("properties", {}).get(name) if isinstance(schema.get("properties"), dict) else None
    found = []
    if isinstance(prop, dict):
        found = [value for value in ([prop["const"]] if "const" in prop else prop.get("enum") or [])
                 if isinstance(value, str)]
    for word in ("allOf", "oneOf", "anyOf"):
        for member in schema.get(word) or () if isinstance(schema.get(word), list) else ():
            found += [value for value in _pinned(member, name, depth + 1) if value not in found]
    return found


# Objects whose keys are names the author chose (a property called `x-rate`), not extensions.
_NAME_MAPS = frozenset({"properties", "patternProperties", "$defs", "definitions", "schemas", "responses",
                        "parameters", "examples", "headers", "securitySchemes", "links", "callbacks",
                        "pathItems", "requestBodies", "paths", "content", "encoding", "variables", "mapping",
                        "dependentSchemas", "webhooks"})


def _extension_key(key: Any, where: tuple) -> bool:
    """An `x-` extension: its content is the tool's it is for (docs pages, markdown `$ref`s), so its
    references are not followed."""
    return isinstance(key, str) and key.startswith("x-") and not (where and where[-1] in _NAME_MAPS)


def _recursive_components(graph: dict[str, set[str]]) -> dict[str, frozenset]:
    """Each ref that lies on a cycle -> the strongly connected component it belongs to (Tarjan's
    algorithm, iterative: a long chain of refs must not exhaust Python's stack)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    found: dict[str, frozenset] = {}
    for start in graph:
        if start in index:
            continue
        work = [(start, iter(graph[start]))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, edges = work[-1]
            for nxt in edges:
                if nxt not in graph:
                    continue
                if nxt not in index:
                    index[nxt] = low[nxt] = len(index)
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, iter(graph[nxt])))
                    break
                if nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
            else:
                work.pop()
                if work:
                    parent = work[-1][0]
                    low[parent] = min(low[parent], low[node])
                if low[node] == index[node]:
                    members = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        members.append(member)
                        if member == node:
                            break
                    if len(members) > 1 or node in graph[node]:
                        component = frozenset(members)
                        found.update((member, component) for member in members)
    return found


@dataclass(frozen=True)
class _Subtype:
    """A schema a base schema's discriminator names: its key (`file#pointer`), a `$ref` to it relative
    to `base`, and the property values that name it."""

    key: str
    ref: str
    base: Path
    names: list[str]
    mapped: bool = False  # named by the discriminator's mapping (else by its own name)


def _own_key(base: Path, where: tuple) -> str | None:
    """The key (`file#pointer`) of the schema being resolved, when it is one a `$ref` can name."""
    if len(where) == 1 and isinstance(where[0], str) and where[0].startswith("/"):
        return f"{base}#{where[0]}"
    if len(where) == 3 and where[:2] == ("components", "schemas"):
        return f"{base}#/components/schemas/{_escape(str(where[2]))}"
    return None


def _escape(name: str) -> str:
    """A name as one JSON pointer segment."""
    return name.replace("~", "~0").replace("/", "~1")


def _pointer(where: tuple) -> str:
    """The place in a file, as a JSON pointer: `#/paths/~1pets/get`."""
    if where and isinstance(where[0], str) and where[0].startswith("/"):  # inside a referenced node
        head, rest = where[0], where[1:]
    else:
        head, rest = "", where
    return "#" + head + "".join("/" + str(part).replace("~", "~0").replace("/", "~1") for part in rest)
