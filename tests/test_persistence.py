"""`mockserver serve --db PATH` end to end: kill -9 during a stream of writes, restart on the same
file, and find every acknowledged write; refuse files that are not a mockserver database."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading

import requests

from tests.helpers import ORG, cli_server

AP_KEY = {"Authorization": "Bearer sk-persist"}
AMP_KEY = {"X-Api-Key": "persist"}
TIMEOUT = 5  # every HTTP call
ACKED_BEFORE_KILL = 40  # writes acknowledged (both vendors together) before the kill
MAX_WRITES = 400  # per vendor: bounds the stream if the kill never comes


class Ledger:
    """What the server acknowledged, per record: the values it may hold and whether it may exist.
    A write in flight when the server dies may or may not have landed, so it widens both."""

    def __init__(self) -> None:
        self.lock = threading.Condition()  # notified at every acknowledgement and failure
        self.records: dict[str, dict] = {}  # id -> {"vendor", "values": set, "present": set}
        self.acked = 0
        self.failures: list[str] = []

    def fail(self, message: str) -> None:
        with self.lock:
            self.failures.append(message)
            self.lock.notify_all()

    def created(self, vendor: str, record_id: str, value: str) -> None:
        with self.lock:
            self.records[record_id] = {"vendor": vendor, "values": {value}, "present": {True}}
            self.acked += 1
            self.lock.notify_all()

    def changed(self, record_id: str, value: str | None, in_flight: bool = False) -> None:
        """An update (value) or a delete (None), acknowledged or in flight."""
        with self.lock:
            entry = self.records[record_id]
            if value is None:
                entry["present"] = {True, False} if in_flight else {False}
            elif in_flight:
                entry["values"].add(value)
            else:
                entry["values"] = {value}
            self.acked += not in_flight
            self.lock.notify_all()

    def ids(self, vendor: str) -> set[str]:
        return {rid for rid, entry in self.records.items() if entry["vendor"] == vendor}


class Writer:
    """One stream's session, and the change in flight when the server dies (None between writes)."""

    def __init__(self, url: str, ledger: Ledger) -> None:
        self.url, self.ledger = url, ledger
        self.session = requests.Session()
        self.pending: tuple[str, str | None] | None = None

    def create(self, vendor: str, path: str, headers: dict, body: dict, value: str) -> str:
        self.pending = None
        reply = self.session.post(self.url + path, headers=headers, json=body, timeout=TIMEOUT)
        _expect(self.ledger, reply, 201)
        self.ledger.created(vendor, reply.json()["id"], value)
        return reply.json()["id"]

    def change(self, record_id: str, value: str | None, method: str, path: str, headers: dict,
               body: dict | None, status: int) -> None:
        """An update (value) or a delete (None) of `record_id`."""
        self.pending = (record_id, value)
        reply = self.session.request(method, self.url + path, headers=headers, json=body, timeout=TIMEOUT)
        _expect(self.ledger, reply, status)
        self.ledger.changed(record_id, value)
        self.pending = None


def streaming(writes):
    """Run `writes(writer, stop)` until done, stopped or the server dies (the kill cuts a connection)."""

    def stream(url: str, ledger: Ledger, stop: threading.Event) -> None:
        writer = Writer(url, ledger)
        try:
            writes(writer, stop)
        except requests.RequestException:  # the kill: a refused or cut connection, or a cut response
            if writer.pending is not None:
                ledger.changed(*writer.pending, in_flight=True)
        except Exception as error:  # a writer must not die unseen
            ledger.fail(repr(error))
        finally:
            writer.session.close()

    return stream


@streaming
def stream_activepieces(writer: Writer, stop: threading.Event) -> None:
    live: list[str] = []
    for i in range(MAX_WRITES):
        if stop.is_set():
            return
        live.append(writer.create("activepieces", "/api/v1/projects", AP_KEY,
                                  {"displayName": f"ap-{i}", "externalId": f"ext-{i}"}, f"ap-{i}"))
        if i % 3 == 2:
            writer.change(live[-2], f"renamed-{i}", "POST", f"/api/v1/projects/{live[-2]}", AP_KEY,
                          {"displayName": f"renamed-{i}"}, 200)
        if i % 5 == 4:
            gone = live.pop(0)
            writer.change(gone, None, "DELETE", f"/api/v1/projects/{gone}", AP_KEY, None, 204)


@streaming
def stream_ampersand(writer: Writer, stop: threading.Event) -> None:
    for i in range(MAX_WRITES):
        if stop.is_set():
            return
        record_id = writer.create("ampersand", "/v1/projects", AMP_KEY,
                                  {"appName": f"App {i}", "name": f"proj-{i}", "orgId": ORG}, f"App {i}")
        if i % 4 == 3:
            writer.change(record_id, f"Renamed {i}", "PATCH", f"/v1/projects/{record_id}", AMP_KEY,
                          {"updateMask": ["appName"], "project": {"appName": f"Renamed {i}"}}, 200)


def _expect(ledger: Ledger, reply: requests.Response, status: int) -> None:
    if reply.status_code != status:
        ledger.fail(f"{reply.request.method} {reply.url}: {reply.status_code} {reply.text[:200]}")
        raise RuntimeError("unexpected status")  # stops this stream; the test fails on ledger.failures


def all_activepieces(session: requests.Session, url: str) -> list[dict]:
    projects, cursor = [], None
    for _ in range(100):  # bounded: at most MAX_WRITES projects, 50 a page
        params = {"limit": 50, **({"cursor": cursor} if cursor else {})}
        page = session.get(f"{url}/api/v1/projects", headers=AP_KEY, params=params, timeout=TIMEOUT).json()
        projects += page["data"]
        cursor = page["next"]
        if cursor is None:
            return projects
    raise AssertionError("paging did not end")


def test_kill_9_during_writes_loses_nothing_acknowledged(tmp_path):
    db = tmp_path / "state.db"
    ledger, stop = Ledger(), threading.Event()
    with cli_server("--db", str(db)) as (process, url):
        writers = [threading.Thread(target=stream, args=(url, ledger, stop))
                   for stream in (stream_activepieces, stream_ampersand)]
        for writer in writers:
            writer.start()
        with ledger.lock:  # woken by each acknowledgement, not by polling
            ledger.lock.wait_for(lambda: ledger.acked >= ACKED_BEFORE_KILL or ledger.failures, timeout=10)
        process.send_signal(signal.SIGKILL)  # while both streams are writing
        process.wait(timeout=10)
        stop.set()
        for writer in writers:
            writer.join(timeout=TIMEOUT * 2)
    assert not ledger.failures
    assert ledger.acked >= ACKED_BEFORE_KILL
    assert ledger.ids("activepieces") and ledger.ids("ampersand")

    with cli_server("--db", str(db)) as (process, url), requests.Session() as session:
        for record_id, entry in ledger.records.items():
            path = "/api/v1/projects" if entry["vendor"] == "activepieces" else "/v1/projects"
            headers = AP_KEY if entry["vendor"] == "activepieces" else AMP_KEY
            reply = session.get(f"{url}{path}/{record_id}", headers=headers, timeout=TIMEOUT)
            assert (reply.status_code == 200) in entry["present"], (record_id, entry, reply.status_code)
            if reply.status_code == 200:
                field = "displayName" if entry["vendor"] == "activepieces" else "appName"
                assert reply.json()[field] in entry["values"], (record_id, entry, reply.json())

        listed_ap = all_activepieces(session, url)
        listed_amp = session.get(f"{url}/v1/projects", headers=AMP_KEY, timeout=TIMEOUT).json()
        must_exist = {rid for rid, entry in ledger.records.items() if entry["present"] == {True}}
        must_not = {rid for rid, entry in ledger.records.items() if entry["present"] == {False}}
        listed = {p["id"] for p in listed_ap} | {p["id"] for p in listed_amp}
        assert must_exist <= listed and not must_not & listed

        # the sequence and the fixed clock continue: new ids, later times
        before = listed | set(ledger.records)
        ap = session.post(f"{url}/api/v1/projects", headers=AP_KEY, json={"displayName": "after"}, timeout=TIMEOUT)
        amp = session.post(f"{url}/v1/projects", headers=AMP_KEY, timeout=TIMEOUT,
                           json={"appName": "After", "name": "after-restart", "orgId": ORG})
        assert ap.status_code == 201 and amp.status_code == 201
        assert ap.json()["id"] not in before and amp.json()["id"] not in before
        assert ap.json()["created"] > max(p["created"] for p in listed_ap)
        assert amp.json()["createTime"] > max(p["createTime"] for p in listed_amp)

        # a second server on the same file is refused while this one runs
        second = _serve("--db", str(db))
        assert second.returncode == 2 and "in use" in second.stderr
        assert session.get(f"{url}/api/v1/projects/{ap.json()['id']}", headers=AP_KEY,
                           timeout=TIMEOUT).status_code == 200

        # a clean stop closes the database: the WAL is folded back into the file
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
    assert not db.with_name(db.name + "-wal").exists()


def test_serve_refuses_a_file_that_is_not_a_mockserver_database(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("not a database\n")
    result = _serve("--db", str(path))
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("mockserver: error: ")
    assert str(path) in lines[0] and "not an SQLite file" in lines[0]
    assert result.stdout == ""  # never started listening
    assert path.read_text() == "not a database\n"


def _serve(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "mockserver", "serve", "--port", "0", *args],
                          capture_output=True, text=True, timeout=30)
