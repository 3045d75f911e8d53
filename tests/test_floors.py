"""What pyproject.toml declares matches what the code imports: every library mockserver imports is a
declared dependency, and one whose private API it uses has an upper bound. (That each floor is true
is shown by `make test`, which runs the suite again with every dependency at its floor.)"""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Imported by the pytest plugin only, which pytest itself loads: never needed without pytest.
NOT_RUNTIME = {"pytest"}


def normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def declared() -> dict[str, str]:
    """Distribution name -> its requirement, for the runtime dependencies."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return {normalized(re.match(r"[A-Za-z0-9._-]+", spec).group()): spec for spec in project["dependencies"]}


def imports() -> dict[str, set[str]]:
    """Top-level module -> the private names (`jsonschema._utils`, `waitress.x._y`) mockserver imports of it."""
    found: dict[str, set[str]] = {}
    for path in (ROOT / "mockserver").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
            else:
                continue
            for name in names:
                top = name.partition(".")[0]
                if top in sys.stdlib_module_names or top in ("mockserver", "__future__"):
                    continue
                private = any(part.startswith("_") and not part.startswith("__") for part in name.split("."))
                found.setdefault(top, set()).update([name] if private else [])
    return found


def test_every_library_imported_is_a_declared_dependency():
    dependencies, owners = declared(), packages_distributions()
    missing = {top: owners.get(top) for top in imports() if top not in NOT_RUNTIME
               and not any(normalized(dist) in dependencies for dist in owners.get(top, []))}
    assert missing == {}, missing


def test_a_private_api_is_used_only_below_an_upper_bound():
    dependencies, owners = declared(), packages_distributions()
    private = {top: names for top, names in imports().items() if names}
    assert "jsonschema" in private  # what this test looks for is found (fastschema.py's shortcuts)
    for top, names in private.items():
        for dist in owners[top]:
            assert "<" in dependencies[normalized(dist)], (dependencies[normalized(dist)], sorted(names))
