"""Concurrency and integrity through the real HTTP server, on both stores: parallel creates lose
nothing, a unique value is won exactly once, pages read during writes are never torn or duplicated,
a reset during writes leaves a consistent store, and the server keeps answering while loaded.
Counts and timeouts are bounded; nothing depends on speed."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

import mockserver
from mockserver.store import Tenant

AP_KEY, AMP_KEY = "sk-concurrency", "concurrency-key"
AP = {"Authorization": f"Bearer {AP_KEY}"}
AMP = {"X-Api-Key": AMP_KEY}
THREADS, PER_THREAD = 8, 25
RACERS = 32  # clients racing for one unique value
TIMEOUT = 10  # seconds, per request


@pytest.fixture(params=["memory", "sqlite"])
def server(request, tmp_path):
    with mockserver.run(db=tmp_path / "mock.db" if request.param == "sqlite" else None, threads=8) as server:
        yield server.app, server.url


def in_parallel(count: int, work) -> list:
    """Run `work(i, session)` in `count` threads started together; every result, in order."""
    barrier = threading.Barrier(count)

    def run(i: int):
        with requests.Session() as session:
            barrier.wait(timeout=TIMEOUT)
            return work(i, session)

    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(run, range(count), timeout=120))


def all_pages(session: requests.Session, base_url: str, limit: int = 7, headers=AP) -> list[dict]:
    """Walk the Activepieces list from the first page by `next` cursors."""
    found, cursor = [], None
    for _ in range(10_000):
        params = {"limit": limit, **({"cursor": cursor} if cursor else {})}
        response = session.get(f"{base_url}/api/v1/projects", params=params, headers=headers, timeout=TIMEOUT)
        assert response.status_code == 200, response.text
        page = response.json()
        found.extend(page["data"])
        cursor = page["next"]
        if cursor is None:
            return found
    raise AssertionError("the cursor never ended")


def assert_whole(project: dict) -> None:
    """Not torn: the parts of one project agree with each other."""
    assert project["plan"]["projectId"] == project["id"] == project["usage"]["projectId"]
    assert project["created"] <= project["updated"]
    if project["displayName"].startswith("v"):  # the writers change both halves in one update
        assert project["displayName"] == f"v{project['plan']['tasks']}", project
    else:
        assert project["plan"]["tasks"] == 50000, project


def test_parallel_creates_lose_nothing(server):
    app, base_url = server

    def create(i, session):
        made = []
        for j in range(PER_THREAD):
            ap = session.post(f"{base_url}/api/v1/projects", json={"displayName": f"t{i}-{j}"}, headers=AP,
                              timeout=TIMEOUT)
            amp = session.post(f"{base_url}/v1/projects", json={"appName": "A", "name": f"t{i}-{j}", "orgId": "o"},
                               headers=AMP, timeout=TIMEOUT)
            assert (ap.status_code, amp.status_code) == (201, 201), (ap.text, amp.text)
            made.append((ap.json()["id"], amp.json()["id"]))
        return made

    made = [pair for batch in in_parallel(THREADS, create) for pair in batch]
    total = THREADS * PER_THREAD
    assert len({ap for ap, _ in made}) == len({amp for _, amp in made}) == total
    with requests.Session() as session:
        listed = all_pages(session, base_url)
        amp_listed = session.get(f"{base_url}/v1/projects", headers=AMP, timeout=TIMEOUT).json()
    assert sorted(p["id"] for p in listed) == sorted(ap for ap, _ in made)
    assert sorted(p["id"] for p in amp_listed) == sorted(amp for _, amp in made)
    assert sorted(p["displayName"] for p in listed) == sorted(f"t{i}-{j}" for i in range(THREADS)
                                                              for j in range(PER_THREAD))
    # Oldest first, and the store's own count agrees.
    assert [p["created"] for p in listed] == sorted(p["created"] for p in listed)
    store = app.extensions["mockserver"].store
    assert store.count(Tenant("activepieces", AP_KEY), "projects") == total


@pytest.mark.parametrize("rounds", [3])
def test_racing_creates_of_one_unique_value_have_one_winner(server, rounds):
    _, base_url = server
    for round_ in range(rounds):
        external_id, name = f"same-{round_}", f"Same-Name-{round_}"

        def create(i, session, external_id=external_id, name=name):
            ap = session.post(f"{base_url}/api/v1/projects", json={"displayName": f"r{i}", "externalId": external_id},
                              headers=AP, timeout=TIMEOUT)
            # Names are unique per org, compared lowercased: every racer spells it differently.
            spelled = name.upper() if i % 2 else name.lower()
            amp = session.post(f"{base_url}/v1/projects", json={"appName": "A", "name": spelled, "orgId": "org"},
                               headers=AMP, timeout=TIMEOUT)
            return ap.status_code, amp.status_code

        results = in_parallel(RACERS, create)
        assert sorted(ap for ap, _ in results) == [201] + [409] * (RACERS - 1)
        assert sorted(amp for _, amp in results) == [201] + [409] * (RACERS - 1)
        with requests.Session() as session:
            found = session.get(f"{base_url}/api/v1/projects", params={"externalId": external_id}, headers=AP,
                                timeout=TIMEOUT).json()["data"]
            assert len(found) == 1
            names = [p["name"] for p in session.get(f"{base_url}/v1/projects", headers=AMP, timeout=TIMEOUT).json()]
            assert names.count(name.lower()) == 1


def test_pages_read_during_writes_are_never_torn_or_duplicated(server):
    _, base_url = server
    with requests.Session() as session:
        seeded = [session.post(f"{base_url}/api/v1/projects", json={"displayName": f"seed{i}"}, headers=AP,
                               timeout=TIMEOUT).json()["id"] for i in range(10)]
    stop = threading.Event()

    def work(i, session):
        if i == 0:  # the reader: whole walks while the others write
            walks = 0
            while walks < 3 or not stop.is_set():
                projects = all_pages(session, base_url, limit=4)
                ids = [p["id"] for p in projects]
                assert len(ids) == len(set(ids)), "a record appeared twice in one walk"
                assert set(seeded) <= set(ids), "a record that was there all along was skipped"
                assert [p["created"] for p in projects] == sorted(p["created"] for p in projects)
                for project in projects:
                    assert_whole(project)
                walks += 1
                if walks >= 50:
                    break
            return walks
        try:
            for j in range(PER_THREAD):  # writers: create, and update both halves of a seeded project
                session.post(f"{base_url}/api/v1/projects", json={"displayName": f"w{i}-{j}"}, headers=AP,
                             timeout=TIMEOUT).raise_for_status()
                tasks = i * 1000 + j
                session.post(f"{base_url}/api/v1/projects/{seeded[j % len(seeded)]}",
                             json={"displayName": f"v{tasks}", "plan": {"tasks": tasks}}, headers=AP,
                             timeout=TIMEOUT).raise_for_status()
        finally:
            if i == 1:
                stop.set()
        return 0

    walks = in_parallel(THREADS, work)
    assert walks[0] >= 3


def test_reset_during_writes_leaves_a_consistent_store(server):
    app, base_url = server
    store = app.extensions["mockserver"].store
    resets = 5

    def work(i, session):
        if i == 0:
            for n in range(resets):  # the whole store, then only the writers' tenant, in turn
                session.get(f"{base_url}/api/v1/projects", headers=AP, timeout=TIMEOUT)  # a little later each time
                scope = {} if n % 2 else {"vendor": "activepieces", "credential": AP_KEY}
                session.post(f"{base_url}/__mock/reset", json=scope, timeout=TIMEOUT).raise_for_status()
            return "reset"
        statuses = []
        for j in range(PER_THREAD):
            response = session.post(f"{base_url}/api/v1/projects",
                                    json={"displayName": f"w{i}-{j}", "externalId": f"x{i}-{j}"},
                                    headers=AP, timeout=TIMEOUT)
            statuses.append(response.status_code)
        return statuses

    results = in_parallel(THREADS, work)
    assert all(status == 201 for batch in results[1:] for status in batch), results
    tenant = Tenant("activepieces", AP_KEY)
    with requests.Session() as session:
        listed = all_pages(session, base_url)
        ids = [p["id"] for p in listed]
        assert len(ids) == len(set(ids)) == store.count(tenant, "projects")
        for project in listed:
            assert_whole(project)
            by_id = session.get(f"{base_url}/api/v1/projects/{project['id']}", headers=AP, timeout=TIMEOUT)
            assert by_id.json() == project
            by_external = session.get(f"{base_url}/api/v1/projects", params={"externalId": project["externalId"]},
                                      headers=AP, timeout=TIMEOUT).json()["data"]
            assert by_external == [project]
        # No unique key outlived its record: every externalId not listed is free again.
        listed_external = {p["externalId"] for p in listed}
        for i in range(1, THREADS):
            for j in range(0, PER_THREAD, 6):
                external_id = f"x{i}-{j}"
                again = session.post(f"{base_url}/api/v1/projects", json={"displayName": "again",
                                                                          "externalId": external_id},
                                     headers=AP, timeout=TIMEOUT)
                assert again.status_code == (409 if external_id in listed_external else 201), external_id


def test_health_and_other_tenants_keep_being_answered_under_load(server):
    _, base_url = server
    stop = threading.Event()

    def work(i, session):
        if i == 0:
            answered = 0
            while answered < 20 or not stop.is_set():
                health = session.get(f"{base_url}/__mock/health", timeout=TIMEOUT)
                assert health.status_code == 200 and health.json()["status"] == "ok"
                other = session.get(f"{base_url}/v1/projects", headers={"X-Api-Key": "bystander"}, timeout=TIMEOUT)
                assert other.status_code == 200 and other.json() == []
                answered += 1
                if answered >= 200:
                    break
            return answered
        try:
            for j in range(PER_THREAD):
                session.post(f"{base_url}/api/v1/projects", json={"displayName": f"load{i}-{j}"}, headers=AP,
                             timeout=TIMEOUT).raise_for_status()
                session.get(f"{base_url}/api/v1/projects", params={"limit": 50}, headers=AP,
                            timeout=TIMEOUT).raise_for_status()
        finally:
            if i == 1:
                stop.set()
        return 0

    assert in_parallel(THREADS, work)[0] >= 20
