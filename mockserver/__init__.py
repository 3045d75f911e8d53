"""mockserver: a stateful, spec-driven mock of the Activepieces and Ampersand project APIs."""

__version__ = "0.1.0"

from mockserver.app import create_app  # noqa: E402
from mockserver.server import MockServer, run  # noqa: E402
from mockserver.settings import Settings  # noqa: E402

__all__ = ["MockServer", "Settings", "create_app", "run", "__version__"]
