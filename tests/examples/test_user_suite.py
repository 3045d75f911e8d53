"""What a user's test suite looks like: a small client of the Activepieces projects API (the code
under test, written with `requests`) tested against the mock through the pytest plugin. Nothing
starts a server or writes HTTP plumbing: `pip install mockserver` provides the `mockserver` fixture."""

from __future__ import annotations

import pytest
import requests

# Every test of this module fails if the client sends a request the API would reject.
pytestmark = pytest.mark.mockserver(strict=True)

KEY = "sk-example-key"


class ProjectsClient:
    """The code under test: creates and finds platform projects, retrying once on a 503."""

    def __init__(self, base_url: str, api_key: str, timeout: float = 5.0) -> None:
        self.base_url = base_url  # in production: https://cloud.activepieces.com/api
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {api_key}"
        self.timeout = timeout

    def create(self, name: str, external_id: str | None = None) -> dict:
        body = {"displayName": name, **({"externalId": external_id} if external_id else {})}
        for _ in range(2):  # one retry
            response = self.session.post(f"{self.base_url}/v1/projects", json=body, timeout=self.timeout)
            if response.status_code != 503:
                break
        response.raise_for_status()
        return response.json()

    def find(self, external_id: str) -> dict | None:
        response = self.session.get(f"{self.base_url}/v1/projects", params={"externalId": external_id},
                                    timeout=self.timeout)
        response.raise_for_status()
        return next(iter(response.json()["data"]), None)


@pytest.fixture
def client(mockserver):
    client = ProjectsClient(mockserver.activepieces_url, KEY)
    yield client
    client.session.close()


def test_create_sends_the_name_and_the_external_id(client, mockserver):
    project = client.create("Acme", external_id="acme-1")

    assert project["displayName"] == "Acme"
    mockserver.assert_called("createProject", vendor="activepieces", times=1,
                             json={"displayName": "Acme", "externalId": "acme-1"})


def test_every_test_starts_from_an_empty_mock(client):
    assert client.find("acme-1") is None


def test_find_returns_a_seeded_project(client, mockserver):
    mockserver.seed_state(vendor="activepieces", credential=KEY,
                          projects=[{"displayName": "Seeded", "externalId": "seeded-1"}])

    assert client.find("seeded-1")["displayName"] == "Seeded"


def test_create_retries_once_on_a_503(client, mockserver):
    mockserver.fault("createProject", vendor="activepieces", status=503, times=1)

    assert client.create("Acme")["displayName"] == "Acme"
    assert [call["status"] for call in mockserver.requests("createProject")] == [503, 201]


@pytest.mark.mockserver(faults=[{"operation_id": "createProject", "status": 503}])
def test_create_gives_up_after_one_retry(client, mockserver):
    with pytest.raises(requests.HTTPError, match="503"):
        client.create("Acme")

    mockserver.assert_called("createProject", times=2)


def test_a_slow_api_makes_the_client_time_out(mockserver):
    client = ProjectsClient(mockserver.activepieces_url, KEY, timeout=0.2)
    mockserver.fault("createProject", delay_ms=30_000)

    with pytest.raises(requests.Timeout):
        client.create("Acme")
    mockserver.assert_called("createProject", times=1)


def test_a_dropped_connection_is_a_connection_error(client, mockserver):
    mockserver.fault("createProject", drop=True, times=1)

    with pytest.raises(requests.ConnectionError):
        client.create("Acme")


def test_one_request_can_ask_for_an_error_with_prefer(mockserver):
    response = requests.get(f"{mockserver.ampersand_url}/v1/projects",
                            headers={"X-Api-Key": "amp-key", "Prefer": "code=503"}, timeout=5)

    assert response.status_code == 503
    assert response.headers["Content-Type"] == "application/problem+json"
