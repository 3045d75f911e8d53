"""YAML documents read in one walk: libyaml composes the node tree (in C), and one pass turns it into
plain data (keys as strings, dates as ISO text), what `yaml.safe_load` and a second pass over its
result gave. PyYAML's constructor, a Python call or generator per node, was about half of reading a
large document (OpenAI's 3 MB: ~0.55 s -> ~0.3 s with garbage collection paused, as while specs
load); it still makes every scalar this walk does not know for sure (octal and other ints, floats,
dates, merge keys, sets), so the values are the same."""
from __future__ import annotations

import datetime
import re
from typing import Any

import yaml

_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_STR, _NULL, _BOOL, _INT = ("tag:yaml.org,2002:str", "tag:yaml.org,2002:null", "tag:yaml.org,2002:bool",
                            "tag:yaml.org,2002:int")
_MAP, _SEQ, _MERGE = "tag:yaml.org,2002:map", "tag:yaml.org,2002:seq", "tag:yaml.org,2002:merge"
_DECIMAL = re.compile(r"-?(?:0|[1-9][0-9]*)\Z")  # YAML 1.1 reads `012` as octal: those go to PyYAML


def load(text: str) -> Any:
    """The document's data; `yaml.YAMLError` when it is not YAML."""
    loader = _LOADER(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        return _Walk(loader).value(node)
    finally:
        loader.dispose()


class _Walk:
    """One document's walk; an alias's node is one object, so is its value (as in `safe_load`)."""

    def __init__(self, loader: Any) -> None:
        self.loader = loader
        self.done: dict[int, Any] = {}

    def value(self, node: Any) -> Any:
        tag = node.tag
        if tag == _STR:
            return node.value
        known = self.done.get(id(node))
        if known is not None:
            return known[0]
        if tag == _MAP and not any(key.tag == _MERGE for key, _ in node.value):
            out: dict = {}
            self.done[id(node)] = (out,)
            for key, item in node.value:
                out[_key(self.value(key))] = self.value(item)
            return out
        if tag == _SEQ:
            items: list = []
            self.done[id(node)] = (items,)
            items.extend(self.value(item) for item in node.value)
            return items
        if tag == _NULL:
            found = None
        elif tag == _BOOL:
            found = yaml.constructor.SafeConstructor.bool_values[node.value.lower()]
        elif tag == _INT and _DECIMAL.match(node.value):
            found = int(node.value)
        else:  # every other form (octal, floats, dates, merges, sets...) as PyYAML's safe constructor makes it
            found = _plain(self.loader.construct_object(node, deep=True))
        self.done[id(node)] = (found,)
        return found


def _key(key: Any) -> str:
    return key if isinstance(key, str) else str(_plain(key))


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {_key(key): _plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    if isinstance(value, datetime.date | datetime.datetime):
        return value.isoformat()
    return value
