"""JSON Schema's `pattern` with its own meaning: an ECMA-262 regular expression (JSON Schema 2020-12,
section 6.4), run by Python's `re`.

The two dialects differ where it matters for validation: in ECMA `$` is the end of the text (Python's
also matches before a final newline, so `^a$` would accept `"a\\n"`), `.` matches no line terminator
(`\\r`, U+2028, U+2029 included), `\\d`, `\\w` and `\\b` are ASCII, `\\s` is ECMA's whitespace set.
`translate` rewrites a pattern so `re` gives the ECMA answer; `Validator` is jsonschema's 2020-12
validator whose `pattern` keyword uses it. The compiled checks (`fastschema`) use the same
translation, so every validation path of every spec agrees.
"""

from __future__ import annotations

import functools
import re
from typing import Any

# ECMA-262 WhiteSpace and LineTerminator: what `\s` means there.
_SPACE = "\\t\\n\\x0b\\x0c\\r \\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000\\ufeff"
_LINE_END = "\\n\\r\\u2028\\u2029"


def translate(pattern: str) -> str:
    """The Python `re` pattern (with `re.ASCII`) that matches what the ECMA pattern matches.

    >>> translate("^[a-z]+$")
    '^[a-z]+\\\\Z'
    """
    out: list[str] = []
    i, size, in_class = 0, len(pattern), False
    while i < size:
        char = pattern[i]
        if char == "\\" and i + 1 < size:
            escaped = pattern[i + 1]
            if escaped == "s":
                out.append(_SPACE if in_class else f"[{_SPACE}]")
            elif escaped == "S" and not in_class:
                out.append(f"[^{_SPACE}]")
            else:
                out.append(pattern[i:i + 2])
            i += 2
            continue
        if in_class:
            if char == "]":
                in_class = False
            elif char == "[":
                char = "\\["  # literal in an ECMA class; Python warns of nested sets
            out.append(char)
        elif char == "[":
            if pattern.startswith("[]", i):  # ECMA: the empty class, matching nothing
                out.append("(?!)")
                i += 2
                continue
            if pattern.startswith("[^]", i):  # ECMA: any character at all
                out.append("[\\s\\S]")
                i += 3
                continue
            in_class = True
            out.append(char)
        elif char == "$":
            out.append("\\Z")
        elif char == ".":
            out.append(f"[^{_LINE_END}]")
        else:
            out.append(char)
        i += 1
    return "".join(out)


@functools.lru_cache(maxsize=1024)
def compile_pattern(pattern: str) -> re.Pattern:
    """The pattern as ECMA means it; one `re` rejects (an ECMA-only construct) is compiled as written."""
    try:
        return re.compile(translate(pattern), re.ASCII)
    except re.error:
        return re.compile(pattern)


def search(pattern: str, text: str) -> bool:
    return compile_pattern(pattern).search(text) is not None


def _pattern(validator: Any, pattern: str, instance: Any, schema: dict):
    if validator.is_type(instance, "string") and not search(pattern, instance):
        from jsonschema.exceptions import ValidationError

        yield ValidationError(f"{instance!r} does not match {pattern!r}")


@functools.cache
def validator_class() -> Any:
    """jsonschema's 2020-12 validator, but `pattern` is ECMA-262 (everything else, messages included,
    as is). Made on first use: jsonschema is imported when a value first needs it, not at start-up."""
    from jsonschema import Draft202012Validator, validators

    return validators.extend(Draft202012Validator, {"pattern": _pattern})


def __getattr__(name: str) -> Any:
    if name == "Validator":  # `from mockserver.ecma import Validator`: the class, made then
        return validator_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
