"""Shared fixtures: a fresh in-process app per test (most tests need no socket). Helpers that tests
import are in `tests/helpers.py`, never here."""

from __future__ import annotations

import os
import shutil
import tempfile

import pytest

from mockserver import Settings, create_app

_CACHE = pytest.StashKey[str]()


def pytest_configure(config):
    """Loaded specs are cached (mockserver/speccache.py) in a folder of the run's own, not the user's:
    the suite's documents would push the user's entries out. xdist's workers inherit it."""
    if "MOCKSERVER_CACHE_DIR" not in os.environ:
        config.stash[_CACHE] = os.environ["MOCKSERVER_CACHE_DIR"] = tempfile.mkdtemp(prefix="mockserver-test-cache-")


def pytest_unconfigure(config):
    folder = config.stash.get(_CACHE, None)
    if folder is not None:
        shutil.rmtree(folder, ignore_errors=True)
        del os.environ["MOCKSERVER_CACHE_DIR"]


@pytest.fixture
def app():
    return create_app(Settings())


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def exchanges(app):
    """Every finished exchange of the test; none may be a 500 (a body that breaks the spec is one)."""
    seen = []
    app.extensions["mockserver"].observers.append(seen.append)
    yield seen
    assert [(e.method, e.path, e.error) for e in seen if e.status >= 500] == []
