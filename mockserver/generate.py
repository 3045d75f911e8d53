"""Values from JSON Schema: deterministic, valid and readable.

`generate(schema, seed)` returns a value the schema accepts (2020-12, formats checked, `pattern` as
ECMA-262 means it, as `mockserver.ecma` validates it). The value at each JSON pointer is a pure
function of (seed, pointer): every location draws from its own `random.Random`, seeded by a hash of
the two, so no global random state, no clock, and the same answer in every process.

The rules, in the order they apply at one location:

- `example`, then the first of `examples`, then `default`, when it is valid there (realistic data)
  and holds no discriminator value a strict reader refuses (see below); properties the mode leaves
  out are dropped from it first.
- `const`; `enum` (one of the valid values, `null` only when nothing else is).
- `allOf` is merged into one schema first; what cannot be merged (a second `pattern`, a second
  `oneOf`) stays in `allOf` and is checked.
- A base schema whose `discriminator` names the schemas that extend it (allOf inheritance, listed by
  the loader under `x-mock-discriminator`, see `mockserver.spec`) is an `anyOf` of those (of those
  its `mapping` names, when it names any), each with its name in the property.
- `oneOf`/`anyOf`: a branch chosen by the location's random draw, the others in turn when the value
  does not validate (for `oneOf`: when it matches more than one branch). With a `discriminator`, its
  property is set to the branch's name: the branch's own `const`/`enum` for it, else the `mapping` key
  whose target is that branch (the same object, or a `.../Name` reference whose name is the branch's
  `title`), else the mapping key at the branch's position, else the branch's `title`. Open object
  branches that all accept the value are told apart, as a last resort, by a property only the other
  branch declares, set to a value it refuses (null first).
  Where the loader's note says which names a strict reader knows (`mockserver.discriminator`), only
  branches whose schema accepts one are generated, with it; with none, the value is avoided (an
  optional property left out, an array cut to its fewest items, another branch around it), and only
  when that fails is the whole value generated again with the values the branches pin.
- `if`/`then`/`else`: a value meeting `if` and `then` first, else one meeting `else`.
- `type`: the first non-null type listed (`null` only when no other type works, or past the depth
  limit). Without `type` the keywords say which (`properties` -> object, `items` -> array, ...);
  `{}` gives a string.
- Objects: every `required` property, and every other declared property unless the mode leaves it out
  (`response` leaves out `writeOnly`, `request` leaves out `readOnly`; a required one stays, so the
  value still validates), nor one whose schema is a recursion the loader cut to its type. A map
  (`additionalProperties` schema or `patternProperties`, no declared properties) gets one entry;
  `minProperties` adds more. An optional property that cannot be generated is left out.
- Arrays: all `prefixItems`, else one item, within `minItems`/`maxItems`; `contains` items are added
  as `minContains` asks; with `uniqueItems` each item must differ from those before it.
- Strings: the `format`'s shape (RFC 3339 UTC times from 2025, v4 uuids, `example.com` addresses,
  documentation IP ranges), else a string for the `pattern` (`regex_string`), else short words.
  Every `pattern` of a merged allOf must match.
- Numbers: small pleasant values inside the bounds; `multipleOf` as jsonschema checks it.
- Past depth 8, or after many values, objects get only required properties and arrays their minimum.

Anything unsatisfiable, or too hard for these rules, raises `GenerationError` naming the JSON pointer.
"""

from __future__ import annotations

import base64
import copy
import functools
import hashlib
import json
import math
import random
import re
import uuid
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from re import _constants as sre_c  # type: ignore[attr-defined]
from re import _parser as sre_parse  # type: ignore[attr-defined]
from typing import Any

from mockserver import ecma, formats
from mockserver.discriminator import DISCRIMINATOR, escape, strict_names, unnamed
from mockserver.fastschema import FastValidator, compile_check, format_check
from mockserver.keywords import VALIDATING

__all__ = ["GenerationError", "generate", "regex_string", "validator"]

MODES = ("response", "request")

MAX_DEPTH = 8  # past this nesting, only what the schema requires
_HARD_DEPTH = 48  # a required chain this deep is taken to never end
_NODE_BUDGET = 2000  # values per call before everything turns minimal
_WORK_LIMIT = 50_000  # schema visits per call before giving up
_ATTEMPTS = 6  # fresh draws at one location when its value fails a keyword checked after the fact
_REGEX_ATTEMPTS = 24
_SPAN = 6  # an unbounded repeat draws at most this many more than its minimum
_INF = 10**9
_MAX_LENGTH = 100_000  # a longer minLength is refused, not built
_MAX_COUNT = 1_000  # so are more items or properties than this
_EPOCH = datetime(2025, 1, 1, tzinfo=UTC)
_INT_FORMATS = {"int32": (-(2**31), 2**31 - 1), "int64": (-(2**63), 2**63 - 1),
                "uint32": (0, 2**32 - 1), "uint64": (0, 2**64 - 1)}
_FLOAT32_MAX = 3.4028234663852886e38

_WORDS = (
    "amber", "aspen", "atlas", "basil", "birch", "breeze", "cedar", "cinder", "clover", "comet", "coral",
    "dawn", "delta", "ember", "fern", "fjord", "flint", "garnet", "glade", "harbor", "hazel", "indigo",
    "iris", "jade", "juniper", "kestrel", "lagoon", "lark", "linden", "maple", "meadow", "mesa", "nova",
    "oak", "onyx", "opal", "orchid", "pebble", "pine", "prairie", "quartz", "quill", "raven", "reef",
    "ridge", "river", "sage", "sierra", "slate", "sparrow", "spruce", "summit", "thistle", "tundra",
    "umber", "valley", "violet", "willow", "wren", "yarrow", "zephyr",
)

# Keywords whose every constraint the builders below meet by construction; a schema with any other
# validating keyword has its value checked at that location (and drawn again when it fails).
_CONSTRUCTIVE = frozenset({
    "type", "properties", "required", "items", "prefixItems", "additionalProperties", "minItems",
    "maxItems", "minLength", "maxLength", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum",
    "format", "pattern",
})
_OBJECT_WORDS = frozenset({"properties", "required", "additionalProperties", "patternProperties",
                           "minProperties", "maxProperties", "propertyNames", "dependentRequired",
                           "dependentSchemas", "unevaluatedProperties", "discriminator"})
_ARRAY_WORDS = frozenset({"items", "prefixItems", "minItems", "maxItems", "uniqueItems", "contains",
                          "minContains", "maxContains", "unevaluatedItems"})
_STRING_WORDS = frozenset({"pattern", "minLength", "maxLength", "contentEncoding", "contentMediaType"})
_NUMBER_WORDS = frozenset({"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf"})
_ALL_TYPES = ("string", "integer", "number", "boolean", "object", "array", "null")

_MISSING = object()

_INHERITED: dict[int, tuple[dict, list]] = {}  # id(note) -> (note kept alive, its anyOf branches)
# The loader's mark on where a recursive schema was cut to its type (mockserver.spec): a value made
# there may lack what the full schema requires, so an optional property of that schema is left out.
CUT = "x-mock-recursion"


class GenerationError(ValueError):
    """No value was found for a schema: it is unsatisfiable, or too hard for these rules."""


class _Unnamed(GenerationError):
    """No branch of a discriminated oneOf/anyOf takes a value a strict reader knows (see
    `mockserver.discriminator`): the value is avoided where it can be (an optional property, fewer
    array items, another branch around it)."""


def generate(schema: dict, seed: str, *, mode: str = "response", pointer: str = "", whole_examples: bool = True) -> Any:
    """A value valid against `schema`, a pure function of (seed, JSON pointer) at every location.

    `pointer` is where the value sits in a larger document (its locations' draws continue from there);
    `mode` is "response" (no writeOnly properties) or "request" (no readOnly ones). `whole_examples`
    False: an object's or array's example is not used, only scalar ones (an error's example speaks
    of another request: its `issues` name another field).
    """
    if mode not in MODES:
        raise ValueError(f"mode is 'response' or 'request', not {mode!r}")
    checker = validator(schema)
    depth = pointer.count("/")
    error = None
    # Discriminator values a strict reader knows first; where none can be, today's lenient values.
    for strict in (True, False):
        generator = _Generator(str(seed), mode, whole_examples, strict)
        try:
            for attempt in range(3):
                value = generator.gen(schema, pointer, depth, "" if attempt == 0 else f"!{attempt}")
                error = next(iter(checker.iter_errors(value)), None)
                if error is None:
                    return value
        except GenerationError:
            if not strict:
                raise
            continue
        if not strict:
            break
    where = pointer + "".join("/" + escape(str(part)) for part in error.absolute_path)
    raise GenerationError(f"{_where(where)}: the generated value fails the schema: {error.message}")


def regex_string(pattern: str, rng: random.Random, min_length: int = 0, max_length: int | None = None) -> str:
    """A string `pattern` finds (ECMA-262 `search`), of min_length..max_length characters.

    Walks the parsed pattern, aiming the repeats at a length inside the bounds; an unanchored
    pattern's match may be padded at an unanchored end. Leading lookaheads, as in password rules,
    are met by their shape: `(?=.{8,64}$)` bounds the length, each `(?=.*X)` puts an X in front.
    GenerationError when nothing was found.
    """
    items = _parse_pattern(pattern)
    compiled = ecma.compile_pattern(pattern)
    walker = _RegexWalker(rng)
    upper = _INF if max_length is None else max_length
    least = min_length
    fragments = []
    for op, arg in items:
        if op is sre_c.AT and arg in _STARTS:
            continue
        if op is not sre_c.ASSERT or arg[0] != 1 or not arg[1]:
            break
        content = list(arg[1])
        if content[-1][0] is sre_c.AT and content[-1][1] in _ENDS:  # the length of all the rest
            low, high = walker.width(content[:-1])
            least, upper = max(least, low), min(upper, high)
        elif content[0][0] in _REPEATS and content[0][1][0] == 0:  # "somewhere, an X"
            fragments.append(content[1:])
    if least > upper:
        raise GenerationError(f"no string is at least {least} and at most {upper} characters long")

    def fits(text: str) -> bool:
        return least <= len(text) <= upper and compiled.search(text) is not None

    low, high = walker.width(items)
    open_start = not (items and items[0][0] is sre_c.AT and items[0][1] in _STARTS)
    open_end = not (items and items[-1][0] is sre_c.AT and items[-1][1] in _ENDS)
    bounded = least > 0 or upper < _INF
    for attempt in range(_REGEX_ATTEMPTS):
        walker.groups = {}
        walker.wide = attempt % 4 >= 2  # every other pair of tries: punctuation too, not only letters
        front = "".join(walker.sequence(fragment, None) for fragment in fragments) if attempt % 2 else ""
        target = None
        if bounded and (attempt % 2 or fragments):
            aim_low, aim_high = max(low, least - len(front)), min(high, upper - len(front))
            if aim_low <= aim_high:
                target = rng.randint(aim_low, min(aim_high, aim_low + _SPAN))
            elif high < least - len(front):  # the match is too short whatever it is: aim long, then pad
                target = high
        text = front + walker.sequence(items, target)
        if fits(text):
            return text
        if len(text) < least and (open_start or open_end):
            # Letters, or a space then letters where the match must end on a word boundary.
            filler = "".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(least - len(text)))
            spaced = " " + filler[1:]
            for padded in ([text + filler, text + spaced] if open_end else []) + \
                    ([filler + text, spaced[::-1] + text] if open_start else []):
                if fits(padded):
                    return padded
        if len(text) > upper and fits(text[:upper]):
            return text[:upper]
    size = f" of {least}..{'' if upper >= _INF else upper} characters" if bounded else ""
    raise GenerationError(f"no string{size} matching {pattern!r} was found")


# --- the generator ----------------------------------------------------------------------------------


class _Generator:
    """One call of `generate`: the seed, the mode, and what this call has spent."""

    def __init__(self, seed: str, mode: str, whole_examples: bool = True, strict: bool = False) -> None:
        self.seed = seed
        self.strict = strict  # discriminator values only a strict reader knows (mockserver.discriminator)
        self.whole_examples = whole_examples
        self.hidden = "writeOnly" if mode == "response" else "readOnly"
        self.work = 0
        self.nodes = 0

    # -- plumbing

    def rng(self, ptr: str, salt: str) -> random.Random:
        text = f"{self.seed}\x00{ptr}\x00{salt}".encode("utf-8", "surrogatepass")
        return random.Random(int.from_bytes(hashlib.blake2b(text, digest_size=16).digest(), "big"))

    def valid(self, schema: Any, value: Any) -> bool:
        return validator(schema).is_valid(value)

    def guard(self, depth: int) -> bool:
        return depth >= MAX_DEPTH or self.nodes > _NODE_BUDGET

    def hides(self, schema: Any) -> bool:
        """Whether the mode leaves this property out (its flag set on it or on one of its allOf)."""
        if not isinstance(schema, dict):
            return False
        members = schema.get("allOf") if isinstance(schema.get("allOf"), list) else ()
        return schema.get(self.hidden) is True or any(isinstance(m, dict) and m.get(self.hidden) is True
                                                      for m in members)

    # -- one location

    def gen(self, schema: Any, ptr: str, depth: int, salt: str, lean: bool = False) -> Any:
        self.work += 1
        if self.work > _WORK_LIMIT:
            raise GenerationError(f"{_where(ptr)}: the schema is too hard (gave up after {_WORK_LIMIT} steps)")
        if depth > _HARD_DEPTH:
            raise GenerationError(f"{_where(ptr)}: required values nest more than {_HARD_DEPTH} levels deep")
        if schema is True:
            schema = {}
        if schema is False:
            raise GenerationError(f"{_where(ptr)}: the schema is `false`: no value is valid")
        if not isinstance(schema, dict):
            raise GenerationError(f"{_where(ptr)}: a schema is an object or a boolean, not {schema!r}")
        self.nodes += 1
        s = self.flatten(schema, ptr)
        if isinstance(s.get(DISCRIMINATOR), dict) and "subtypes" in s[DISCRIMINATOR]:
            s = _inherited(s)
        example = self.example(s)
        if example is not _MISSING:
            return example
        if "const" in s:
            return copy.deepcopy(s["const"])
        if "enum" in s:
            return self.enum(s, ptr, salt)
        if "oneOf" in s or "anyOf" in s:
            return self.branches(s, ptr, depth, salt, lean)
        if "if" in s:
            return self.conditional(s, ptr, depth, salt, lean)
        return self.typed(s, ptr, depth, salt, lean)

    def flatten(self, schema: dict, ptr: str, level: int = 0) -> dict:
        """The schema with its allOf merged in (what does not merge stays in a shorter allOf)."""
        if "allOf" not in schema:
            return schema
        if level > 32:
            raise GenerationError(f"{_where(ptr)}: allOf nests more than 32 levels deep")
        members = schema["allOf"]
        if not isinstance(members, list):
            return schema
        merged = {key: value for key, value in schema.items() if key != "allOf"}
        leftovers: list = []
        for member in members:
            if member is True:
                continue
            if not isinstance(member, dict):
                raise GenerationError(f"{_where(ptr)}: allOf holds `false`: no value is valid")
            _merge_into(merged, self.flatten(member, ptr, level + 1), leftovers)
        if leftovers:
            merged["allOf"] = leftovers
        return merged

    def example(self, s: dict) -> Any:
        for key in ("example", "examples", "default"):
            if key not in s:
                continue
            value = s[key]
            if key == "examples":
                if not isinstance(value, list) or not value:
                    continue
                value = value[0]
            if not self.whole_examples and isinstance(value, dict | list):
                continue
            value = self.strip(copy.deepcopy(value), s)
            if self.valid(s, value) and not (self.strict and unnamed(s, value, self.valid)):
                return value
        return _MISSING

    def strip(self, value: Any, schema: Any, level: int = 0) -> Any:
        """An example without the properties the mode leaves out (unless required)."""
        if not isinstance(schema, dict) or level > MAX_DEPTH:
            return value
        try:
            schema = self.flatten(schema, "")
        except GenerationError:
            return value
        if isinstance(value, dict) and isinstance(schema.get("properties"), dict):
            required = set(schema.get("required") or ())
            for key in list(value):
                sub = schema["properties"].get(key)
                if sub is None:
                    continue
                if key not in required and self.hides(sub):
                    del value[key]
                else:
                    value[key] = self.strip(value[key], sub, level + 1)
        elif isinstance(value, list) and isinstance(schema.get("items"), dict):
            value[:] = [self.strip(item, schema["items"], level + 1) for item in value]
        return value

    def enum(self, s: dict, ptr: str, salt: str) -> Any:
        allowed = s["enum"] if isinstance(s["enum"], list) else []
        values = [value for value in allowed if self.valid(s, value)]
        if not values:
            raise GenerationError(f"{_where(ptr)}: no value of the enum {allowed!r} satisfies the schema")
        preferred = [value for value in values if value is not None] or values
        return copy.deepcopy(self.rng(ptr, salt).choice(preferred))

    def branches(self, s: dict, ptr: str, depth: int, salt: str, lean: bool) -> Any:
        key = "oneOf" if "oneOf" in s else "anyOf"
        options = s[key] if isinstance(s[key], list) else []
        if not options:
            raise GenerationError(f"{_where(ptr)}: {key} is empty")
        rest = {k: v for k, v in s.items() if k not in (key, "discriminator", DISCRIMINATOR)}
        start = self.rng(ptr, salt).randrange(len(options))
        order = [*range(start, len(options)), *range(start)]
        # A `null` branch (3.0's nullable, made anyOf) last, so values are not null half the time;
        # first past the depth limit, where the least is best.
        nulls = [i for i in order if _only_null(options[i])]
        order = [i for i in order if i not in nulls]
        order = [*nulls, *order] if self.guard(depth) else [*order, *nulls]
        first_error = None
        overlapping = []  # (branch, its schema, a value it accepts that matched another branch too)
        note = s.get(DISCRIMINATOR)
        known = strict_names(s) if self.strict and isinstance(note, dict) and note.get("of") == key else None
        if known is not None:
            order = [index for index in order if self.strict_values(known, options, index)]
            if not order:
                raise _Unnamed(f"{_where(ptr)}: no branch of {key} takes a discriminator value a strict reader "
                               f"knows ({', '.join(n for names in known[1] for n in names)})")
        for index in order:
            if known is not None:
                names, property_name = self.strict_values(known, options, index), known[0]
            else:
                names = self.discriminator_values(s, options, index)
                property_name = s["discriminator"].get("propertyName") if names else None
            for name in [*names, _MISSING] if known is None else names:
                sub = _merge(rest, options[index])
                if name is not _MISSING and sub is not False:
                    sub = _merge(sub, {"properties": {property_name: {"const": name}}, "required": [property_name]})
                # A value matching two oneOf branches is drawn again: fresh draws, then only required.
                for variant, variant_lean in (("", lean), ("~1", lean), ("~2", True)):
                    try:
                        value = self.gen(sub, ptr, depth, salt + variant, variant_lean)
                    except GenerationError as error:
                        first_error = first_error or error
                        break
                    if self.valid(s, value):
                        return value
                    if key == "anyOf":
                        break
                    if len(overlapping) < 8 and self.valid(sub, value):
                        overlapping.append((index, sub, value))
        for index, sub, value in overlapping:
            spoiled = self.spoil(s, options, index, sub, value)
            if spoiled is not _MISSING:
                return spoiled
        if known is not None:  # no branch a strict reader names could be made
            raise _Unnamed(str(first_error) if first_error is not None else f"{_where(ptr)}: no branch of {key} "
                           "named by its discriminator gives a valid value")
        if first_error is not None:  # the deepest reason names the deepest pointer
            raise first_error
        raise GenerationError(f"{_where(ptr)}: no branch of {key} gives a valid value (each matches another too)"
                              if key == "oneOf" else f"{_where(ptr)}: no branch of anyOf gives a valid value")

    def spoil(self, s: dict, options: list, index: int, sub: dict, value: Any) -> Any:
        """The last resort for oneOf branches that overlap (open objects, all of whose properties are
        optional): a property only the other branch declares, given a value of another type (null
        first), which the chosen branch lets pass as an extra property and the other branch refuses."""
        if not isinstance(value, dict):
            return _MISSING
        try:
            chosen = self.flatten(sub, "")
        except GenerationError:
            return _MISSING
        out = dict(value)
        for number, other in enumerate(options):
            if number == index or not self.valid(other, out) or not isinstance(other, dict):
                continue
            try:
                declared = self.flatten(other, "").get("properties") or {}
            except GenerationError:
                continue
            for name, prop in declared.items() if isinstance(declared, dict) else ():
                if name in out:
                    continue
                allowed = self.property_schema(chosen, name)
                spoiler = next((c for c in (None, 0, "", False, [], {}) if not self.valid(prop, c)
                                and self.valid(allowed, c)), _MISSING)
                if spoiler is not _MISSING:
                    out[name] = spoiler
                    if not self.valid(other, out):
                        break
        return out if self.valid(s, out) else _MISSING

    def strict_values(self, known: tuple[str, list], options: list, index: int) -> list:
        """The names a strict reader knows branch `index` by that its schema accepts for the property."""
        prop, names = known
        branch = options[index]
        try:
            flat = self.flatten(branch, "") if isinstance(branch, dict) else {}
        except GenerationError:
            return []
        schema = self.property_schema(flat, prop) if isinstance(flat, dict) else True
        return [name for name in (names[index] if index < len(names) else ()) if self.valid(schema, name)]

    def discriminator_values(self, s: dict, options: list, index: int) -> list:
        """The discriminator property's value for branch `index`, most likely first (see the module doc)."""
        disc = s.get("discriminator")
        branch = options[index]
        if not isinstance(disc, dict) or not isinstance(disc.get("propertyName"), str) \
                or not isinstance(branch, dict):
            return []
        name = disc["propertyName"]
        mapping = disc.get("mapping") if isinstance(disc.get("mapping"), dict) else {}
        try:
            flat = self.flatten(branch, "")
            prop = (flat.get("properties") or {}).get(name)
            prop = self.flatten(prop, "") if isinstance(prop, dict) else {}
        except GenerationError:
            return []
        if "const" in prop:
            return [prop["const"]]
        if isinstance(prop.get("enum"), list):
            return list(prop["enum"])
        title = flat.get("title")
        found = [key for key, target in mapping.items()
                 if target is branch or (isinstance(target, dict) and _same(target, branch))
                 or (isinstance(target, str) and title and target.rsplit("/", 1)[-1] == title)]
        if not found and mapping and len(mapping) == len(options):
            found = [list(mapping)[index]]
        if isinstance(title, str) and title not in found:
            found.append(title)
        return found

    def conditional(self, s: dict, ptr: str, depth: int, salt: str, lean: bool) -> Any:
        rest = {k: v for k, v in s.items() if k not in ("if", "then", "else")}
        first_error = None
        for sub in (_merge(_merge(rest, s["if"]), s.get("then", True)), _merge(rest, s.get("else", True)), rest):
            if sub is False:
                continue
            try:
                value = self.gen(sub, ptr, depth, salt, lean)
            except GenerationError as error:
                first_error = first_error or error
                continue
            if self.valid(s, value):
                return value
        raise first_error or GenerationError(f"{_where(ptr)}: neither then nor else gives a valid value")

    def typed(self, s: dict, ptr: str, depth: int, salt: str, lean: bool) -> Any:
        types = self.types(s, depth)
        if not types:
            raise GenerationError(f"{_where(ptr)}: no type is allowed")
        checked = any(key not in _CONSTRUCTIVE and key in VALIDATING for key in s)
        last_error = None
        for number, kind in enumerate(types):
            for attempt in range(_ATTEMPTS if checked else 1):
                draw = salt if number == attempt == 0 else f"{salt}/{number}.{attempt}"
                try:
                    value = self.build(kind, s, ptr, depth, draw, lean, checked)
                except GenerationError as error:
                    last_error = error
                    break
                if not checked or self.valid(s, value):
                    return value
        if last_error is not None and len(types) == 1:
            raise last_error
        raise GenerationError(f"{_where(ptr)}: no value of type {' or '.join(types)} satisfies the schema")

    def types(self, s: dict, depth: int) -> list[str]:
        declared = s.get("type")
        if isinstance(declared, str):
            types = [declared]
        elif isinstance(declared, list):
            types = [t for t in declared if isinstance(t, str)]
        else:
            types = _inferred(s)
        negated = s.get("not")
        if isinstance(negated, dict) and set(negated) == {"type"}:
            excluded = {negated["type"]} if isinstance(negated["type"], str) else set(negated["type"])
            if "number" in excluded:
                excluded.add("integer")
            types = [t for t in types if t not in excluded]
        others = [t for t in types if t != "null"]
        if "null" not in types:
            return others
        return ["null", *others] if self.guard(depth) else [*others, "null"]

    def build(self, kind: str, s: dict, ptr: str, depth: int, salt: str, lean: bool, checked: bool) -> Any:
        rng = self.rng(ptr, salt)
        if kind == "object":
            return self.object(s, ptr, depth, salt, lean)
        if kind == "array":
            return self.array(s, ptr, depth, salt)
        # A number drawn from a range scans on past values the rest of the schema refuses (`not`, ...).
        accept = (lambda value: self.valid(s, value)) if checked else None
        if kind == "string":
            return _string(s, ptr, rng)
        if kind == "integer":
            return _integer(s, ptr, rng, accept)
        if kind == "number":
            return _number(s, ptr, rng, accept)
        if kind == "boolean":
            return rng.random() < 0.5
        if kind == "null":
            return None
        raise GenerationError(f"{_where(ptr)}: unknown type {kind!r}")

    # -- containers

    def object(self, s: dict, ptr: str, depth: int, salt: str, lean: bool) -> dict:
        props = s.get("properties") if isinstance(s.get("properties"), dict) else {}
        required = list(dict.fromkeys(n for n in s.get("required") or () if isinstance(n, str)))
        most = _count(s, "maxProperties", _INF)
        least = _count(s, "minProperties", 0)
        if least > _MAX_COUNT:
            raise GenerationError(f"{_where(ptr)}: minProperties {least} is more than this generator makes")
        if len(required) > most:
            raise GenerationError(f"{_where(ptr)}: {len(required)} required properties but maxProperties {most}")
        minimal = lean or self.guard(depth)
        names = list(required)
        optional = [name for name in props if name not in names and not self.hides(props[name])
                    and not _cut(props[name])]
        if not minimal:
            names += optional[:max(0, most - len(names))]
        dependent = s.get("dependentRequired") if isinstance(s.get("dependentRequired"), dict) else {}
        for name in names:  # grows while walked: dependents of dependents
            names += [d for d in dependent.get(name, ()) if d not in names]
        needed = set(required) | {d for n in names for d in dependent.get(n, ())}
        out: dict = {}
        for name in names:
            sub = self.property_schema(s, name)
            child = f"{ptr}/{escape(name)}"
            if name in needed:
                out[name] = self.gen(sub, child, depth + 1, salt)
                continue
            try:
                out[name] = self.gen(sub, child, depth + 1, salt)
            except GenerationError:
                pass  # an optional property that cannot be made is left out
        for name in optional:  # minProperties first takes declared properties left out above
            if len(out) >= least:
                break
            if name not in out:
                try:
                    out[name] = self.gen(props[name], f"{ptr}/{escape(name)}", depth + 1, salt)
                except GenerationError:
                    pass
        extra = s.get("additionalProperties", True)
        wanted = least - len(out)
        if not props and not minimal and (isinstance(extra, dict) or s.get("patternProperties")):
            wanted = max(wanted, 1)  # a map shows one entry
        wanted = min(wanted, most - len(out))
        tries = 0
        while wanted > 0 and tries < 8 * wanted + 8:
            tries += 1
            key = self.key(s, ptr, depth, salt, tries)
            if key is None or key in out:
                continue
            sub = self.property_schema(s, key)
            if sub is False:
                continue
            try:
                out[key] = self.gen(sub, f"{ptr}/{escape(key)}", depth + 1, salt)
            except GenerationError:
                continue
            wanted -= 1
        if len(out) < least:
            raise GenerationError(f"{_where(ptr)}: could not make the {least} properties minProperties asks")
        return out

    def property_schema(self, s: dict, name: str) -> Any:
        """The schema a property's value must meet: its declaration and every patternProperties match."""
        props = s.get("properties") if isinstance(s.get("properties"), dict) else {}
        patterns = s.get("patternProperties") if isinstance(s.get("patternProperties"), dict) else {}
        matched = [sub for pattern, sub in patterns.items() if ecma.search(pattern, name)]
        if name in props:
            schema = props[name]
        elif matched:
            schema = matched.pop(0)
        else:
            schema = s.get("additionalProperties", True)
        for sub in matched:
            schema = _merge(schema, sub)
        return schema

    def key(self, s: dict, ptr: str, depth: int, salt: str, number: int) -> str | None:
        """A new property name: from patternProperties when extras are barred or every other try."""
        names = s.get("propertyNames", True)
        patterns = [p for p in (s.get("patternProperties") or {}) if isinstance(p, str)]
        schema: Any = {"type": "string"}
        if patterns and (s.get("additionalProperties", True) is False or number % 2 == 0):
            schema = {"type": "string", "pattern": patterns[number % len(patterns)]}
        schema = _merge(schema, names)
        if number % 2 == 0 and schema is not False:  # longer names, where a pattern's match is too short to differ
            schema = _merge(schema, {"minLength": 2 + number})
        try:
            key = self.gen(schema, f"{ptr}#key{number}", depth + 1, salt)
        except GenerationError:
            return None
        return key if isinstance(key, str) else None

    def array(self, s: dict, ptr: str, depth: int, salt: str) -> list:
        prefix = s.get("prefixItems") if isinstance(s.get("prefixItems"), list) else []
        items = s.get("items", True)
        least = _count(s, "minItems", 0)
        most = _count(s, "maxItems", _INF)
        contains = s.get("contains", _MISSING)
        wanted_contains = _count(s, "minContains", 1) if contains is not _MISSING else 0
        if max(least, wanted_contains) > _MAX_COUNT:
            raise GenerationError(f"{_where(ptr)}: minItems {least} is more than this generator makes")
        # items the loader cut short (a recursion: MatchPredicate's `children`) would be `{}`, which the
        # whole schema may refuse: none, where none may be
        count = least if self.guard(depth) or (not prefix and _cut(items)) else max(least, len(prefix) or 1)
        count = min(max(count, wanted_contains), most)
        if items is False:
            count = min(count, len(prefix))
        if count < least or count < wanted_contains:
            raise GenerationError(f"{_where(ptr)}: no array length meets minItems, maxItems and the items allowed")
        unique = s.get("uniqueItems") is True
        out: list = []
        for index in range(count):
            sub = prefix[index] if index < len(prefix) else items
            if index >= count - wanted_contains:  # the last items carry what `contains` asks
                sub = _merge(sub, contains)
            if unique and out:  # as a constraint, so a number scans on to an unused value
                sub = _merge(sub, {"not": {"enum": list(out)}})
            child = f"{ptr}/{index}"
            try:
                value = self.gen(sub, child, depth + 1, salt)
            except _Unnamed:
                if index < least or wanted_contains:
                    raise
                break  # fewer items, rather than one whose discriminator a strict reader refuses
            except GenerationError:
                if not (unique and out):
                    raise
                raise GenerationError(f"{_where(child)}: no value differs from the items before it "
                                      "(uniqueItems)") from None
            out.append(value)
        return out


# --- scalars ----------------------------------------------------------------------------------------


def _string(s: dict, ptr: str, rng: random.Random) -> str:
    least = _count(s, "minLength", 0)
    most = _count(s, "maxLength", None)
    fmt = s.get("format")
    # Patterns merged from allOf stay in its leftovers: every one must match, each may lead.
    patterns = [p for p in [s.get("pattern"), *(m.get("pattern") for m in s.get("allOf") or () if isinstance(m, dict))]
                if isinstance(p, str)]
    for pattern in patterns:
        _parse_pattern(pattern)  # a pattern `re` cannot read is the schema's error, said as such

    def fits(text: str) -> bool:
        return (least <= len(text) and (most is None or len(text) <= most)
                and all(ecma.search(pattern, text) for pattern in patterns)
                and (not isinstance(fmt, str) or _conforms(fmt)(text)))

    if least > _MAX_LENGTH:
        raise GenerationError(f"{_where(ptr)}: minLength {least} is longer than this generator makes")
    problem = ""
    if isinstance(fmt, str) and fmt in _FORMATS:
        shapes = _FORMATS[fmt](rng)
        for text in [shapes] if isinstance(shapes, str) else shapes:
            if fits(text):
                return text
    for pattern in patterns:
        for _ in range(3 if len(patterns) == 1 else 8):
            try:
                text = regex_string(pattern, rng, least, most)
            except GenerationError as error:
                problem = f": {error}"
                break
            if fits(text):
                return text
    text = _words(rng, least, most)
    if s.get("contentEncoding") == "base64" and not patterns and not isinstance(fmt, str):
        text = base64.b64encode(text.encode()).decode("ascii")
    if fits(text):
        return text
    raise GenerationError(f"{_where(ptr)}: no string meets format, pattern and length together{problem}")


def _words(rng: random.Random, least: int, most: int | None) -> str:
    text = rng.choice(_WORDS)
    while len(text) < least:
        text += " " + rng.choice(_WORDS)
    if most is not None and len(text) > most:
        text = text[:most]
        if text.endswith(" "):
            text = text[:-1] + "a"
    return text


def _datetime(rng: random.Random) -> datetime:
    return _EPOCH + timedelta(seconds=rng.randrange(365 * 86400))


def _times(rng: random.Random, shape: str) -> list[str]:
    """One moment in the shapes a pattern may ask for: seconds, milliseconds, microseconds, an offset."""
    moment = _datetime(rng).replace(microsecond=rng.randrange(1000) * 1000)
    return [moment.strftime(shape + "Z"), moment.strftime(shape + ".%f")[:-3] + "Z",
            moment.strftime(shape + ".%fZ"), moment.strftime(shape + "+00:00")]


# A format's value, or its candidate values in order of preference (the first the schema accepts wins).
_FORMATS = {
    "date-time": lambda rng: _times(rng, "%Y-%m-%dT%H:%M:%S"),
    "date": lambda rng: _datetime(rng).strftime("%Y-%m-%d"),
    "time": lambda rng: _times(rng, "%H:%M:%S"),
    "duration": lambda rng: f"P{rng.randint(1, 30)}D",
    "uuid": lambda rng: str(uuid.UUID(int=rng.getrandbits(128), version=4)),
    "email": lambda rng: f"{rng.choice(_WORDS)}@example.com",
    "idn-email": lambda rng: f"{rng.choice(_WORDS)}@example.com",
    "hostname": lambda rng: f"{rng.choice(_WORDS)}.example.com",
    "idn-hostname": lambda rng: f"{rng.choice(_WORDS)}.example.com",
    "ipv4": lambda rng: f"192.0.2.{rng.randint(1, 254)}",  # TEST-NET-1, for documentation
    "ipv6": lambda rng: f"2001:db8::{rng.randint(1, 0xFFFF):x}",  # the documentation prefix
    "uri": lambda rng: f"https://example.com/{rng.choice(_WORDS)}",
    "url": lambda rng: f"https://example.com/{rng.choice(_WORDS)}",
    "iri": lambda rng: f"https://example.com/{rng.choice(_WORDS)}",
    "uri-reference": lambda rng: f"https://example.com/{rng.choice(_WORDS)}",
    "iri-reference": lambda rng: f"https://example.com/{rng.choice(_WORDS)}",
    "uri-template": lambda rng: f"https://example.com/{rng.choice(_WORDS)}/{{id}}",
    "json-pointer": lambda rng: f"/{rng.choice(_WORDS)}",
    "relative-json-pointer": lambda rng: f"{rng.randint(0, 3)}/{rng.choice(_WORDS)}",
    "regex": lambda rng: "^[a-z]+$",
    "byte": lambda rng: base64.b64encode(rng.choice(_WORDS).encode()).decode("ascii"),
    "binary": lambda rng: rng.choice(_WORDS),
    "password": lambda rng: f"{rng.choice(_WORDS)}-{rng.randint(1000, 9999)}",
    "int32": lambda rng: str(rng.randint(1, 1000)),
    "int64": lambda rng: str(rng.randint(1, 1000)),
}


def _bound(s: dict, inclusive: str, exclusive: str) -> tuple[float | None, bool]:
    """The tighter of an inclusive and an exclusive bound, and whether it is exclusive."""
    candidates = []
    if _is_number(s.get(inclusive)):
        candidates.append((s[inclusive], False))
    if _is_number(s.get(exclusive)):  # a boolean (OpenAPI 3.0's form) is the loader's to translate
        candidates.append((s[exclusive], True))
    if not candidates:
        return None, False
    lower = inclusive == "minimum"
    return sorted(candidates, key=lambda c: (c[0], c[1] if lower else not c[1]))[-1 if lower else 0]


def _integer(s: dict, ptr: str, rng: random.Random, accept=None) -> int:
    low, low_open = _bound(s, "minimum", "exclusiveMinimum")
    high, high_open = _bound(s, "maximum", "exclusiveMaximum")
    low = None if low is None else (math.floor(low) + 1 if low_open else math.ceil(low))
    high = None if high is None else (math.ceil(high) - 1 if high_open else math.floor(high))
    if s.get("format") in _INT_FORMATS:
        format_low, format_high = _INT_FORMATS[s["format"]]
        low = format_low if low is None else max(low, format_low)
        high = format_high if high is None else min(high, format_high)
    if low is not None and high is not None and low > high:
        raise GenerationError(f"{_where(ptr)}: no integer lies between {s.get('minimum')} and {s.get('maximum')}")
    step = s.get("multipleOf")
    step = Fraction(str(step)).numerator if _is_number(step) and step > 0 else 1  # integer multiples
    value = _pick_multiple(low, high, step, s.get("multipleOf"), rng, integer=True, accept=accept)
    if value is None:
        raise GenerationError(f"{_where(ptr)}: no integer multiple of {s.get('multipleOf')} lies in the bounds")
    return value


def _number(s: dict, ptr: str, rng: random.Random, accept=None) -> float | int:
    low, low_open = _bound(s, "minimum", "exclusiveMinimum")
    high, high_open = _bound(s, "maximum", "exclusiveMaximum")
    if s.get("format") == "float":
        low = -_FLOAT32_MAX if low is None else max(low, -_FLOAT32_MAX)
        high = _FLOAT32_MAX if high is None else min(high, _FLOAT32_MAX)

    def inside(value: float) -> bool:
        return ((low is None or (value > low if low_open else value >= low))
                and (high is None or (value < high if high_open else value <= high)))

    step = s.get("multipleOf")
    if _is_number(step) and step > 0:
        value = _pick_multiple(low, high, step, step, rng, integer=False, inside=inside, accept=accept)
        if value is None:
            raise GenerationError(f"{_where(ptr)}: no multiple of {step} lies in the bounds")
        return value
    start, end = _window(low, high, 0.0, 100.0)
    middle = (start + end) / 2
    draws = [round(rng.uniform(start, end), 2) for _ in range(1 if accept is None else 20)]
    for value in (*draws, round(middle, 6), middle, start, end):
        if inside(value) and (accept is None or accept(value)):
            return value
    raise GenerationError(f"{_where(ptr)}: no number lies between the bounds")


def _window(low: float | None, high: float | None, start: float, end: float) -> tuple[float, float]:
    """A small range of pleasant values inside [low, high] (either side may be open)."""
    if low is not None:
        start, end = max(start, low), max(end, low)
        if end - start < 1 and high is None:
            end = start + 100
    if high is not None:
        start, end = min(start, high), min(end, high)
        if end - start < 1 and low is None:
            start = end - 100
    if low is not None and high is not None and end - start < 1:
        start, end = low, high
    return start, end


def _pick_multiple(low, high, step, multiple_of, rng: random.Random, *, integer: bool, inside=None, accept=None):
    """A multiple of `step` in [low, high] that jsonschema's multipleOf accepts: near small values, else
    at either end of the range."""
    unit = Fraction(str(step))
    digits = len(str(unit.denominator))

    def scan(first: int, last: int) -> float | int | None:
        # A bound's float may sit just past a multiple: one more step each side, the checks decide.
        first, last = first - 1, last + 1
        begin = rng.randint(first, min(last, first + 100))
        for k in [*range(begin, min(last, begin + 60) + 1), *range(first, min(begin, first + 60))]:
            value = k * step
            if integer:
                value = int(value)
            elif isinstance(step, float):
                value = round(value, digits)
            if (inside is None or inside(value)) and (low is None or value >= low) \
                    and (high is None or value <= high) and _multiple_ok(value, multiple_of) \
                    and (accept is None or accept(value)):
                return value
        return None

    start, end = _window(low, high, 1, 100)
    found = scan(math.ceil(Fraction(start) / unit), math.floor(Fraction(end) / unit))
    if found is None and low is not None:
        first = math.ceil(Fraction(low) / unit)
        found = scan(first, first + 100)
    if found is None and high is not None:
        last = math.floor(Fraction(high) / unit)
        found = scan(last - 100, last)
    return found


def _multiple_ok(value: Any, multiple_of: Any) -> bool:
    """jsonschema's own multipleOf test."""
    if not _is_number(multiple_of) or multiple_of <= 0:
        return True
    if isinstance(multiple_of, float):
        quotient = value / multiple_of
        try:
            return int(quotient) == quotient
        except OverflowError:
            return (Fraction(value) / Fraction(multiple_of)).denominator == 1
    return not value % multiple_of


# --- regular expressions ----------------------------------------------------------------------------

_STARTS = (sre_c.AT_BEGINNING, sre_c.AT_BEGINNING_STRING)
_ENDS = (sre_c.AT_END, sre_c.AT_END_STRING)
_REPEATS = (sre_c.MAX_REPEAT, sre_c.MIN_REPEAT, sre_c.POSSESSIVE_REPEAT)
_PRINTABLE = [chr(code) for code in range(0x20, 0x7F)]
_READABLE = [c for c in _PRINTABLE if c.isalnum()]
_EXTRA = [chr(code) for code in range(0xA1, 0x250)]  # Latin letters, when a class excludes all ASCII


@functools.lru_cache(maxsize=1024)
def _parse_pattern(pattern: str) -> list:
    """The pattern as `re` parses ECMA's meaning of it (as `ecma.compile_pattern` compiles it)."""
    try:
        return list(sre_parse.parse(ecma.translate(pattern), re.ASCII))
    except re.error:
        try:
            return list(sre_parse.parse(pattern))
        except re.error as error:
            raise GenerationError(f"{pattern!r} is not a regular expression: {error}") from None


def _in_category(category: Any, char: str) -> bool:
    c = sre_c
    if category in (c.CATEGORY_DIGIT, c.CATEGORY_NOT_DIGIT):
        hit = "0" <= char <= "9"
    elif category in (c.CATEGORY_SPACE, c.CATEGORY_NOT_SPACE):
        hit = char in " \t\n\r\f\v"
    elif category in (c.CATEGORY_WORD, c.CATEGORY_NOT_WORD):
        hit = char.isascii() and (char.isalnum() or char == "_")
    elif category in (c.CATEGORY_LINEBREAK, c.CATEGORY_NOT_LINEBREAK):
        hit = char == "\n"
    else:
        return False
    return hit != category.name.startswith("CATEGORY_NOT_")


def _in_class(items: list, char: str) -> bool:
    negate = False
    for op, arg in items:
        if op is sre_c.NEGATE:
            negate = True
        elif (op is sre_c.LITERAL and ord(char) == arg) or (op is sre_c.RANGE and arg[0] <= ord(char) <= arg[1]) \
                or (op is sre_c.CATEGORY and _in_category(arg, char)):
            return not negate
    return negate


def _class_char(items: list, rng: random.Random, wide: bool = False) -> str:
    """A character of the class: a readable one when the class has any."""
    pool = _class_pool(tuple(items), wide)
    if pool:
        return rng.choice(pool)
    for op, arg in items:  # a class of characters beyond Latin only (a script's range)
        if op is sre_c.LITERAL:
            return chr(arg)
        if op is sre_c.RANGE:
            return chr(rng.randint(*arg))
    raise GenerationError("a character class matches no character this generator knows")


@functools.lru_cache(maxsize=1024)
def _class_pool(items: tuple, wide: bool) -> str:
    """The characters to draw from for a class: its letters and digits (all its printable ASCII when
    `wide`), else its printable ASCII, else Latin letters."""
    pool = [c for c in _PRINTABLE if _in_class(items, c)]
    readable = pool if wide else [c for c in pool if c.isalnum()]
    return "".join(readable or pool or [c for c in _EXTRA if _in_class(items, c)])


class _RegexWalker:
    """Emits text for a parsed pattern; `target` asks a part for exactly that many characters."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.groups: dict[int, str] = {}
        self.wide = False
        self.group_widths: dict[int, tuple[int, int]] = {}

    def width(self, items) -> tuple[int, int]:
        low = high = 0
        for op, arg in items:
            a, b = self.width_of(op, arg)
            low, high = min(_INF, low + a), min(_INF, high + b)
        return low, high

    def width_of(self, op, arg) -> tuple[int, int]:
        if op in (sre_c.LITERAL, sre_c.NOT_LITERAL, sre_c.IN, sre_c.ANY):
            return 1, 1
        if op is sre_c.SUBPATTERN:
            width = self.width(arg[-1])
            if arg[0]:
                self.group_widths[arg[0]] = width
            return width
        if op is sre_c.ATOMIC_GROUP:
            return self.width(arg)
        if op in _REPEATS:
            least, most, item = arg
            a, b = self.width(item)
            high = _INF if most is sre_c.MAXREPEAT or b >= _INF else min(_INF, most * b)
            return min(_INF, least * a), high
        if op is sre_c.BRANCH:
            widths = [self.width(alt) for alt in arg[1]]
            return min(w[0] for w in widths), max(w[1] for w in widths)
        if op is sre_c.GROUPREF:
            return self.group_widths.get(arg, (0, _INF))
        if op is sre_c.GROUPREF_EXISTS:
            widths = [self.width(alt) for alt in arg[1:] if alt is not None] or [(0, 0)]
            return min(w[0] for w in widths), max(w[1] for w in widths)
        return 0, 0  # anchors and lookarounds take no characters

    def pick(self, low: int, high: int) -> int:
        if low >= high:
            return low
        return self.rng.randint(low, min(high, low + 4 * _SPAN))

    def sequence(self, items, target: int | None) -> str:
        if target is None:
            return "".join(self.one(op, arg, None) for op, arg in items)
        widths = [self.width_of(op, arg) for op, arg in items]
        rest_low = [0] * (len(items) + 1)
        rest_high = [0] * (len(items) + 1)
        for i in range(len(items) - 1, -1, -1):
            rest_low[i] = min(_INF, rest_low[i + 1] + widths[i][0])
            rest_high[i] = min(_INF, rest_high[i + 1] + widths[i][1])
        out = []
        for i, (op, arg) in enumerate(items):
            a, b = widths[i]
            part = self.pick(max(a, target - rest_high[i + 1]), min(b, target - rest_low[i + 1]))
            text = self.one(op, arg, part)
            target -= len(text)
            out.append(text)
        return "".join(out)

    def one(self, op, arg, target: int | None) -> str:
        rng = self.rng
        if op is sre_c.LITERAL:
            return chr(arg)
        if op is sre_c.NOT_LITERAL:
            return rng.choice([c for c in (_PRINTABLE if self.wide else _READABLE) if ord(c) != arg])
        if op is sre_c.ANY:
            return rng.choice(_PRINTABLE if self.wide else _READABLE)
        if op is sre_c.IN:
            return _class_char(arg, rng, self.wide)
        if op is sre_c.SUBPATTERN:
            text = self.sequence(arg[-1], target)
            if arg[0]:
                self.groups[arg[0]] = text
            return text
        if op is sre_c.ATOMIC_GROUP:
            return self.sequence(arg, target)
        if op in _REPEATS:
            return self.repeat(*arg, target)
        if op is sre_c.BRANCH:
            alternatives = arg[1]
            if target is not None:
                fitting = [alt for alt in alternatives if self.width(alt)[0] <= target <= self.width(alt)[1]]
                alternatives = fitting or alternatives
            return self.sequence(rng.choice(alternatives), target)
        if op is sre_c.GROUPREF:
            return self.groups.get(arg, "")
        if op is sre_c.GROUPREF_EXISTS:
            group, yes, no = arg
            return self.sequence(yes if group in self.groups else (no or []), target)
        return ""

    def repeat(self, least: int, most: Any, item, target: int | None) -> str:
        if least > _MAX_LENGTH:
            raise GenerationError(f"a repeat of at least {least} is longer than this generator makes")
        most = _INF if most is sre_c.MAXREPEAT else most
        if target is None:
            count = self.rng.randint(least, min(most, least + _SPAN))
            return "".join(self.sequence(item, None) for _ in range(count))
        a, b = self.width(item)
        low, high = least, most
        if a > 0:
            high = min(high, target // a)
        if b > 0:
            low = max(low, -(-target // b))
        count = self.pick(low, high) if low <= high else least
        out = []
        for i in range(count):
            left = count - i - 1
            text = self.sequence(item, self.pick(max(a, target - left * b), min(b, target - left * a)))
            target -= len(text)
            out.append(text)
        return "".join(out)


# --- merging ----------------------------------------------------------------------------------------

_LARGEST = frozenset({"minimum", "exclusiveMinimum", "minLength", "minItems", "minProperties", "minContains"})
_SMALLEST = frozenset({"maximum", "exclusiveMaximum", "maxLength", "maxItems", "maxProperties", "maxContains"})
_SCHEMA_MAPS = frozenset({"properties", "patternProperties", "dependentSchemas"})
_SUBSCHEMAS = frozenset({"items", "additionalProperties", "propertyNames", "contains", "unevaluatedProperties",
                         "unevaluatedItems"})
_FLAGS = frozenset({"readOnly", "writeOnly", "uniqueItems", "deprecated"})


def _merge(a: Any, b: Any) -> Any:
    """Both schemas as one (False when either is false); what does not merge goes into allOf."""
    if a is False or b is False:
        return False
    if a is True or not isinstance(a, dict):
        return b if isinstance(b, dict) else {}
    if b is True or not isinstance(b, dict):
        return a
    merged = dict(a)
    leftovers: list = []
    _merge_into(merged, b, leftovers)
    if leftovers:
        merged["allOf"] = [*(merged.get("allOf") if isinstance(merged.get("allOf"), list) else ()), *leftovers]
    return merged


def _merge_into(out: dict, other: dict, leftovers: list) -> None:
    for key, value in other.items():
        if key == "allOf":
            leftovers.extend(value if isinstance(value, list) else ())
            continue
        if key in ("then", "else"):
            continue  # they travel with their `if`
        if key == "if":
            condition = {k: other[k] for k in ("if", "then", "else") if k in other}
            if "if" in out:
                leftovers.append(condition)
            else:
                out.update(condition)
            continue
        if key not in out:
            out[key] = value
            continue
        mine = out[key]
        if mine is value:
            continue
        if key == "type":
            out[key] = _meet_types(mine, value)
        elif key == "required" and isinstance(mine, list) and isinstance(value, list):
            out[key] = list(dict.fromkeys([*mine, *value]))
        elif key in _SCHEMA_MAPS and isinstance(mine, dict) and isinstance(value, dict):
            both = dict(mine)
            for name, sub in value.items():
                both[name] = {"allOf": [both[name], sub]} if name in both else sub
            out[key] = both
        elif key in _SUBSCHEMAS:
            out[key] = {"allOf": [mine, value]}
        elif key == "prefixItems" and isinstance(mine, list) and isinstance(value, list):
            longer = mine if len(mine) >= len(value) else value
            out[key] = [{"allOf": [x, y]} for x, y in zip(mine, value, strict=False)] + longer[min(len(mine),
                                                                                                  len(value)):]
        elif key in _LARGEST and _is_number(mine) and _is_number(value):
            out[key] = max(mine, value)
        elif key in _SMALLEST and _is_number(mine) and _is_number(value):
            out[key] = min(mine, value)
        elif key == "multipleOf" and _is_number(mine) and _is_number(value):
            out[key] = _lcm(mine, value)
        elif key == "enum" and isinstance(mine, list) and isinstance(value, list):
            out[key] = [x for x in mine if any(_same(x, y) for y in value)]
        elif key in _FLAGS:
            out[key] = mine or value
        elif key == "not":
            out[key] = {"anyOf": [mine, value]}
        elif key == "dependentRequired" and isinstance(mine, dict) and isinstance(value, dict):
            out[key] = {name: list(dict.fromkeys([*mine.get(name, ()), *value.get(name, ())]))
                        for name in {**mine, **value}}
        elif key in VALIDATING and not _same(mine, value):
            leftovers.append({key: value})  # a second const, pattern, oneOf...: checked, not merged
        # an annotation (title, example, discriminator...): the first one stays


def _cut(schema: Any, level: int = 0) -> bool:
    """Whether a schema is (or, through allOf or its items, holds) a recursion the loader cut short."""
    if not isinstance(schema, dict) or level > 8:
        return False
    if schema.get(CUT) is True:
        return True
    members = schema.get("allOf") if isinstance(schema.get("allOf"), list) else ()
    return any(_cut(member, level + 1) for member in members) or _cut(schema.get("items"), level + 1)


def _inherited(s: dict) -> dict:
    """A base schema whose discriminator names its subtypes as an `anyOf` of them (those its mapping
    names, when it names any), each with its first name as the property's `const` (a subtype expands
    with its own reference to the base cut short, so the base's other keywords stay beside the anyOf)."""
    note = s[DISCRIMINATOR]
    found = _INHERITED.get(id(note))
    if found is None or found[0] is not note:
        prop, count = note["property"], note.get("mapped") or len(note["subtypes"])
        options = [{"allOf": [subtype, {"required": [prop], "properties": {prop: {"const": names[0]}}}]}
                   for names, subtype in zip(note["branches"][:count], note["subtypes"][:count], strict=False)
                   if names]
        found = _INHERITED[id(note)] = (note, options)
    rest = {key: value for key, value in s.items() if key not in (DISCRIMINATOR, "discriminator")}
    if not found[1] or "anyOf" in rest or "oneOf" in rest:
        return rest
    return {**rest, "anyOf": found[1]}


def _only_null(schema: Any) -> bool:
    return isinstance(schema, dict) and (schema.get("type") == "null" or schema.get("type") == ["null"]
                                         or ("const" in schema and schema["const"] is None)
                                         or schema.get("enum") == [None])


def _meet_types(a: Any, b: Any) -> list:
    first = [a] if isinstance(a, str) else list(a)
    second = [b] if isinstance(b, str) else list(b)
    both = []
    for kind in first:
        if kind in second or (kind == "integer" and "number" in second):
            both.append(kind)
        elif kind == "number" and "integer" in second:
            both.append("integer")
    return list(dict.fromkeys(both))


def _lcm(a: float, b: float) -> float:
    x, y = Fraction(str(a)), Fraction(str(b))
    both = Fraction(math.lcm(x.numerator, y.numerator), math.gcd(x.denominator, y.denominator))
    if isinstance(a, int) and isinstance(b, int):
        return int(both)
    return float(both)


def _inferred(s: dict) -> list[str]:
    """Types in the order to try for a schema without `type`: the one its keywords suggest first."""
    first = []
    if _OBJECT_WORDS & s.keys():
        first.append("object")
    if _ARRAY_WORDS & s.keys():
        first.append("array")
    fmt = s.get("format")
    if fmt in _INT_FORMATS:
        first.append("integer")
    elif fmt in ("float", "double"):
        first.append("number")
    if _STRING_WORDS & s.keys() or isinstance(fmt, str):
        first.append("string")
    if _NUMBER_WORDS & s.keys():
        first += ["integer", "number"]
    return list(dict.fromkeys([*first, *_ALL_TYPES]))


# --- small helpers ----------------------------------------------------------------------------------


# Each schema's validator, made once: a compiled check in front of jsonschema, which a valid value
# never needs (a first generated answer imports no jsonschema, ~150 ms). Schemas are a loaded spec's,
# kept alive here (so an id is never reused while cached); bounded for schemas made on the fly.
_VALIDATORS: dict[int, tuple[Any, FastValidator]] = {}


def validator(schema: Any) -> FastValidator:
    """`schema`'s validator (examples.py checks answers with it too)."""
    entry = _VALIDATORS.get(id(schema))
    if entry is None or entry[0] is not schema:
        if len(_VALIDATORS) >= 4096:
            _VALIDATORS.clear()
        entry = _VALIDATORS[id(schema)] = (schema, FastValidator.lazy(schema, _check, _jsonschema))
    return entry[1]


@functools.cache
def _formats() -> Any:
    return formats.format_checker()


@functools.cache
def _conforms(name: str) -> Any:
    """Format `name`'s check: a usual id or time passes without jsonschema (fastschema.format_check)."""
    return format_check(name, _formats)


def _check(schema: Any) -> Any:
    try:
        return compile_check(schema, _formats)
    except RecursionError:  # a schema that holds itself (built in Python): jsonschema walks it by the value
        return None


def _jsonschema(schema: Any) -> Any:
    return ecma.validator_class()(schema, format_checker=_formats())


def _count(s: dict, key: str, default: Any) -> Any:
    """A length or count keyword as an int (2.0 is an integer to JSON Schema too)."""
    value = s.get(key)
    return int(value) if _is_number(value) and float(value).is_integer() else default


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _same(a: Any, b: Any) -> bool:
    """JSON equality: 1 and 1.0 alike, true and 1 not; a structure too deep to compare counts as unequal."""
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    try:
        return _canonical(a) == _canonical(b)
    except (RecursionError, ValueError, TypeError):
        return False


def _canonical(value: Any) -> str:
    if _is_number(value) and float(value).is_integer() and abs(value) < 2**53:
        value = int(value)
    return json.dumps(value, sort_keys=True, default=repr, check_circular=True)



def _where(ptr: str) -> str:
    return f"at {ptr}" if ptr else "at the root"
