"""A compiled yes/no in front of jsonschema, for the keywords our specs use.

Every request body and every response is validated, and jsonschema's generic machinery (a new
validator object per subschema, an error generator per keyword) costs more than the rest of a
request. `compile_check(schema)` turns a schema into nested closures that answer "valid?" with the
same semantics (the same type checker functions, ECMA-262 patterns as `mockserver.ecma` runs them,
the same format checker); a schema
using any other validating keyword gets None, and `FastValidator` then always asks jsonschema.

Only "valid" is trusted: when the check says no, jsonschema runs and produces the errors, so
messages and issue order are jsonschema's own. The one-way contract (check(x) implies
jsonschema.is_valid(x)) is what tests/test_fastschema.py checks against jsonschema itself.
`check_schema` does the same for the 2020-12 metaschema, which start-up applies to every schema.
"""

from __future__ import annotations

import contextlib
import numbers
import re
import threading
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin

from mockserver import ecma
from mockserver.keywords import VALIDATING

if TYPE_CHECKING:
    from jsonschema import Draft202012Validator

Check = Callable[[Any], bool]

_SUPPORTED = frozenset({
    "type", "properties", "required", "additionalProperties", "items", "enum", "const", "pattern",
    "format", "minLength", "maxLength", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum",
    "minItems", "maxItems", "allOf", "anyOf", "propertyNames", "uniqueItems", "if", "contains", "dependentRequired",
})
_REFERRING = frozenset({"$ref", "$dynamicRef"})  # only with a `_Refs` (the metaschema's own)


def _is_integer(value: Any) -> bool:
    return type(value) is int or (not isinstance(value, bool) and (
        isinstance(value, int) or (isinstance(value, float) and value.is_integer())))


def _is_number(value: Any) -> bool:
    return type(value) is int or (not isinstance(value, bool) and isinstance(value, numbers.Number))


# jsonschema's 2020-12 type checker (`Draft202012Validator.TYPE_CHECKER`), as plain functions:
# tests/test_fastschema.py holds each to jsonschema's answer.
TYPES: dict[str, Check] = {
    "array": lambda value: isinstance(value, list), "boolean": lambda value: isinstance(value, bool),
    "integer": _is_integer, "null": lambda value: value is None, "number": _is_number,
    "object": lambda value: isinstance(value, dict), "string": lambda value: isinstance(value, str),
}


class Unsupported(Exception):
    """The schema uses a validating keyword this module does not compile."""


class FastValidator:
    """A jsonschema validator with a compiled check in front; anything else is the validator's.

    `FastValidator.lazy(schema, check, validator)` defers both to their first use: `check(schema)`
    gives the compiled check, `validator(schema)` jsonschema's validator, each when first needed (a
    valid instance never needs jsonschema, so it is not even imported). Start-up on a large document
    compiles only what requests reach, and a lazy one pickles as its schema and the two functions
    (module-level ones), for the spec cache."""

    __slots__ = ("validator", "check", "schema", "_build_check", "_build_validator")

    def __init__(self, validator: Draft202012Validator, check: Check | None, schema: Any = None) -> None:
        self.validator = validator
        self.check = check
        # The schema as the document gives it (what values are generated from); the validator may check
        # a rewritten form of it (OpenAPI's discriminator as JSON Schema).
        self.schema = validator.schema if schema is None else schema

    @classmethod
    def lazy(cls, schema: Any, check: Callable[[Any], Check | None],
             validator: Callable[[Any], Draft202012Validator]) -> FastValidator:
        made = cls.__new__(cls)
        made.schema = schema
        made._build_check = check
        made._build_validator = validator
        return made

    def iter_errors(self, instance: Any) -> Iterator:
        if self.check is not None and self.check(instance):
            return iter(())
        return self.validator.iter_errors(instance)

    def is_valid(self, instance: Any) -> bool:
        if self.check is not None and self.check(instance):
            return True
        return self.validator.is_valid(instance)

    def __getattr__(self, name: str) -> Any:
        # Reached only for what the slots do not hold: a lazy one's validator or check before its
        # first use (built here, then a plain slot), or an attribute of jsonschema's validator.
        if name == "check":
            self.check = found = object.__getattribute__(self, "_build_check")(self.schema)
            return found
        if name == "validator":
            self.validator = found = object.__getattribute__(self, "_build_validator")(self.schema)
            return found
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self.validator, name)

    def __reduce__(self):
        try:
            builds = object.__getattribute__(self, "_build_check"), object.__getattribute__(self, "_build_validator")
        except AttributeError:
            raise TypeError("only a lazy FastValidator pickles (its compiled check is code)") from None
        return FastValidator.lazy, (self.schema, *builds)


_DEFAULT = object()


def compile_check(schema: Any, format_checker: Any = _DEFAULT) -> Check | None:
    """The schema as a yes/no function, or None when it uses a keyword not compiled here.
    `format_checker`: a jsonschema `FormatChecker`, None (formats unchecked), or a function giving
    one, called when a value first needs a checker (so jsonschema and the format packages are
    imported then, not before); by default jsonschema's 2020-12 one."""
    if format_checker is _DEFAULT:
        format_checker = _default_formats
    try:
        return _compile(schema, format_checker)
    except Unsupported:
        return None


def _compile(schema: Any, formats, refs: _Refs | None = None) -> Check:
    if schema is True:
        return _always
    if schema is False:
        return _never
    if not isinstance(schema, dict):
        raise Unsupported(repr(schema))
    used = {key for key in schema if key in VALIDATING}
    unsupported = used - _SUPPORTED - (_REFERRING if refs is not None else frozenset())
    if unsupported:
        raise Unsupported(", ".join(sorted(unsupported)))
    checks: list[Check] = []
    if "$ref" in used:
        checks.append(refs.ref(schema["$ref"]))
    if "$dynamicRef" in used:
        checks.append(refs.dynamic_ref(schema["$dynamicRef"]))
    for word, combine in (("allOf", all), ("anyOf", any)):
        if word in used:
            if not isinstance(schema[word], list) or not schema[word]:
                raise Unsupported(word)
            checks.append(_combined(combine, tuple(_compile(sub, formats, refs) for sub in schema[word])))
    if "if" in used:
        checks.append(_condition_check(schema, formats, refs))
    if "contains" in used:
        checks.append(_contains_check(schema, formats, refs))
    if "propertyNames" in used:
        checks.append(_names_check(_compile(schema["propertyNames"], formats, refs)))
    if schema.get("uniqueItems") is True:
        checks.append(_unique_check)
    if "dependentRequired" in used:
        checks.append(_dependent_check(schema["dependentRequired"]))
    if "type" in schema:
        checks.append(_type_check(schema["type"]))
    if "enum" in schema:
        checks.append(_enum_check(schema["enum"]))
    if "const" in schema:
        checks.append(_enum_check([schema["const"]]))
    if used & {"properties", "required", "additionalProperties"}:
        checks.append(_object_check(schema, formats, refs))
    if "items" in schema or "minItems" in schema or "maxItems" in schema:
        checks.append(_array_check(schema, formats, refs))
    if used & {"minLength", "maxLength", "pattern"}:
        checks.append(_string_check(schema))
    if used & {"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"}:
        checks.append(_number_check(schema))
    if "format" in schema and formats is not None:
        name = schema["format"]
        if not hasattr(formats, "checkers"):  # a function giving the checker: looked up on first need
            if isinstance(name, str):
                checks.append(format_check(name, formats))
        elif name in formats.checkers:
            checks.append(_format_check(*formats.checkers[name]))
    if not checks:
        return _always
    if len(checks) == 1:
        return checks[0]
    if len(checks) == 2:
        first, second = checks
        return lambda value: first(value) and second(value)
    found = tuple(checks)

    def every(value: Any) -> bool:
        for check in found:
            if not check(value):
                return False
        return True

    return every


def _always(value: Any) -> bool:
    return True


def _never(value: Any) -> bool:
    return False


def _is_type(name: str) -> Check:
    try:
        return TYPES[name]
    except (KeyError, TypeError):  # a type 2020-12 does not define, or not a string
        raise Unsupported(f"type {name!r}") from None


def _type_check(expected: Any) -> Check:
    names = expected if isinstance(expected, list) else [expected]
    checks = tuple(_is_type(name) for name in names)
    if len(checks) == 1:
        return checks[0]

    def check(value: Any) -> bool:
        for one in checks:
            if one(value):
                return True
        return False

    return check


def _enum_check(allowed: list) -> Check:
    if all(isinstance(item, str) for item in allowed):
        # jsonschema's `equal` with a str on either side is plain ==, and no non-str equals a str.
        strings = frozenset(allowed)
        return lambda value: isinstance(value, str) and value in strings
    items = list(allowed)
    equal: list = []

    def check(value: Any) -> bool:
        if not equal:  # jsonschema's own equality (private): imported on first use, not at start-up
            try:
                from jsonschema._utils import equal as found
            except ImportError:  # pragma: no cover - a jsonschema that moved it: "no", so jsonschema answers
                found = None
            equal.append(found)
        return equal[0] is not None and any(equal[0](item, value) for item in items)

    return check


def _object_check(schema: dict, formats, refs: _Refs | None = None) -> Check:
    properties = schema.get("properties", {})
    if not isinstance(properties, dict):
        raise Unsupported("properties")
    compiled = {name: _compile(sub, formats, refs) for name, sub in properties.items()}
    required = tuple(schema.get("required", ()))
    extra = schema.get("additionalProperties", True)
    if "patternProperties" in schema:
        raise Unsupported("patternProperties")
    closed = extra is not True and not isinstance(extra, dict) and not extra  # False (or a falsy value)
    extra_check = _compile(extra, formats, refs) if isinstance(extra, dict) else None

    def check(value: Any) -> bool:
        if not isinstance(value, dict):
            return True
        for name in required:
            if name not in value:
                return False
        for name, item in value.items():
            sub = compiled.get(name)
            if sub is None:
                if closed or (extra_check is not None and not extra_check(item)):
                    return False
            elif not sub(item):
                return False
        return True

    return check


def _dependent_check(dependent: Any) -> Check:
    """`dependentRequired`: an object holding a listed name holds each name listed with it."""
    if not isinstance(dependent, dict) or not all(isinstance(names, list) for names in dependent.values()):
        raise Unsupported("dependentRequired")
    pairs = tuple((name, tuple(names)) for name, names in dependent.items() if names)

    def check(value: Any) -> bool:
        if not isinstance(value, dict):
            return True
        return all(each in value for name, names in pairs if name in value for each in names)

    return check


def _array_check(schema: dict, formats, refs: _Refs | None = None) -> Check:
    if "prefixItems" in schema:
        raise Unsupported("prefixItems")
    items = schema.get("items", True)
    if items is False:
        raise Unsupported("items: false")
    item_check = None if items is True else _compile(items, formats, refs)
    low, high = schema.get("minItems"), schema.get("maxItems")

    def check(value: Any) -> bool:
        if not isinstance(value, list):
            return True
        if (low is not None and len(value) < low) or (high is not None and len(value) > high):
            return False
        if item_check is not None:
            for item in value:
                if not item_check(item):
                    return False
        return True

    return check


def _string_check(schema: dict) -> Check:
    low, high = schema.get("minLength"), schema.get("maxLength")
    search = ecma.compile_pattern(schema["pattern"]).search if "pattern" in schema else None

    def check(value: Any) -> bool:
        if not isinstance(value, str):
            return True
        if (low is not None and len(value) < low) or (high is not None and len(value) > high):
            return False
        return search is None or search(value) is not None

    return check


def _number_check(schema: dict) -> Check:
    low, high = schema.get("minimum"), schema.get("maximum")
    above, below = schema.get("exclusiveMinimum"), schema.get("exclusiveMaximum")
    is_number = _is_type("number")

    def check(value: Any) -> bool:
        if not is_number(value):
            return True
        return not ((low is not None and value < low) or (high is not None and value > high)
                    or (above is not None and value <= above) or (below is not None and value >= below))

    return check


def _condition_check(schema: dict, formats, refs: _Refs | None = None) -> Check:
    """if/then/else. The `if` picks a branch, so its answer must be exact both ways: a schema that
    only has a one-way check (uniqueItems of other than strings) is left to jsonschema."""
    if _mentions(schema["if"], "uniqueItems"):
        raise Unsupported("uniqueItems in if")
    condition = _compile(schema["if"], formats, refs)
    then = _compile(schema["then"], formats, refs) if "then" in schema else _always
    otherwise = _compile(schema["else"], formats, refs) if "else" in schema else _always
    return lambda value: then(value) if condition(value) else otherwise(value)


def _mentions(node: Any, keyword: str) -> bool:
    if isinstance(node, dict):
        return keyword in node or any(_mentions(value, keyword) for value in node.values())
    if isinstance(node, list):
        return any(_mentions(value, keyword) for value in node)
    return False


def _contains_check(schema: dict, formats, refs: _Refs | None = None) -> Check:
    if "minContains" in schema or "maxContains" in schema:
        raise Unsupported("minContains/maxContains")
    item_check = _compile(schema["contains"], formats, refs)

    def check(value: Any) -> bool:
        if not isinstance(value, list):
            return True
        for item in value:
            if item_check(item):
                return True
        return False

    return check


def _combined(combine: Callable, checks: tuple[Check, ...]) -> Check:
    return lambda value: combine(check(value) for check in checks)


def _names_check(name_check: Check) -> Check:
    def check(value: Any) -> bool:
        if not isinstance(value, dict):
            return True
        for name in value:
            if not name_check(name):
                return False
        return True

    return check


def _unique_check(value: Any) -> bool:
    """uniqueItems, answered only for lists of strings (where jsonschema's equality is plain ==);
    anything else is a "no" that leaves the verdict to jsonschema."""
    if not isinstance(value, list):
        return True
    if all(type(item) is str for item in value):
        return len(set(value)) == len(value)
    return False


# The usual spelling of a format that certainly passes its checker: a fresh id or time in every
# answer (never remembered) is said valid without building a UUID or a calendar (nor importing the
# checker's packages). Anything else goes to the checker. Year 0 does not exist; a day past 28 is
# held to its month (February's 29th to a leap year), as the checker's calendar does.
_UTC_TIME = re.compile(r"(?!0000)([0-9]{4})-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])"
                       r"T(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](?:\.[0-9]+)?Z")
_MONTH_DAYS = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def _surely_time(value: str) -> bool:
    found = _UTC_TIME.fullmatch(value)
    if found is None:
        return False
    day = int(found[3])
    if day <= 28:
        return True
    month = int(found[2])
    if month != 2:
        return day <= _MONTH_DAYS[month - 1]
    year = int(found[1])
    return day == 29 and year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


def _surely_regex(value: str) -> bool:
    """jsonschema's `regex` checker is `re.compile` (Python's dialect): a pattern it compiles passes."""
    try:
        return bool(re.compile(value))
    except (re.error, RecursionError, OverflowError, ValueError):
        return False


_SURELY: dict[str, Callable[[str], Any]] = {
    "is_uuid": re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}").fullmatch,
    "is_datetime": _surely_time,
    "is_regex": _surely_regex,
}
_SURELY_NAMES = {"uuid": "is_uuid", "date-time": "is_datetime", "regex": "is_regex"}


def format_check(name: str, formats: Callable[[], Any]) -> Check:
    """Whether a value conforms to format `name`, as `formats().conforms` says (a format it does not
    know: yes), the checker looked up on the first value that needs it. `formats()` must
    check `uuid`, `date-time` and `regex` with jsonschema's own functions (or not at all), as the
    canonical spellings are said valid without it (tests/test_fastschema.py holds spec's checker to that)."""
    surely = _SURELY.get(_SURELY_NAMES.get(name, ""))
    found: list[Check] = []

    def check(value: Any) -> bool:
        if surely is not None and type(value) is str and surely(value):
            return True
        if not found:
            entry = formats().checkers.get(name)
            found.append(_always if entry is None else _format_check(*entry))
        return found[0](value)

    return check


def _default_formats() -> Any:
    from jsonschema import Draft202012Validator

    return Draft202012Validator.FORMAT_CHECKER


def _format_check(function: Callable[[Any], Any], raises) -> Check:
    """FormatChecker.check, answering instead of raising. Format checks are pure functions of the
    string, and a response repeats its timestamps: short strings' answers are remembered (bounded)."""
    known: dict[str, bool] = {}
    surely = _SURELY.get(getattr(function, "__name__", ""))
    if surely is not None and getattr(function, "__module__", "") != "jsonschema._format":
        surely = None  # only jsonschema's own checkers are known to pass these

    def check(value: Any) -> bool:
        if surely is not None and type(value) is str and surely(value):
            return True
        short = type(value) is str and len(value) <= 64
        if short:
            found = known.get(value)
            if found is not None:
                return found
        try:
            result = bool(function(value))
        except raises:
            result = False
        if short:
            if len(known) >= 4096:
                known.clear()
            known[value] = result
        return result

    return check


# --- the 2020-12 metaschema, compiled: start-up checks every schema of every spec against it -----

_META = "https://json-schema.org/draft/2020-12/schema"


class _Refs:
    """`$ref` and `$dynamicRef` within the 2020-12 metaschema documents that jsonschema ships. No
    metaschema extends them here, so `$dynamicRef: "#meta"` always lands on the 2020-12 root."""

    def __init__(self, contents: Callable[[str], Any], base: str, compiled: dict, formats) -> None:
        self.contents, self.base, self.compiled, self.formats = contents, base, compiled, formats

    def ref(self, ref: str) -> Check:
        uri, _, fragment = urljoin(self.base, ref).partition("#")
        if fragment and not fragment.startswith("/"):
            raise Unsupported(f"$ref {ref}")
        cell = self.compiled.get((uri, fragment))
        if cell is None:  # compiled once; a cycle meets the cell before it is filled, and waits for it
            cell = self.compiled[(uri, fragment)] = [None]
            node = self.contents(uri)
            for part in fragment.split("/")[1:]:
                node = node[part.replace("~1", "/").replace("~0", "~")]
            cell[0] = _compile(node, self.formats, _Refs(self.contents, uri, self.compiled, self.formats))
        return lambda value: cell[0](value)

    def dynamic_ref(self, ref: str) -> Check:
        if ref != "#meta":
            raise Unsupported(f"$dynamicRef {ref}")
        target = self.ref(_META)

        def check(value: Any) -> bool:
            # Each subschema is a schema by the root's rule, whatever holds it: inside `remembering()`,
            # a subschema object shared by many schemas (an inlined `$ref`) is checked once.
            memo = getattr(_remembered, "memo", None)
            if memo is None or not isinstance(value, dict):
                return target(value)
            found = memo.get(id(value))
            if found is None or found[1] is not value:
                found = memo[id(value)] = (target(value), value)  # the value kept: its id stays its own
            return found[0]

        return check


_meta_check: list[Check | None] = []
_remembered = threading.local()


@contextlib.contextmanager
def remembering() -> Iterator[None]:
    """While loading a document: the metaschema's verdict on each subschema object is remembered by
    identity (the loader shares resolved nodes), so a component inlined in hundreds of places is
    checked once. Forgotten at the end, or by `forget()` when a node is changed (a lenient load's
    repair)."""
    if getattr(_remembered, "memo", None) is not None:
        yield
        return
    _remembered.memo = {}
    try:
        yield
    finally:
        _remembered.memo = None


def forget() -> None:
    """Drop the verdicts remembered so far: a node they judged has changed."""
    memo = getattr(_remembered, "memo", None)
    if memo:
        memo.clear()


def _meta_documents() -> Callable[[str], Any]:
    """The 2020-12 metaschema's documents by URI, read from the files jsonschema-specifications ships
    without importing it (with referencing, attrs and rpds, its import costs a fifth of a first
    load); its `REGISTRY` where the files are not found as laid out in its versions so far."""
    import importlib.util
    import json
    from pathlib import Path

    found: dict[str, Any] = {}
    package = importlib.util.find_spec("jsonschema_specifications")
    for place in (package.submodule_search_locations or ()) if package else ():
        folder = Path(place) / "schemas" / "draft202012"
        for path in [folder / "metaschema.json", *sorted(folder.glob("vocabularies/*"))]:
            try:
                document = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue
            if isinstance(document, dict) and isinstance(document.get("$id"), str):
                found.setdefault(document["$id"], document)
    if _META in found:
        return found.__getitem__  # an unknown URI: KeyError, a LookupError as the registry's
    from jsonschema_specifications import REGISTRY

    return REGISTRY.contents


def _meta() -> Check | None:
    if not _meta_check:
        try:
            # Formats (`regex`, `uri-reference`) looked up on first need: jsonschema's own checkers.
            refs = _Refs(_meta_documents(), _META, {}, _default_formats)
            _meta_check.append(refs.ref(_META))
        except (Unsupported, LookupError, TypeError, ImportError):
            _meta_check.append(None)
    return _meta_check[0]


def meta_check() -> Check | None:
    """The compiled 2020-12 metaschema as a yes/no (None where it cannot be compiled)."""
    return _meta()


def check_schema(schema: Any) -> None:
    """`Draft202012Validator.check_schema(schema)`: the compiled metaschema answers for a valid
    schema (the usual case, ~20x faster); anything else is jsonschema's own check and SchemaError."""
    check = _meta()
    if check is None or not check(schema):
        from jsonschema import Draft202012Validator

        Draft202012Validator.check_schema(schema)
