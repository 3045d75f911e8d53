"""Ids and times are a pure function of (seed, vendor, tenant, collection, sequence): the same
requests within a tenant give byte-identical responses however other tenants interleave."""

from __future__ import annotations

import re

from mockserver import Settings, create_app
from mockserver.determinism import Determinism, iso_millis, rfc3339_micros
from tests.helpers import ORG

A = {"Authorization": "Bearer sk-alpha"}
B = {"Authorization": "Bearer sk-beta"}
M = {"X-Api-Key": "m-1"}


def script(client, other_first: bool) -> list[bytes]:
    """One tenant's sequence of requests; another tenant's requests interleave differently."""
    bodies = []
    if other_first:
        for i in range(3):
            client.post("/api/v1/projects", headers=B, json={"displayName": f"noise {i}"})
            client.post("/v1/projects", headers=M, json={"appName": "n", "name": f"noise-{i}", "orgId": ORG})
    bodies.append(client.post("/api/v1/projects", headers=A, json={"displayName": "one", "externalId": "e1"}).data)
    if not other_first:
        client.post("/api/v1/projects", headers=B, json={"displayName": "noise"})
    first_id = client.get("/api/v1/projects", headers=A).get_json()["data"][0]["id"]
    bodies.append(client.post(f"/api/v1/projects/{first_id}", headers=A, json={"displayName": "uno"}).data)
    bodies.append(client.post("/api/v1/projects", headers=A, json={"displayName": "two"}).data)
    bodies.append(client.post("/api/v1/projects", headers=A, json={"displayName": "dup", "externalId": "e1"}).data)
    bodies.append(client.get("/api/v1/projects?limit=1", headers=A).data)
    return bodies


def test_same_seed_same_bytes_whatever_other_tenants_do():
    one = script(create_app(Settings(seed=7)).test_client(), other_first=False)
    two = script(create_app(Settings(seed=7)).test_client(), other_first=True)
    assert one == two


def test_another_seed_gives_other_ids():
    one = create_app(Settings(seed=1)).test_client().post("/api/v1/projects", headers=A, json={"displayName": "x"})
    two = create_app(Settings(seed=2)).test_client().post("/api/v1/projects", headers=A, json={"displayName": "x"})
    assert one.get_json()["id"] != two.get_json()["id"]
    assert one.get_json()["created"] == two.get_json()["created"]  # the fixed clock does not depend on the seed


def test_ampersand_errors_are_deterministic_too():
    bodies = []
    for _ in range(2):
        client = create_app(Settings()).test_client()
        client.post("/v1/projects", headers=M, json={"appName": "a", "name": "taken", "orgId": ORG})
        bodies.append(client.post("/v1/projects", headers=M, json={"appName": "a", "name": "TAKEN", "orgId": ORG}).data)
    assert bodies[0] == bodies[1]
    assert b'"status":409' in bodies[0]


def test_fixed_clock_moves_one_step_per_write_of_the_tenant():
    client = create_app(Settings()).test_client()
    first = client.post("/api/v1/projects", headers=A, json={"displayName": "x"}).get_json()
    client.post("/api/v1/projects", headers=B, json={"displayName": "other tenant"})
    second = client.post("/api/v1/projects", headers=A, json={"displayName": "y"}).get_json()
    assert first["created"] == "2025-01-01T00:00:01.000Z"
    assert second["created"] == "2025-01-01T00:00:02.000Z"


def test_real_clock_uses_wall_time():
    clock = Determinism(0, "real")
    assert clock.now(1) != Determinism(0, "fixed").now(1)
    client = create_app(Settings(clock="real")).test_client()
    created = client.post("/api/v1/projects", headers=A, json={"displayName": "x"}).get_json()["created"]
    assert not created.startswith("2025-01-01T00:00:01")


def test_id_formats():
    d = Determinism(0, "fixed")
    assert re.fullmatch(r"[0-9A-Za-z]{21}", d.base62_id("activepieces", "sk-a", "project", 1))
    assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}",
                        d.uuid4("ampersand", "k", "project", 1))
    assert d.base62_id("activepieces", "sk-a", "project", 1) != d.base62_id("activepieces", "sk-b", "project", 1)


def test_time_formats():
    micros = 1705311012345678
    assert iso_millis(micros) == "2024-01-15T09:30:12.345Z"
    assert rfc3339_micros(micros) == "2024-01-15T09:30:12.345678Z"
