"""OpenAPI loading: read a spec once, resolve its local `$ref`s and compile one validator per
request body, parameter and response, keyed by operationId. Nothing here knows a vendor."""

from __future__ import annotations

import copy
import functools
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml
from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

from mockserver.ecma import Validator
from mockserver.fastschema import FastValidator, check_schema, compile_check

METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
_FORMATS = Draft202012Validator.FORMAT_CHECKER
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class SpecError(Exception):
    """The spec cannot be served: raised at start-up, naming the file and the place."""


@dataclass(frozen=True)
class Parameter:
    name: str
    location: str  # "path", "query" or "header"
    required: bool
    schema: dict
    validator: Draft202012Validator


@dataclass(frozen=True)
class ResponseSpec:
    status: str  # "201", "4XX" or "default"
    media_type: str | None  # None: no body
    validator: Draft202012Validator | None
    headers: dict = field(default_factory=dict)


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

    def response(self, status: int) -> ResponseSpec | None:
        """The documented response for a status: exact, then range (`4XX`), then `default`."""
        return (
            self.responses.get(str(status))
            or self.responses.get(f"{status // 100}XX")
            or self.responses.get("default")
        )

    def error_statuses(self) -> list[int]:
        return sorted(int(code) for code in self.responses if code.isdigit() and int(code) >= 400)


@dataclass(frozen=True)
class Spec:
    vendor: str
    source: Path
    document: dict  # the spec as written (keys as strings), for serving
    server_url: str
    server_path: str  # the path part of the first server URL: the mount prefix
    operations: dict[str, Operation]  # by operationId
    paths: dict[str, dict[str, Operation]]  # spec path -> METHOD -> operation


# Inlined `$ref`s repeat the same schema (an error shape, the project) across operations, and the
# metaschema check dominates start-up: each distinct schema is checked and compiled once per process.
# The key is the repr: the same keys in the same order (error order follows it), the same types.
_COMPILED: dict[str, FastValidator] = {}


def compile_schema(schema: dict, where: str) -> Draft202012Validator:
    key = repr(schema)
    found = _COMPILED.get(key)
    if found is not None:
        return found
    try:
        check_schema(schema)  # jsonschema's metaschema check, compiled for the usual valid case
    except SchemaError as error:
        raise SpecError(f"{where}: invalid schema: {error.message}") from None
    # A compiled yes/no answers for valid instances; jsonschema still produces every error.
    # `Validator`: jsonschema's 2020-12 with ECMA-262 patterns (`$` is the end of the text).
    found = FastValidator(Validator(schema, format_checker=_FORMATS), compile_check(schema, _FORMATS))
    _COMPILED[key] = found
    return found


def specs_dir() -> Path:
    """Where the bundled OpenAPI files are: inside an installed package, or at the repository's root."""
    packaged = Path(__file__).parent / "openapi"
    return packaged if packaged.is_dir() else Path(__file__).parent.parent / "openapi"


def flask_rule(path: str) -> str:
    """Turn an OpenAPI path into a Flask rule.

    >>> flask_rule("/v1/projects/{projectIdOrName}")
    '/v1/projects/<projectIdOrName>'
    """
    return re.sub(r"\{([^}/]+)\}", r"<\1>", path)


def load_spec(path: Path, vendor: str) -> Spec:
    path = Path(path)
    try:
        stat = path.stat()
    except OSError as error:
        raise SpecError(f"{path}: cannot read the spec: {error.strerror}") from None
    return _load_spec(path, vendor, stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=32)
def _load_spec(path: Path, vendor: str, _mtime_ns: int, _size: int) -> Spec:
    # Cached per file version: every app of the process shares one immutable compiled spec.
    try:
        document = yaml.load(path.read_text(encoding="utf-8"), Loader=_Loader)
    except (OSError, yaml.YAMLError, UnicodeDecodeError) as error:
        raise SpecError(f"{path}: cannot parse the spec: {error}") from None
    if not isinstance(document, dict) or not str(document.get("openapi", "")).startswith("3.1"):
        raise SpecError(f"{path}: not an OpenAPI 3.1 document")
    document = _string_keys(document)  # YAML reads `201:` as an int
    resolved = _Resolver(document, path).resolve(document)
    servers = resolved.get("servers") or [{"url": "/"}]
    server_url = servers[0]["url"]
    server_path = urlsplit(server_url).path.rstrip("/")
    schemes = resolved.get("components", {}).get("securitySchemes", {})
    default_security = resolved.get("security", [])
    operations: dict[str, Operation] = {}
    paths: dict[str, dict[str, Operation]] = {}
    for spec_path, item in resolved.get("paths", {}).items():
        shared_params = item.get("parameters", [])
        for method in METHODS:
            if method not in item:
                continue
            raw = item[method]
            where = f"{path}: {method.upper()} {spec_path}"
            op_id = raw.get("operationId")
            if not op_id:
                raise SpecError(f"{where}: no operationId")
            if op_id in operations:
                raise SpecError(f"{where}: operationId {op_id!r} is used twice")
            operation = _operation(vendor, op_id, method, spec_path, raw, shared_params,
                                   raw.get("security", default_security), schemes, where)
            operations[op_id] = operation
            paths.setdefault(spec_path, {})[method.upper()] = operation
    return Spec(vendor, path, document, server_url, server_path, operations, paths)


def _operation(vendor, op_id, method, spec_path, raw, shared_params, security, schemes, where) -> Operation:
    alternatives = []
    for requirement in security:
        for name in requirement:
            if name not in schemes:
                raise SpecError(f"{where}: unknown security scheme {name!r}")
            alternatives.append((name, schemes[name]))
    by_key = {(p["in"], p["name"]): p for p in [*shared_params, *raw.get("parameters", [])]}
    parameters = tuple(
        Parameter(p["name"], p["in"], bool(p.get("required", p["in"] == "path")), p.get("schema", {}),
                  compile_schema(p.get("schema", {}), f"{where} parameter {p['name']}"))
        for p in by_key.values()
    )
    body_schema = body_validator = None
    body = raw.get("requestBody")
    if body:
        content = body.get("content", {})
        media = content.get("application/json")
        if media is None:
            raise SpecError(f"{where}: only application/json request bodies are supported")
        body_schema = media.get("schema", {})
        body_validator = compile_schema(body_schema, f"{where} request body")
    responses = {}
    for status, response in raw.get("responses", {}).items():
        content = response.get("content") or {}
        media_type = next(iter(content), None)
        schema = content[media_type].get("schema") if media_type else None
        validator = compile_schema(schema, f"{where} response {status}") if schema is not None else None
        responses[status] = ResponseSpec(status, media_type, validator, response.get("headers", {}))
    return Operation(vendor, op_id, method.upper(), spec_path, tuple(alternatives), parameters,
                     body_schema, body_validator, bool(body and body.get("required")), responses)


def _string_keys(node: Any) -> Any:
    if isinstance(node, dict):
        return {str(key): _string_keys(value) for key, value in node.items()}
    if isinstance(node, list):
        return [_string_keys(value) for value in node]
    return node


class _Resolver:
    """Inline every local `$ref` (`#/...`). A mock never fetches a remote one."""

    def __init__(self, document: dict, source: Path) -> None:
        self.document = document
        self.source = source

    def resolve(self, node: Any, stack: tuple[str, ...] = ()) -> Any:
        if isinstance(node, list):
            return [self.resolve(value, stack) for value in node]
        if not isinstance(node, dict):
            return node
        if "$ref" in node and isinstance(node["$ref"], str):
            ref = node["$ref"]
            if not ref.startswith("#/"):
                raise SpecError(f"{self.source}: only local references are supported, not {ref!r}")
            if ref in stack:
                raise SpecError(f"{self.source}: circular reference {' -> '.join((*stack, ref))}")
            target = self._pointer(ref)
            merged = {**self.resolve(target, (*stack, ref)),
                      **{k: self.resolve(v, stack) for k, v in node.items() if k != "$ref"}}
            return merged
        return {key: self.resolve(value, stack) for key, value in node.items()}

    def _pointer(self, ref: str) -> Any:
        node: Any = self.document
        for part in ref[2:].split("/"):
            part = part.replace("~1", "/").replace("~0", "~")
            if isinstance(node, dict) and part in node:
                node = node[part]
            else:
                raise SpecError(f"{self.source}: unresolvable reference {ref!r}")
        return copy.deepcopy(node)
