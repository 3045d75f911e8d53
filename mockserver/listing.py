"""Lists of a collection: filters by the query parameters named like properties, a page by sequence
number (limit/offset/page/cursor styles, a cursor being the engine's or a vendor's (`Cursors`), or an
item's key as OpenAI's `after` is), and the envelope the documented answer wants (the array, total,
next and previous cursors or markers, has-more, first and last ids, links to other pages)."""

from __future__ import annotations

import base64
import binascii
import bisect
import functools
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from mockserver.answers import success
from mockserver.errors import MISSING
from mockserver.inference import MATCH, Collection, Paging, Role, list_array, properties_of
from mockserver.items import normalized, store_id, store_name
from mockserver.records import dataclass
from mockserver.spec import ResponseSpec, compile_schema
from mockserver.store import Record
from mockserver.vendors.base import Call, Cursors


def listing(call: Call, role: Role, collection: Collection, show: Callable[[Record], Any],
            cursors: Cursors) -> Any:
    """The list answer: the items the query's filters keep, the page its paging asks for (a cursor or
    an item's key, an offset or a page number), in the documented shape (a bare array, or an envelope
    with the page, total, cursors, first and last ids and links to other pages), oldest first unless
    an `order` parameter asks otherwise. Unfiltered pages come from the store page by page, at any size."""
    query, paging = call.query, role.paging
    name = store_name(collection, call.path)
    limit = query.get(paging.limit) if paging.limit else None
    limit = limit if isinstance(limit, int) and limit >= 0 else None
    after, before = _position(call, name, cursors, query.get(paging.cursor) if paging.cursor else None, "next")
    if paging.before and query.get(paging.before) is not None and after is None and before is None:
        _, before = _position(call, name, cursors, query[paging.before], "prev")
    descending = query.get(paging.order) == "desc" if paging.order and query.get(paging.order) in ("asc", "desc") \
        else paging.descending
    # `x-mock-normalize` applies to what a filter asks for too (a lowercased name is found by any case).
    how = {param.name: param.schema.get(MATCH) for param in call.operation.parameters} if role.filters else {}
    wanted = [(prop, _normal(collection, prop, query[param]), how.get(param))
              for param, prop in role.filters if param in query]
    start = 0
    if paging.offset and isinstance(query.get(paging.offset), int):
        start = max(query[paging.offset], 0)
    if paging.page and isinstance(query.get(paging.page), int) and limit:
        start = max(query[paging.page] - paging.page_base, 0) * limit
    if not wanted and not start and limit and not descending:
        page = call.store.page(call.tenant, name, limit, after=after, before=before)
        items = [(seq, show(record)) for seq, record in page.items]
        more_before, more_after = page.more_before, page.more_after
        total = functools.partial(call.store.count, call.tenant, name)
    else:
        items = [(record["seq"], show(record)) for record in _candidates(call, collection, name, wanted)]
        for prop, value, match in wanted:
            items = [item for item in items if matches(item[1].get(prop, MISSING), value, match)]
        total = functools.partial(len, items)
        if descending:  # newest first: the window works on negated sequence numbers, still ascending
            items = [(-seq, item) for seq, item in reversed(items)]
            after, before = (-after if after is not None else None), (-before if before is not None else None)
        items, more_before, more_after = _window(items, limit, start, after, before)
        if descending:
            items = [(-seq, item) for seq, item in items]
    _, documented = success(call.operation)
    key = collection.key_property
    page_number = query.get(paging.page) if paging.page and isinstance(query.get(paging.page), int) else \
        (paging.page_base if paging.page and after is None and before is None else None)
    state = _Page(
        items=[item for _, item in items], total=total,
        following=cursors.write("next", items[-1][0]) if items and more_after else None,
        preceding=cursors.write("prev", items[0][0]) if items and more_before else None,
        first_key=_key_of(items[0][1], key) if items else None, last_key=_key_of(items[-1][1], key) if items else None,
        limit=limit, offset=start if paging.offset else None, page=page_number, paging=paging,
        url_of=call.url_of, query=query)
    return _list_body(documented, state)


def _position(call: Call, name: str, cursors: Cursors, given: Any, direction: str) -> tuple[int | None, int | None]:
    """(after, before) sequence numbers a cursor parameter names: a cursor this mock gave out (it
    says its direction), else the key of an item (`after=asst_abc`: the page starts after it; for a
    `before` parameter, ends before it); a value that is neither starts from the beginning (the
    document cannot say what the real API does with it, and it is valid by its schema)."""
    if given is None or given == "":
        return None, None
    position = cursors.read(given)
    if position is None:
        record = call.store.get(call.tenant, name, store_id(given))
        position = (direction, record["seq"]) if record is not None else None
    if position is None:
        return None, None
    return (None, position[1]) if position[0] == "prev" else (position[1], None)


def _key_of(item: Any, key: str | None) -> Any:
    return item.get(key) if isinstance(item, dict) and key else None


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


def matches(value: Any, wanted: Any, match: str | None = None) -> bool:
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


@dataclass
class _Page:
    """What an envelope may say about a page: its items, and where it sits among the others."""

    items: list
    total: Callable[[], int]
    following: str | None  # the cursor of the next page; None: this is the last
    preceding: str | None
    first_key: Any
    last_key: Any
    limit: int | None
    offset: int | None
    page: int | None  # the page number, when the request paged by number (or asked for the first)
    paging: Paging
    url_of: Callable[[], str]  # the request's URL without its query, where links to other pages start
    query: dict[str, Any]


def _norm(name: str) -> str:
    return re.sub(r"[_\-\s.$]", "", name.lower())


_TOTALS = {"total", "totalcount", "count", "totalitems", "totalresults", "totalsize", "totalelements",
           "totalrecords", "totalentries"}
_NEXT = {"next", "nextcursor", "nextpagetoken", "nexttoken", "cursor", "nextmarker", "nextpagecursor", "after",
         "endcursor"}
_PREVIOUS = {"previous", "prev", "previouscursor", "prevcursor", "previouspagetoken", "prevpagetoken",
             "prevmarker", "previousmarker", "before", "startcursor"}
_MORE = {"hasmore", "more", "hasnext", "hasnextpage", "hasmoreitems", "moreresults"}
_LESS = {"hasprevious", "hasprev", "haspreviouspage", "hasprevpage"}
_KEYS = {"firstid": "first_key", "lastid": "last_key"}
_LINK_TAILS = ("uri", "url", "link", "href")
_LINK_FAMILY = {"next": "next", "prev": "prev", "previous": "prev", "first": "first", "last": "last",
                "self": "self", "current": "self", "": "self"}
_LINK_PARENTS = {"links", "pages", "link"}
_NESTED = 3  # how deep an envelope's objects are searched (`links.pages.next`, `meta.total`)


def _field(name: str, prop: dict, in_links: bool, depth: int) -> str | None:
    """What an envelope's field holds, by its name, type and format: the total, a cursor, whether
    more follow, the first or last item's key, a link to another page, the page number or size."""
    kind, n = prop.get("type"), _norm(name)
    kinds = set(kind) if isinstance(kind, list) else {kind}
    if "string" in kinds or (kind is None and not properties_of(prop)):
        stem, linked = n, in_links or prop.get("format") in ("uri", "url", "iri", "uri-reference", "iri-reference")
        for tail in _LINK_TAILS:
            if n.endswith(tail):
                stem, linked = n[: -len(tail)], True
                break
        example = prop.get("example")
        if isinstance(example, str) and example.startswith(("http://", "https://", "/")) and stem in _LINK_FAMILY:
            linked = True
        stem = stem[:-4] if stem.endswith("page") and stem != "page" else stem  # next_page_uri
        if linked and stem in _LINK_FAMILY and (stem or depth == 0):
            return f"{_LINK_FAMILY[stem]}_link"
        if n in _NEXT:
            return "following"
        if n in _PREVIOUS:
            return "preceding"
        return _KEYS.get(n)
    if kinds & {"integer", "number"}:
        if n in _KEYS:
            return _KEYS[n]
        if n in _TOTALS:
            return "total"
        if n in ("page", "pagenumber", "currentpage", "pageno"):
            return "page"
        if n in ("pagesize", "perpage", "limit"):
            return "limit"
        if n in ("offset", "start"):
            return "offset"
        if n in ("nextpage", "nextpagenumber"):
            return "next_page"
        if n in ("prevpage", "previouspage", "prevpagenumber", "previouspagenumber"):
            return "prev_page"
        return None
    if "boolean" in kinds:
        return "more" if n in _MORE else "less" if n in _LESS else None
    return None


@dataclass(frozen=True)
class _Plan:
    array: str | None  # the property holding the page; None: the answer is the array itself
    fields: tuple[tuple[tuple[str, ...], str, Any], ...]  # (path, what it holds, its value when there is none)


_PLANS: dict[int, tuple[dict, _Plan]] = {}  # id(schema) -> (schema, plan): a documented answer, read once


def _plan(schema: dict) -> _Plan:
    known = _PLANS.get(id(schema))
    if known is not None and known[0] is schema:
        return known[1]
    array, _ = list_array(schema)
    fields: list[tuple[tuple[str, ...], str, Any]] = []

    def walk(node: dict, path: tuple[str, ...], in_links: bool) -> None:
        required = set(node.get("required", ())) | {name for branch in node.get("allOf", ())
                                                    if isinstance(branch, dict) for name in branch.get("required", ())}
        for name, prop in properties_of(node).items():
            if not isinstance(prop, dict) or (not path and name == array):
                continue
            what = _field(name, prop, in_links, len(path))
            if what is not None:
                fields.append(((*path, name), what, _nothing(prop, name in required)))
            elif len(path) < _NESTED and prop.get("type") in (None, "object") and properties_of(prop):
                walk(prop, (*path, name), in_links or _norm(name) in _LINK_PARENTS)

    if array is not None:
        walk(schema, (), False)
    plan = _Plan(array, tuple(fields))
    if len(_PLANS) < 4096:
        _PLANS[id(schema)] = (schema, plan)
    return plan


def _nothing(prop: dict, required: bool) -> Any:
    """What a field says when there is nothing to say (no next page): null where its schema allows
    it; else, for a required string, the empty string; else the field is left out."""
    if compile_schema(prop, "an envelope field", checked=True).is_valid(None):
        return None
    if required and compile_schema(prop, "an envelope field", checked=True).is_valid(""):
        return ""
    return MISSING


def _list_body(documented: ResponseSpec | None, state: _Page) -> Any:
    """The page in the documented shape: the array itself, or an envelope (its properties merged
    through `allOf`, objects such as `meta` and `links.pages` searched too) whose members are named
    like the array, a total, the next or previous cursor, whether more follow, the first and last
    item's key, links to the next, previous, first, last and this page, the page number and size."""
    schema = documented.validator.schema if documented and documented.validator else {"type": "array"}
    plan = _plan(schema)
    if plan.array is None:
        return state.items
    body: dict[str, Any] = {plan.array: state.items}
    for path, what, nothing in plan.fields:
        value = _value(what, state)
        if value is MISSING:
            value = nothing
        if value is MISSING:
            continue
        node = body
        for name in path[:-1]:
            node = node.setdefault(name, {})
        node[path[-1]] = value
    return body


def _value(what: str, state: _Page) -> Any:
    paging = state.paging
    if what == "total":
        return state.total()
    if what in ("following", "preceding"):
        cursor = getattr(state, what)
        return cursor if cursor is not None else MISSING
    if what == "more":
        return state.following is not None
    if what == "less":
        return state.preceding is not None
    if what in ("first_key", "last_key"):
        key = getattr(state, what)
        return key if key is not None else MISSING
    if what == "limit":
        return state.limit if state.limit is not None else MISSING
    if what == "offset":
        return state.offset if state.offset is not None else MISSING
    if what in ("page", "next_page", "prev_page"):
        if state.page is None:
            return MISSING
        if what == "next_page":
            return state.page + 1 if state.following is not None else MISSING
        if what == "prev_page":
            return state.page - 1 if state.page > paging.page_base else MISSING
        return state.page
    return _link(what[: -len("_link")], state)


def _link(which: str, state: _Page) -> Any:
    """A link to another page: this request's URL with its paging parameters set to the next or
    previous cursor (and page number), the first page, or the last (by number, when pages have one)."""
    paging, query = state.paging, dict(state.query)
    for param in (paging.cursor, paging.before):
        if param:
            query.pop(param, None)
    if which == "self":
        query = dict(state.query)
    elif which in ("next", "prev"):
        cursor = state.following if which == "next" else state.preceding
        if cursor is None:
            return MISSING
        if paging.page and state.page is not None:
            query[paging.page] = state.page + (1 if which == "next" else -1)
        elif paging.cursor:
            query[paging.cursor] = cursor
        elif paging.offset and state.limit and state.offset is not None:
            query[paging.offset] = max(state.offset + (state.limit if which == "next" else -state.limit), 0)
        else:
            return MISSING
        if paging.page and paging.cursor and state.page is not None:
            query[paging.cursor] = cursor  # both, as Twilio writes them: the cursor is what is read
    elif which == "first":
        if paging.page:
            query[paging.page] = paging.page_base
        elif paging.offset:
            query[paging.offset] = 0
    elif which == "last":
        if not (paging.page and state.limit):
            return MISSING
        query[paging.page] = paging.page_base + max(-(-state.total() // state.limit) - 1, 0)
    return _with_query(state.url_of(), query)


def _with_query(url: str, query: dict[str, Any]) -> str:
    pairs = []
    for name, value in query.items():
        for one in value if isinstance(value, list) else [value]:
            if isinstance(one, (dict, list)):
                continue
            pairs.append((name, "true" if one is True else "false" if one is False else str(one)))
    return f"{url}?{urlencode(pairs)}" if pairs else url
