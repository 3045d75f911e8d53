"""The package's layers point one way: every import of a `mockserver` module (at the top, inside a
function, or under `TYPE_CHECKING`) goes to a strictly lower layer. And no core module names a vendor."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import mockserver

PACKAGE = Path(mockserver.__file__).parent

# Lowest first. A module may import only modules of an earlier layer; a new module is placed here.
LAYERS = [
    # ECMA-262 patterns, ajv coercion, formats (app and server share them); dataclasses compiled less
    ["ecma", "coercion", "connection", "formats", "records", "keywords", "discriminator", "yamltext"],
    ["fastschema"],  # a compiled yes/no in front of jsonschema
    ["errors", "settings", "determinism", "jsontext", "generate", "speccache"],  # leaves
    ["spec", "guard"],
    ["credentials", "bodies", "leanrequest"],  # a request: its credential, its body, read from the environ
    ["inference"],
    ["store.base"],
    ["store.memory", "store.sqlite"],
    ["store"],
    ["vendors.base"],
    ["answers"],
    ["items"],  # what the engine's handlers share: keys, store names, stored objects, unique rules
    ["listing", "examples"],
    ["coded"],
    ["engine"],
    ["vendors", "vendors.activepieces", "vendors.ampersand", "exchange"],
    ["vendors.activepieces_latest"],  # profiles with code of their own (`mockserver.vendors`)
    ["faults", "routes"],
    ["journal"],
    ["accesslog"],  # what `mockserver serve` prints: an observer, as the journal is
    ["runtime"],
    ["pipeline"],
    ["state"],
    ["assembly", "admin"],  # the runtime (no Flask); the control API
    ["ui", "httpserver"],
    ["front"],  # the WSGI app the server serves: the lean dispatch, the Flask app when needed
    ["app"],
    ["server"],
    ["cli", "pytest_plugin", ""],  # entry points; "" is the package's __init__
    ["__main__"],
]
RANK = {name: rank for rank, names in enumerate(LAYERS) for name in names}
CORE_EXEMPT = re.compile(r"^vendors\.(?!base$)")  # vendor modules may name their vendor
VENDOR_NAMES = re.compile(r"activepieces|ampersand", re.IGNORECASE)


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules() -> dict[str, Path]:
    return {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def imported(path: Path) -> set[str]:
    """Every mockserver module the file imports, wherever the import statement is."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "mockserver":
                found.update(alias.name for alias in node.names)  # `from mockserver import admin`
                found.add("")
            elif node.module.startswith("mockserver."):
                found.add(node.module.removeprefix("mockserver."))
        elif isinstance(node, ast.Import):
            found.update(alias.name.removeprefix("mockserver.") for alias in node.names
                         if alias.name.startswith("mockserver."))
    return found


def test_every_module_has_a_layer():
    assert sorted(set(modules()) - set(RANK)) == [], "place each new module in LAYERS"


def test_imports_only_point_down():
    known = modules()
    wrong = []
    for name, path in known.items():
        for target in imported(path):
            if target not in known:  # `from mockserver import __version__` names an attribute
                target = ""
            if target != name and RANK[target] >= RANK[name] and not name.startswith(target + ".") \
                    and target != "":
                wrong.append(f"{name} (layer {RANK[name]}) imports {target} (layer {RANK[target]})")
    assert wrong == []


def test_the_layer_check_sees_type_checking_and_local_imports(tmp_path):
    source = tmp_path / "m.py"
    source.write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from mockserver.app import x\n"
                      "def f():\n    import mockserver.server\n")
    assert imported(source) == {"app", "server"}


def test_no_core_module_names_a_vendor():
    named = [name for name, path in modules().items()
             if not CORE_EXEMPT.match(name) and VENDOR_NAMES.search(path.read_text(encoding="utf-8"))]
    assert named == []
