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


@pytest.fixture
def exchanges(app):
    """Every finished exchange of the test; none may be a 500 (a body that breaks the spec is one)."""
    seen = []
    app.extensions["mockserver"].observers.append(seen.append)
    yield seen
    assert [(e.method, e.path, e.error) for e in seen if e.status >= 500] == []


class VendorApi:
    """One vendor's API through the Flask test client; a subclass sets `base` and `headers`."""

    base = ""
    headers: dict = {}

    def __init__(self, client):
        self.client = client

    def send(self, method, path="", body=None, headers=None, **kwargs):
        if body is not None:
            kwargs["json"] = body
        headers = self.headers if headers is None else headers
        response = self.client.open(self.base + path, method=method, headers=headers, **kwargs)
        assert response.status_code < 500, response.get_data(as_text=True)
        return response
