"""The format checker: jsonschema's, with every format JSON Schema 2020-12 defines.

jsonschema checks `uri`, `uri-reference`, `hostname`, `idn-hostname`, `json-pointer`,
`relative-json-pointer`, `uri-template` and `duration` when their packages are installed (the
dependencies in pyproject.toml). `iri` and `iri-reference` it checks with `rfc3987-syntax` only, whose
import builds a grammar (seconds of start-up): they are checked here as RFC 3987 (section 3.1) defines
them through URIs instead: each non-ASCII character must be one an IRI allows (`ucschar`, `iprivate`
in the query), and the text with those characters percent-encoded must be a URI (reference).

The checker is built on first use (`format_checker()`): jsonschema's format module imports every
format package, whose grammars cost a third of start-up, and a valid request rarely needs one.
"""

from __future__ import annotations

import functools
from typing import Any
from urllib.parse import quote

_UCSCHAR = ((0xA0, 0xD7FF), (0xF900, 0xFDCF), (0xFDF0, 0xFFEF), *(((plane << 16), (plane << 16) + 0xFFFD)
                                                                 for plane in range(1, 14)),
            (0xE1000, 0xEFFFD))
_IPRIVATE = ((0xE000, 0xF8FF), (0xF0000, 0xFFFFD), (0x100000, 0x10FFFD))


def _allowed(char: str, in_query: bool) -> bool:
    code = ord(char)
    return any(low <= code <= high for low, high in _UCSCHAR) or (
        in_query and any(low <= code <= high for low, high in _IPRIVATE))


def _as_uri(text: str) -> str | None:
    """The IRI as the URI it maps to; None when it holds a character no IRI may."""
    out, in_query = [], False
    for char in text:
        if char == "?":
            in_query = True
        elif char == "#":
            in_query = False
        if ord(char) < 0x80:
            out.append(char)
        elif _allowed(char, in_query):
            out.append(quote(char, safe=""))
        else:
            return None
    return "".join(out)


@functools.cache
def format_checker() -> Any:
    """jsonschema's 2020-12 `FormatChecker`, with `iri` and `iri-reference` checked as above."""
    from jsonschema import Draft202012Validator, FormatChecker

    checker = FormatChecker()
    checker.checkers = dict(Draft202012Validator.FORMAT_CHECKER.checkers)
    try:
        from rfc3986_validator import validate_rfc3986
    except ImportError:  # pragma: no cover - a dependency; without it jsonschema has no uri checker either
        return checker
    for name, rule in (("iri", "URI"), ("iri-reference", "URI_reference")):
        if name in checker.checkers:
            continue  # jsonschema's own (rfc3987-syntax installed)

        def check(instance: Any, rule: str = rule) -> bool:
            if not isinstance(instance, str):
                return True
            uri = _as_uri(instance)
            return uri is not None and validate_rfc3986(uri, rule=rule) is not None

        check.__name__ = f"is_{name.replace('-', '_')}"
        checker.checks(name)(check)
    return checker


__all__ = ["format_checker"]
