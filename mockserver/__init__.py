"""mockserver: a stateful, spec-driven, deterministic mock server for OpenAPI-described APIs."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# Imported on first use (PEP 562): pytest loads the plugin, hence this package, in every run.
_EXPORTS = {"create_app": "mockserver.app", "MockServer": "mockserver.server", "run": "mockserver.server",
            "Settings": "mockserver.settings"}

if TYPE_CHECKING:
    from mockserver.app import create_app
    from mockserver.server import MockServer, run
    from mockserver.settings import Settings


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'mockserver' has no attribute {name!r}")


__all__ = ["MockServer", "Settings", "create_app", "run", "__version__"]
