"""Shared fixtures: a fresh in-process app per test (most tests need no socket). Helpers that tests
import are in `tests/helpers.py`, never here."""

from __future__ import annotations

import pytest

from mockserver import Settings, create_app


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
