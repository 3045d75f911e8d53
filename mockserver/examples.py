"""Operations that are not CRUD: the example the request prefers (`Prefer: example=NAME`), the
documented one, or a generated value; valid for the documented answer, without `writeOnly` fields."""

from __future__ import annotations

import re
from typing import Any

from mockserver.answers import documented_headers, generated, success, without_write_only
from mockserver.discriminator import lenient, unnamed
from mockserver.errors import MISSING, BadRequest
from mockserver.generate import validator
from mockserver.items import seed_of
from mockserver.spec import ResponseSpec
from mockserver.vendors.base import Call, Reply


def other_answer(call: Call) -> Reply:
    """Not a collection operation: the example the request prefers, the documented one, or generated."""
    code, documented = success(call.operation)
    seed = f"{seed_of(call, call.operation.operation_id, call.store.sequence(call.tenant))}"
    if code == 204 or documented is None or documented.validator is None:
        return Reply(code, None, documented_headers(documented, seed))
    value = _example(call, documented)
    if value is not MISSING:
        value = without_write_only(documented.validator.schema, value)
    problem = _problem(documented, value) if value is not MISSING else None
    if problem is not None:
        # the document's own example breaks its schema (a bad URI, a missing field): never answered as is
        call.warnings.append(f"{call.operation.operation_id}: the documented example breaks its schema "
                             f"({problem}): a generated value answers instead")
    if value is MISSING or problem is not None:
        value = _without_secrets(documented, seed, generated(documented.validator.schema, seed, "",
                                                             value if value is not MISSING else {}))
        return Reply(code, value, documented_headers(documented, seed),
                     best_effort=not documented.validator.is_valid(value))
    return Reply(code, value, documented_headers(documented, seed))


def _problem(documented: ResponseSpec, value: Any) -> str | None:
    """Why an example may not be answered: it breaks its schema, or holds a discriminator value no
    strict reader knows (a branch's pinned value where the document gives no `mapping`)."""
    if not documented.validator.is_valid(value):
        error = next(iter(documented.validator.iter_errors(value)), None)
        return error.message if error else "invalid"
    schema = documented.validator.schema
    if not lenient(schema):
        return None
    where = unnamed(schema, value, _valid)
    return None if where is None else f"the discriminator value at {where or '/'} names no schema"


def _valid(schema: Any, value: Any) -> bool:
    return validator(schema).is_valid(value)


def _without_secrets(documented: ResponseSpec, seed: str, value: Any, tries: int = 8) -> Any:
    """A generated answer without `writeOnly` fields: the value stripped of them when that stays valid,
    else another draw that does (a `oneOf` branch that requires none), else the value as it is."""
    schema = documented.validator.schema
    for attempt in range(tries + 1):
        candidate = value if attempt == 0 else generated(schema, f"{seed}#{attempt}", "", None)
        stripped = without_write_only(schema, candidate)
        if stripped is not None and documented.validator.is_valid(stripped):
            return stripped
    return value


_PREFER_EXAMPLE = re.compile(r"(?:^|[,;\s])example=\"?([^\",;\s]+)")


def _example(call: Call, documented: ResponseSpec) -> Any:
    examples = getattr(documented, "examples", None) or {}
    wanted = _PREFER_EXAMPLE.search(call.headers.get("Prefer", "")) if call.headers else None
    if wanted:
        if wanted.group(1) not in examples:  # a typo in a test stays loud, as with `Prefer: code=`
            raise BadRequest(f"Prefer: example={wanted.group(1)}: {call.operation.operation_id} documents no such "
                             f"example (it documents {', '.join(examples) or 'none'})")
        chosen = examples[wanted.group(1)]
        return chosen.get("value", MISSING) if isinstance(chosen, dict) else MISSING
    example = getattr(documented, "example", MISSING)
    if example is not MISSING and example is not None:
        return example
    for chosen in examples.values():
        if isinstance(chosen, dict) and "value" in chosen:
            return chosen["value"]
    return MISSING
