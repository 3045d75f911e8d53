"""Which discriminator values a strict reader knows.

OpenAPI names a `oneOf`/`anyOf` branch by its `mapping` keys, else by its schema's name; strict readers
(schemathesis, generated clients) know only those. Documents without a `mapping` whose branches pin
the property to other values (`type: {enum: [custom]}` in `ChatCompletionMessageCustomToolCall`) have
branches no value names for both: the branch refuses its name, the reader refuses the pinned value.
Requests take either (the loader's lenient rule); answers carry only values a strict reader knows.

The loader's note (`x-mock-discriminator`, set by `mockserver.spec`) lists, for a discriminator over
`$ref` branches, the values that name each branch (`branches`: mapping keys or name, then the values
the branch pins) and the strict ones alone (`named`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

# The loader's note on a schema with a discriminator: which property values name which branch, and for
# a base schema extended through allOf, the `subtypes` themselves.
DISCRIMINATOR = "x-mock-discriminator"

_MAX_DEPTH = 64


def strict_names(schema: dict) -> tuple[str, list[list[str]]] | None:
    """The discriminator's property and, per branch, the values a strict reader takes as its name;
    None when the schema has no such note (inline branches, allOf inheritance)."""
    note = schema.get(DISCRIMINATOR)
    if not isinstance(note, dict) or not isinstance(note.get("named"), list):
        return None
    return note["property"], note["named"]


_LENIENT: dict[int, tuple[Any, bool]] = {}  # id(schema) -> (schema kept alive, its answer)


def lenient(schema: Any) -> bool:
    """Whether the schema holds a discriminator that takes values a strict reader does not know (a
    branch answering to a value its `mapping` or name does not give): only then is `unnamed` worth
    a walk. Remembered per schema, which the loaded spec keeps."""
    known = _LENIENT.get(id(schema))
    if known is not None and known[0] is schema:
        return known[1]
    seen: set[int] = set()
    todo, found = [schema], False
    while todo and not found:
        node = todo.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, dict):
            note = node.get(DISCRIMINATOR)
            found = isinstance(note, dict) and isinstance(note.get("named"), list) and note["named"] != note["branches"]
            todo.extend(value for key, value in node.items() if key not in ("enum", "const", "example", "examples"))
        elif isinstance(node, list):
            todo.extend(node)
    if len(_LENIENT) < 4096:
        _LENIENT[id(schema)] = (schema, found)
    return found


def unnamed(schema: Any, value: Any, valid: Callable[[Any, Any], bool], where: str = "") -> str | None:
    """Where (a JSON pointer) the value holds a discriminator value no strict reader knows, with that
    value; None when there is none. Walks the value along the schema: properties, items, allOf, and
    the oneOf/anyOf branches the value takes (`valid(branch, value)` says which)."""
    seen: set[tuple[int, int]] = set()
    todo = [(schema, value, where, 0)]
    while todo:
        node, item, at, depth = todo.pop()
        if not isinstance(node, dict) or not isinstance(item, dict | list) or depth > _MAX_DEPTH \
                or (id(node), id(item)) in seen:
            continue
        seen.add((id(node), id(item)))
        below = depth + 1
        for member in node.get("allOf") or () if isinstance(node.get("allOf"), list) else ():
            todo.append((member, item, at, below))
        known = strict_names(node)
        if known is not None and isinstance(item, dict):
            prop, names = known
            found = item.get(prop)
            if isinstance(found, str) and not any(found in named for named in names):
                return f"{at}/{prop} ({found!r})"
        note = node.get(DISCRIMINATOR)
        for word in ("oneOf", "anyOf"):
            options = node.get(word)
            if not isinstance(options, list):
                continue
            if known is not None and isinstance(item, dict) and note.get("of") == word:
                # the branch the value's discriminator names (the lenient names: the value is valid)
                options = [option for option, names in zip(options, note["branches"], strict=False)
                           if item.get(known[0]) in names]
            todo.extend((option, item, at, below) for option in options if valid(option, item))
        if isinstance(item, dict):
            props = node.get("properties") if isinstance(node.get("properties"), dict) else {}
            extra = node.get("additionalProperties")
            for name, sub in item.items():
                todo.append((props.get(name, extra), sub, f"{at}/{escape(name)}", below))
        else:
            prefix = node.get("prefixItems") if isinstance(node.get("prefixItems"), list) else []
            for index, sub in enumerate(item):
                todo.append((prefix[index] if index < len(prefix) else node.get("items"), sub, f"{at}/{index}", below))
    return None


def escape(name: str) -> str:
    """A name as a JSON pointer token (RFC 6901)."""
    return name.replace("~", "~0").replace("/", "~1")
