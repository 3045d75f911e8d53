"""Lists of a collection: filters by the query parameters named like properties, a page by sequence
number (limit/offset/page/cursor styles), and the envelope the documented answer wants (the array,
total, next, previous, has-more). Cursors are opaque, the engine's or a vendor's (`Cursors`)."""

from __future__ import annotations

import base64
import binascii
import bisect
import functools
import re
from collections.abc import Callable
from typing import Any

from mockserver.answers import success
from mockserver.errors import MISSING
from mockserver.inference import MATCH, Collection, Role
from mockserver.items import normalized, store_name
from mockserver.spec import ResponseSpec
from mockserver.store import Record
from mockserver.vendors.base import Call, Cursors


def listing(call: Call, role: Role, collection: Collection, show: Callable[[Record], Any],
            cursors: Cursors) -> Any:
    """The list answer: the items the query's filters keep, the page its paging asks for (a cursor,
    an offset or a page number), in the documented shape (a bare array, or an envelope with the
    page, total and cursors). Unfiltered pages come from the store page by page, at any size."""
    query, paging = call.query, role.paging
    name = store_name(collection, call.path)
    limit = query.get(paging.limit) if paging.limit else None
    limit = limit if isinstance(limit, int) and limit >= 0 else None
    position = cursors.read(query[paging.cursor]) if paging.cursor and query.get(paging.cursor) else None
    after, before = (None, position[1]) if position and position[0] == "prev" else (position and position[1], None)
    # `x-mock-normalize` applies to what a filter asks for too (a lowercased name is found by any case).
    how = {param.name: param.schema.get(MATCH) for param in call.operation.parameters} if role.filters else {}
    wanted = [(prop, _normal(collection, prop, query[param]), how.get(param))
              for param, prop in role.filters if param in query]
    start = 0
    if paging.offset and isinstance(query.get(paging.offset), int):
        start = max(query[paging.offset], 0)
    if paging.page and isinstance(query.get(paging.page), int) and limit:
        start = max(query[paging.page] - paging.page_base, 0) * limit
    if not wanted and not start and limit:
        page = call.store.page(call.tenant, name, limit, after=after, before=before)
        items = [(seq, show(record)) for seq, record in page.items]
        more_before, more_after = page.more_before, page.more_after
        total = functools.partial(call.store.count, call.tenant, name)
    else:
        items = [(record["seq"], show(record)) for record in _candidates(call, collection, name, wanted)]
        for prop, value, match in wanted:
            items = [item for item in items if _matches(item[1].get(prop, MISSING), value, match)]
        total = functools.partial(len, items)
        items, more_before, more_after = _window(items, limit, start, after, before)
    _, documented = success(call.operation)
    return _list_body(documented, [item for _, item in items], total,
                      cursors.write("next", items[-1][0]) if items and more_after else None,
                      cursors.write("prev", items[0][0]) if items and more_before else None)


def _normal(collection: Collection, prop: str, value: Any) -> Any:
    if isinstance(value, list):
        return [normalized(collection, {prop: item})[prop] for item in value]
    return normalized(collection, {prop: value})[prop]


def _candidates(call: Call, collection: Collection, name: str,
                wanted: list[tuple[str, Any, str | None]]) -> list[Record]:
    """The records a filter may keep: by its unique index when one filters on a unique property (one
    lookup, at any size), else every record, oldest first."""
    single = {names[0]: index for index, names in collection.unique if len(names) == 1}
    for prop, value, match in wanted:
        if prop in single and isinstance(value, str) and match is None:
            found = call.store.find(call.tenant, name, single[prop], value)
            return [found] if found is not None else []
    return list(call.store.scan(call.tenant, name))


def _window(items: list[tuple[int, Any]], limit: int | None, start: int, after: int | None,
            before: int | None) -> tuple[list[tuple[int, Any]], bool, bool]:
    """A page of (seq, item) pairs in sequence order, as the store pages: from `start`, after seq
    `after`, or the last ones before seq `before`; and whether items come before and after it."""
    if before is not None:
        end = bisect.bisect_left(items, before, key=lambda item: item[0])
        start = end - limit if limit is not None and end > limit else 0
    else:
        if after is not None:
            start = bisect.bisect_right(items, after, key=lambda item: item[0])
        end = len(items) if limit is None else min(len(items), start + limit)
    return items[start:end], start > 0, end < len(items)


def _matches(value: Any, wanted: Any, match: str | None = None) -> bool:
    """Equality (or with `x-mock-match: contains`, a text holding the value in any case); an array
    parameter matches any of its values; an array property matches when it holds a wanted value (or
    an object whose `name`/`id`/`value` is one)."""
    options = wanted if isinstance(wanted, list) else [wanted]
    if match == "contains":
        return isinstance(value, str) and any(str(option).casefold() in value.casefold() for option in options)
    if isinstance(value, list):
        held = [item.get("name", item.get("id", item.get("value"))) if isinstance(item, dict) else item
                for item in value]
        return any(str(option) == str(item) for option in options for item in held)
    return any(value == option or str(value) == str(option) for option in options)


def _write_cursor(direction: str, seq: int) -> str:
    return base64.urlsafe_b64encode(f"{direction}:{seq}".encode()).decode().rstrip("=")


def _read_cursor(cursor: Any) -> tuple[str, int] | None:
    """Where a cursor this mock gave out points; one it did not give out starts from the beginning
    (the document cannot say what the real API does with it, and it is valid by its schema)."""
    try:
        text = base64.urlsafe_b64decode(str(cursor) + "=" * (-len(str(cursor)) % 4)).decode("ascii")
        direction, _, seq = text.partition(":")
        if direction in ("next", "prev") and seq.isdigit():
            return direction, int(seq)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        pass
    return None


ENGINE_CURSORS = Cursors(_write_cursor, _read_cursor)


_TOTAL = re.compile(r"(?i)^(total|totalcount|total_count|count|totalitems|total_items|totalresults)$")


_NEXT = re.compile(r"(?i)^(next|nextcursor|next_cursor|nextpagetoken|next_page_token|cursor|nexttoken)$")


_PREVIOUS = re.compile(r"(?i)^(previous|prev|previouscursor|previous_cursor|prevcursor|prev_cursor|"
                       r"previouspagetoken|previous_page_token|prevpagetoken|prev_page_token)$")


_MORE = re.compile(r"(?i)^(hasmore|has_more|more)$")


def _list_body(documented: ResponseSpec | None, page: list, total: Callable[[], int], following: str | None,
               preceding: str | None) -> Any:
    """The page in the documented shape: the array itself, or an envelope whose members are named
    like the array, a total, the next or previous cursor, or whether more follow."""
    schema = documented.validator.schema if documented and documented.validator else {"type": "array"}
    if schema.get("type") == "array" or "properties" not in schema:
        return page
    body: dict[str, Any] = {}
    for name, prop in schema.get("properties", {}).items():
        kind = prop.get("type") if isinstance(prop, dict) else None
        if kind == "array":
            body[name] = page
        elif _TOTAL.match(name):
            body[name] = total()
        elif _NEXT.match(name):
            body[name] = following
        elif _PREVIOUS.match(name):
            body[name] = preceding
        elif _MORE.match(name):
            body[name] = following is not None
    return body
