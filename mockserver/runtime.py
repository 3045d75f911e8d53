"""`Runtime`: everything a request needs, built once by `create_app` and passed explicitly to the
views, the control API and the page (never through `flask.g`)."""

from __future__ import annotations

from dataclasses import field

from mockserver.determinism import Determinism
from mockserver.exchange import Interceptor, Mount, Observer
from mockserver.faults import Faults
from mockserver.journal import Journal
from mockserver.records import dataclass
from mockserver.settings import Settings
from mockserver.store import Store


@dataclass
class Runtime:
    """Shared by the views of one app (`app.extensions["mockserver"]`)."""

    settings: Settings
    store: Store
    determinism: Determinism
    mounts: dict[str, Mount]
    allowed_keys: dict[str, frozenset[str]] = field(default_factory=dict)
    interceptors: list[Interceptor] = field(default_factory=list)  # may answer before the handler
    observers: list[Observer] = field(default_factory=list)  # see every exchange
    journal: Journal = field(default_factory=Journal)  # what was asked and answered (an observer)
    faults: Faults = field(default_factory=Faults)  # injected errors, delays, drops (an interceptor)
