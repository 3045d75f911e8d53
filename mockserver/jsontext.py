"""JSON text in and out, as the vendors' servers (JavaScript, Go) read and print it.

In: `"\\ud800"` is valid JSON but no UTF-8 text; a lone surrogate kept would make every later answer
that shows it fail to encode (a lasting 500). `repair_surrogates` makes each one U+FFFD, as Go's
decoder and a UTF-8 database do; `lone_surrogate_path` finds one, for inputs the mock refuses.

Out: JavaScript and Go print an integral number without a fraction (`7.0` is `7`, `1e16` is
`10000000000000000`), Python prints `7.0` and `1e+16`. `dumps` prints what they print for every
integral float below 1e21 (both switch to exponents there, as Python does). A non-integral number is
printed as Python prints it (`1e-07` where JavaScript prints `1e-7`).
"""

from __future__ import annotations

import json
import math
import re
from decimal import Decimal
from typing import Any

_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
# A number token Python may print other than JavaScript: `7.0`, `1e+16`, `1.5e+20`. In compact JSON a
# number starts the text or follows `:`, `,` or `[`, and ends it or comes before `,`, `]` or `}`;
# text inside a string may look the same (then the slow path merely finds nothing to change), but a
# hex id such as `8e9` inside a UUID no longer sends every answer down it.
_FLOATISH = re.compile(r"(?:^|[:,\[])-?\d+(?:\.0|(?:\.\d+)?[eE][+-]?\d+)(?=[,\]}]|$)")
_encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode


# --- in --------------------------------------------------------------------------------------------

def has_surrogate_escape(raw: bytes) -> bool:
    """Whether JSON text may hold a lone surrogate (a `\\uD8..` escape): the cheap test first."""
    return bool(_SURROGATE_ESCAPE.search(raw))


def repair_surrogates(value: Any) -> Any:
    """Each lone surrogate in strings and keys becomes U+FFFD, in place where it can.
    Iterative: the value may be nested as deep as the parser allows."""

    def fix(item: Any) -> Any:
        return _LONE_SURROGATE.sub("\ufffd", item) if isinstance(item, str) else item

    if not isinstance(value, (dict, list)):
        return fix(value)
    stack = [value]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            fixed = {fix(key): fix(item) for key, item in node.items()}
            node.clear()
            node.update(fixed)
            children = node.values()
        else:
            node[:] = [fix(item) for item in node]
            children = node
        stack.extend(item for item in children if isinstance(item, (dict, list)))
    return value


def lone_surrogate_path(value: Any) -> tuple | None:
    """The path (keys and indexes) of the first string or key holding a lone surrogate, or None."""
    stack: list[tuple[tuple, Any]] = [((), value)]
    while stack:
        path, node = stack.pop()
        if isinstance(node, str):
            if _LONE_SURROGATE.search(node):
                return path
        elif isinstance(node, dict):
            for key, item in node.items():
                if _LONE_SURROGATE.search(key):
                    return (*path, key)
                stack.append(((*path, key), item))
        elif isinstance(node, list):
            stack.extend(((*path, index), item) for index, item in enumerate(node))
    return None


def loads(raw: bytes) -> Any:
    """Strict JSON from bytes (UTF-8, an optional BOM): no NaN or Infinity, finite numbers only, lone
    surrogates repaired. Raises ValueError (UnicodeDecodeError included) or RecursionError."""
    text = raw.decode("utf-8-sig")
    if text.startswith("\ufeff"):  # a second BOM: json.loads' own error
        value = json.loads(text, parse_constant=_no_constant, parse_float=_finite)
    else:  # what json.loads does, without building its decoder each time
        value = _decode(text)
    return repair_surrogates(value) if has_surrogate_escape(raw) else value


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"number {text[:20]} is out of range")
    return value


_decode = json.JSONDecoder(parse_constant=_no_constant, parse_float=_finite).decode


# --- out -------------------------------------------------------------------------------------------

def dumps(value: Any) -> str:
    """Compact JSON, numbers as JavaScript and Go print them."""
    text = _encode(value)
    return _encode(js_numbers(value)) if _FLOATISH.search(text) else text


def js_numbers(value: Any) -> Any:
    """A copy of `value` with every integral float below 1e21 as the int JavaScript would print."""
    if isinstance(value, float):
        return _integral(value)
    if not isinstance(value, (dict, list)):
        return value
    root: list = [value]
    stack: list[tuple[Any, Any]] = [(root, 0)]  # (container, key) whose value to copy
    while stack:
        container, key = stack.pop()
        node = container[key]
        if isinstance(node, float):
            container[key] = _integral(node)
        elif isinstance(node, dict):
            copied = dict(node)
            container[key] = copied
            stack.extend((copied, name) for name in copied)
        elif isinstance(node, list):
            copied = list(node)
            container[key] = copied
            stack.extend((copied, index) for index in range(len(copied)))
    return root[0]


def _integral(number: float) -> float | int:
    if not number.is_integer() or abs(number) >= 1e21:
        return number
    # The shortest digits that read back as this float, padded with zeros: `2.0**60` prints as
    # 1152921504606847000 in JavaScript and Go, not 1152921504606846976.
    return int(Decimal(repr(number)))


__all__ = ["dumps", "has_surrogate_escape", "js_numbers", "lone_surrogate_path", "loads", "repair_surrogates"]
