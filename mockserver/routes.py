"""Which spec operation a URL names, without werkzeug's URL map: the lean dispatch (`front.py`)
routes with it, so a start serves its first requests before Flask and werkzeug are imported.

It answers as werkzeug's map does for the rules `pipeline.mount` adds (a rule per spec URL, with and
without a trailing slash, every method, `{name}` one non-empty segment): of the routes matching the
whole path, the one whose segments are static furthest left (werkzeug's state machine tries a static
segment before a variable one, backtracking). Where that leaves a tie (`/a/{id}` and `/a/{id}.json`
both match `/a/1.json`: werkzeug orders those by its rule weights), and for anything else it does not
decide, it answers None and the URL map decides."""

from __future__ import annotations

import re
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
        # (static prefix, regex, route, shape): shape is 0 per static segment, 1 per variable one.
        self._routes: list[tuple[str, re.Pattern, Route, tuple[int, ...]]] = []
        self._slashed: list[re.Pattern] = []  # URLs written with a final slash: werkzeug redirects to them
        for target in mounts.values():
            if target.control:
                continue
            for url, candidates in target.spec.routes.items():
                operations = {method: each[0] for method, each in candidates.items()}
                shared = {method: each for method, each in candidates.items() if len(each) > 1}
                route = (target, operations, shared)
                full = target.spec.server_path + url
                for path in dict.fromkeys((full, full.rstrip("/") + "/")):
                    pattern, shape = _compile(path, url)
                    self._routes.append((path.split("{", 1)[0], pattern, route, shape))
                if full.endswith("/"):
                    self._slashed.append(_compile(full, url)[0])

    def match(self, path: str) -> tuple[Route, dict[str, str]] | None:
        """The route and its path parameters (by routing variable, as werkzeug names them), or None
        where the URL map decides (no route, a tie, the control API)."""
        if path == CONTROL_PREFIX or path.startswith(CONTROL_PREFIX + "/") \
                or any(pattern.fullmatch(path + "/") for pattern in self._slashed):
            return None
        best: tuple[Route, dict[str, str]] | None = None
        best_shape: tuple[int, ...] | None = None
        tied = False
        for prefix, pattern, route, shape in self._routes:
            if not path.startswith(prefix):
                continue
            found = pattern.fullmatch(path)
            if found is None:
                continue
            if best_shape is None or shape < best_shape:
                best, best_shape, tied = (route, found.groupdict()), shape, False
            elif shape == best_shape and route is not best[0]:
                tied = True
        return None if tied else best


def _compile(path: str, url: str) -> tuple[re.Pattern, tuple[int, ...]]:
    names = iter(variable for variable, _ in path_variables(url))
    pattern, at = [], 0
    for template in _VARIABLE.finditer(path):
        pattern.append(re.escape(path[at:template.start()]))
        pattern.append(f"(?P<{next(names)}>[^/]+)")
        at = template.end()
    pattern.append(re.escape(path[at:]))
    shape = tuple(1 if "{" in segment else 0 for segment in path.split("/"))
    return re.compile("".join(pattern)), shape
