"""pytest plugin (registered under the `pytest11` entry point, so installing mockserver is enough).

One real server per test session (per xdist worker), started on first use; each test gets it
fresh: state, journal and fault rules reset before the test, without a restart.

Fixtures:
    mockserver           the running server, reset for this test (`mockserver.server.MockServer`)
    mockserver_session   the same server, not reset (session scope)
    mockserver_settings  its `Settings` (session scope): override this fixture to configure it
    mockserver_app       an in-process Flask app with the same settings, for socket-free tests
    mockserver_client    that app's test client

Options: `--mockserver-seed N`, `--mockserver-profile VENDOR=PROFILE`, `--mockserver-strict`.
Marker: `@pytest.mark.mockserver(seed=7, faults=[{...}], state=[{...}] or "fixtures.yaml", strict=True)`.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:  # imported when a fixture is used: pytest loads this plugin in every run
    from mockserver.server import Control, MockServer
    from mockserver.settings import Settings

MARKER = ("mockserver(seed=None, faults=(), state=None, strict=None): the seed, fault rules (`.fault()` "
          "keyword dicts), state (tenants or a fixtures path) and strictness of this test's mock server")


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("mockserver", "stateful mock APIs from OpenAPI documents")
    group.addoption("--mockserver-seed", type=int, default=None, metavar="N",
                    help="seed of the mock's ids and times (default 0)")
    group.addoption("--mockserver-spec", action="append", default=[], metavar="[NAME=]PATH",
                    help="also mount this OpenAPI document (repeatable); its URL is mockserver.url(NAME)")
    group.addoption("--mockserver-profile", action="append", default=[], metavar="VENDOR=PROFILE",
                    help="serve VENDOR as this version of its API (latest, 2024 ...; repeatable); "
                         "default: the seeds' era")
    group.addoption("--mockserver-strict", action="store_true", default=False,
                    help="fail a test when one of its requests to the mock matched no operation or broke the spec")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", MARKER)


@pytest.fixture(scope="session")
def mockserver_settings(pytestconfig: pytest.Config) -> Settings:
    from mockserver.settings import Settings, spec_option

    specs = tuple(spec_option(item) for item in pytestconfig.getoption("mockserver_spec") or ())
    profiles = []
    for item in pytestconfig.getoption("mockserver_profile") or ():
        vendor, sep, profile = item.partition("=")
        if not sep or not vendor or not profile:
            raise pytest.UsageError(f"--mockserver-profile must be VENDOR=PROFILE, not {item!r}")
        profiles.append((vendor, profile))
    return Settings(port=0, seed=pytestconfig.getoption("mockserver_seed") or 0, specs=specs,
                    profiles=tuple(profiles))


@pytest.fixture(scope="session")
def mockserver_session(mockserver_settings: Settings):
    from mockserver.server import MockServer

    with MockServer(mockserver_settings) as server:
        yield server


@pytest.fixture
def mockserver(mockserver_session: MockServer, mockserver_settings: Settings,
               request: pytest.FixtureRequest) -> MockServer:
    _prepare(mockserver_session, request, mockserver_settings)
    return mockserver_session


@pytest.fixture
def mockserver_app(mockserver_settings: Settings, request: pytest.FixtureRequest):
    from mockserver.app import create_app
    from mockserver.server import Control

    options = _marker(request)
    app = create_app(dataclasses.replace(mockserver_settings, seed=options.get("seed", mockserver_settings.seed)))
    _prepare(Control(app), request, mockserver_settings)
    yield app
    app.extensions["mockserver"].store.close()


@pytest.fixture
def mockserver_client(mockserver_app):
    return mockserver_app.test_client()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item):
    """Strict mode: after a test that passed, fail it if the mock rejected any of its requests."""
    result = yield
    server = getattr(item, "funcargs", {}).get("mockserver")
    if server is not None and hasattr(server, "rejected") and _strict(item):
        rejected = server.rejected()
        if rejected:
            pytest.fail(f"mockserver (strict): {len(rejected)} request(s) matched no operation or broke the "
                        "spec:\n  " + "\n  ".join(rejected), pytrace=False)
    return result


def _prepare(control: Control, request: pytest.FixtureRequest, settings: Settings) -> None:
    """Reset, then apply the test's marker: seed, state, fault rules."""
    options = _marker(request)
    control.reset(seed=options.get("seed", settings.seed))
    state = options.get("state")
    if isinstance(state, (str, Path)):
        control.load(state)
    elif state:
        control.seed_state(tenants=state["tenants"] if isinstance(state, dict) else state)
    for rule in options.get("faults", ()):
        control.fault(**rule)


def _marker(request: pytest.FixtureRequest) -> dict[str, Any]:
    marker = request.node.get_closest_marker("mockserver")
    if marker is None:
        return {}
    if marker.args:
        raise pytest.UsageError("@pytest.mark.mockserver takes keyword arguments only (seed, faults, state, strict)")
    unknown = set(marker.kwargs) - {"seed", "faults", "state", "strict"}
    if unknown:
        raise pytest.UsageError(f"@pytest.mark.mockserver: unknown argument(s) {', '.join(sorted(unknown))}")
    return {key: value for key, value in marker.kwargs.items() if value is not None}


def _strict(item: pytest.Item) -> bool:
    marker = item.get_closest_marker("mockserver")
    if marker is not None and marker.kwargs.get("strict") is not None:
        return bool(marker.kwargs["strict"])
    return bool(item.config.getoption("mockserver_strict"))
