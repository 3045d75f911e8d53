"""Shared fixtures: a fresh in-process app per test (most tests need no socket)."""

from __future__ import annotations

import pytest

from mockserver import Settings, create_app

AP = {"Authorization": "Bearer sk-test"}  # one Activepieces platform
AMP = {"X-Api-Key": "key-1"}  # one Ampersand tenant
ORG = "9f7c3e2a-61b8-4f5c-8d1a-eb24f3b05d79"


@pytest.fixture
def app():
    return create_app(Settings())


@pytest.fixture
def client(app):
    return app.test_client()
