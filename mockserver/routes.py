"""Which spec operation a URL names, without werkzeug's URL map: the lean dispatch (`front.py`)
routes with it, so a start serves its first requests before Flask and werkzeug are imported.

It answers as werkzeug's map does for the rules `pipeline.mount` adds (a rule per spec URL, with and
without a trailing slash, every method, `{name}` one non-empty segment): of the routes matching the
whole path, the one whose segments are static furthest left (werkzeug's state machine tries a static
segment before a variable one, backtracking). Where that leaves a tie (`/a/{id}` and `/a/{id}.json`
both match `/a/1.json`: werkzeug orders those by its rule weights), and for anything else it does not
decide, it answers None and the URL map decides."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from typing import TYPE_CHECKING

from mockserver.settings import CONTROL_PREFIX
from mockserver.spec import Operation, path_variables

if TYPE_CHECKING:
    from mockserver.exchange import Mount

# (the mount, METHOD -> the URL's operation, METHOD -> the operations sharing it (`#fragment` paths))
Route = tuple["Mount", dict[str, Operation], dict[str, tuple[Operation, ...]]]
_VARIABLE = re.compile(r"\{[^}/]+\}")


class Router:
    def __init__(self, mounts: dict[str, Mount]) -> None:
        # Bucket -> [static prefix, (path, url) or its regex once compiled, route, shape]: shape is 0 per
        # static segment, 1 per variable one. A bucket is the segment count and the first two segments
        # (None where the route has a variable): a URL looks in the four that may hold its routes. A
        # regex is compiled when a URL first gets past its prefix (not a large document's thousand at
        # start-up).
        self._routes: dict[tuple, list[list]] = {}
        self._slashed: list[tuple[str, str]] = []  # URLs written with a final slash: werkzeug redirects to them
        for target in mounts.values():
            if target.control:
                continue
            for url, candidates in target.spec.routes.items():
                operations = {method: each[0] for method, each in candidates.items()}
                shared = {method: each for method, each in candidates.items() if len(each) > 1}
                route = (target, operations, shared)
                full = target.spec.server_path + url
                for path in dict.fromkeys((full, full.rstrip("/") + "/")):
                    segments = path.split("/")
                    shape = tuple(1 if "{" in segment else 0 for segment in segments)
                    bucket = _bucket(segments, lambda segment: None if "{" in segment else segment)
                    self._routes.setdefault(bucket, []).append([path.split("{", 1)[0], (path, url), route, shape])
                if full.endswith("/"):
                    self._slashed.append((full, url))

    def match(self, path: str) -> tuple[Route, dict[str, str]] | None:
        """The route and its path parameters (by routing variable, as werkzeug names them), or None
        where the URL map decides (no route, a tie, the control API)."""
        if path == CONTROL_PREFIX or path.startswith(CONTROL_PREFIX + "/") \
                or any(_compile(*written).fullmatch(path + "/") for written in self._slashed):
            return None
        best: tuple[Route, dict[str, str]] | None = None
        best_shape: tuple[int, ...] | None = None
        tied = False
        count, first, second = _bucket(path.split("/"), str)
        keys = dict.fromkeys((count, one, two) for one in (first, None) for two in (second, None))
        for entry in (entry for key in keys for entry in self._routes.get(key, ())):
            prefix, pattern, route, shape = entry
            if not path.startswith(prefix):
                continue
            if isinstance(pattern, tuple):
                pattern = entry[1] = _compile(*pattern)
            found = pattern.fullmatch(path)
            if found is None:
                continue
            if best_shape is None or shape < best_shape:
                best, best_shape, tied = (route, found.groupdict()), shape, False
            elif shape == best_shape and route is not best[0]:
                tied = True
        return None if tied else best


@functools.lru_cache(maxsize=256)
def _compile(path: str, url: str) -> re.Pattern:
    """`path` (`url` under the API's base path) as a regex, each template a named group."""
    names = iter(variable for variable, _ in path_variables(url))
    pattern, at = [], 0
    for template in _VARIABLE.finditer(path):
        pattern.append(re.escape(path[at:template.start()]))
        pattern.append(f"(?P<{next(names)}>[^/]+)")
        at = template.end()
    pattern.append(re.escape(path[at:]))
    return re.compile("".join(pattern))


def _bucket(segments: list[str], seen: Callable[[str], str | None]) -> tuple:
    """(segment count, first segment, second segment), each as `seen` makes it ("" when absent)."""
    count = len(segments)
    return count, seen(segments[1]) if count > 1 else "", seen(segments[2]) if count > 2 else ""
