"""Type coercion as ajv does it (`coerceTypes: true` or `'array'`), for APIs whose server validates
with ajv configured so: the spec says where with `x-mock-coerce-types` (see `spec.py`).

ajv coerces a value whose type the schema does not allow into the first of the schema's types it
can become (ajv 8, lib/compile/validate/dataType.ts):

    to string:  number or boolean -> its JavaScript text ("" + x); null -> ""
    to number:  boolean -> 0/1; null -> 0; a non-empty string that JavaScript reads as a number
    to integer: the same, when the number is whole
    to boolean: "true"/1 -> true; "false"/0/null -> false
    to null:    "" / 0 / false -> null
    with 'array': a one-item array is first replaced by its item, and a scalar (string, number,
    boolean, null) becomes a one-item array where an array is wanted

What cannot be coerced is left as it is, for the validator to refuse with the type error. A value
that would coerce to an infinite number is left as is too (ajv would pass `Infinity` on; no JSON can
hold it). Coercion follows `properties`, `additionalProperties`, `items` and `allOf`; it does not
look into `anyOf`/`oneOf` branches.
"""

from __future__ import annotations

import math
import re
from decimal import Decimal
from typing import Any

MODES = (True, "array")
_SCALARS = ("string", "number", "integer", "boolean", "null")
# JavaScript's StringNumericLiteral (what `+text` reads), after trimming its whitespace.
_JS_SPACE = "\t\n\v\f\r \u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a" \
            "\u2028\u2029\u202f\u205f\u3000\ufeff"
_DECIMAL = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_RADIX = re.compile(r"0([xXoObB])([0-9a-fA-F]+)")


def coerce_types(value: Any, schema: Any, mode: Any, warnings: list[str] | None = None, where: str = "",
                 itself: bool = True) -> Any:
    """The value as ajv with `coerceTypes: mode` leaves it; each change noted in `warnings`.

    `itself=False` coerces only what is inside the value: ajv cannot replace a request's body itself
    (it has no parent to assign to), so a server would go on with the uncoerced body; the sane
    answer for a body of the wrong type is the type error."""
    if not isinstance(schema, dict):
        return value
    types = schema.get("type")
    if types is not None and itself:
        names = types if isinstance(types, list) else [types]
        if not any(_is(value, name) for name in names):
            coerced = _coerce(value, names, mode)
            if coerced is not _NOT and warnings is not None:
                warnings.append(f"{where or '(the body)'}: {_show(value)} coerced to {_show(coerced)}")
            if coerced is not _NOT:
                value = coerced
    for sub in schema.get("allOf", ()):
        value = coerce_types(value, sub, mode, warnings, where, itself)
    if isinstance(value, dict):
        properties = schema.get("properties", {})
        extra = schema.get("additionalProperties")
        changed = {}
        for key, item in value.items():
            sub = properties.get(key, extra if isinstance(extra, dict) else None)
            if sub is not None:
                new = coerce_types(item, sub, mode, warnings, f"{where}.{key}" if where else key)
                if new is not item:
                    changed[key] = new
        if changed:
            value = {**value, **changed}
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        items = [coerce_types(item, schema["items"], mode, warnings, f"{where}[{i}]") for i, item in enumerate(value)]
        if any(new is not old for new, old in zip(items, value, strict=True)):
            value = items
    return value


class _Not:
    """No coercion applies."""


_NOT = _Not()


def _is(value: Any, name: str) -> bool:
    """JSON Schema's (and ajv's) type test; a bool is no number."""
    if name == "string":
        return isinstance(value, str)
    if name == "boolean":
        return isinstance(value, bool)
    if name == "null":
        return value is None
    if name == "object":
        return isinstance(value, dict)
    if name == "array":
        return isinstance(value, list)
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    if name == "number":
        return number
    if name == "integer":
        return number and (isinstance(value, int) or value.is_integer())
    return False


def _coerce(value: Any, names: list[str], mode: Any) -> Any:
    if mode == "array" and isinstance(value, list) and len(value) == 1:
        value = value[0]
        if any(_is(value, name) for name in names):
            return value
    for name in names:
        if name in _SCALARS or (name == "array" and mode == "array"):
            coerced = _to(name, value)
            if coerced is not _NOT:
                return coerced
    return _NOT


def _to(name: str, value: Any) -> Any:
    kind = "boolean" if isinstance(value, bool) else "null" if value is None else \
        "string" if isinstance(value, str) else "number" if isinstance(value, (int, float)) else "other"
    if name == "string":
        if kind == "number":
            return js_string(value)
        if kind == "boolean":
            return "true" if value else "false"
        return "" if kind == "null" else _NOT
    if name in ("number", "integer"):
        if kind == "boolean":
            return int(value)
        if kind == "null":
            return 0
        if kind == "string" and value:
            number = js_number(value)
            if number is not None and math.isfinite(number) and (name == "number" or number.is_integer()):
                return int(number) if number.is_integer() else number
        return _NOT
    if name == "boolean":
        if value == "false" or value is None or (kind == "number" and value == 0):
            return False
        if value == "true" or (kind == "number" and value == 1):
            return True
        return _NOT
    if name == "null":
        return None if value == "" or (kind in ("number", "boolean") and value == 0) else _NOT
    if name == "array":
        return [value] if kind in ("string", "number", "boolean", "null") else _NOT
    return _NOT


def js_number(text: str) -> float | None:
    """`+text` in JavaScript (None for NaN)."""
    text = text.strip(_JS_SPACE)
    if not text:
        return 0.0
    if text in ("Infinity", "+Infinity", "-Infinity"):
        return float(text.lstrip("+"))
    if _DECIMAL.fullmatch(text):
        return float(text)
    radix = _RADIX.fullmatch(text)
    if radix:
        base = {"x": 16, "o": 8, "b": 2}[radix.group(1).lower()]
        try:
            return float(int(radix.group(2), base))
        except (ValueError, OverflowError):
            return None
    return None


def js_string(number: int | float) -> str:
    """`"" + number` in JavaScript (Number::toString): a JSON number is a double there."""
    try:
        value = float(number)
    except OverflowError:
        return "Infinity" if number > 0 else "-Infinity"
    if not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if value == 0:
        return "0"
    sign = "-" if value < 0 else ""
    digits_tuple, exponent = Decimal(repr(abs(value))).normalize().as_tuple()[1:]
    digits = "".join(map(str, digits_tuple))
    k, n = len(digits), len(digits) + exponent  # value = 0.digits * 10**n
    if k <= n <= 21:
        text = digits + "0" * (n - k)
    elif 0 < n <= 21:
        text = f"{digits[:n]}.{digits[n:]}"
    elif -6 < n <= 0:
        text = f"0.{'0' * -n}{digits}"
    else:
        e = n - 1
        mantissa = digits if k == 1 else f"{digits[0]}.{digits[1:]}"
        text = f"{mantissa}e{'+' if e >= 0 else '-'}{abs(e)}"
    return sign + text


def _show(value: Any) -> str:
    import json

    try:
        return json.dumps(value, ensure_ascii=False)[:60]
    except (TypeError, ValueError):
        return repr(value)[:60]
