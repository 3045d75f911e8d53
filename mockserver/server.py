"""`mockserver.run(...)`: the mock served over HTTP on a thread of this process, with helpers for
tests (the pytest plugin's `mockserver` fixture is one of these).

    with mockserver.run(port=0) as server:
        requests.post(server.base_url(API) + "/v1/things", ...)  # or server.<API>_url
        server.assert_called("createThing", vendor=API, times=1)

The helpers go through the control API (`/__mock/*`) in-process, without a socket, so they
validate and answer exactly as it does; a refusal raises `ControlError` with its message.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from flask import Flask

from mockserver.app import create_app
from mockserver.front import http_server
from mockserver.settings import Settings, spec_option

_ANY: Any = object()


class ControlError(AssertionError):
    """The control API refused a helper's request (a bad fault rule, a bad state document)."""


class Control:
    """Helpers over one app's control API; `MockServer` adds the network."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.runtime = app.extensions["mockserver"]
        self._client = app.test_client()
        token = self.runtime.settings.admin_token
        self._headers = {"X-Mock-Admin-Token": token} if token else {}

    def _call(self, method: str, path: str, body: Any = None, query: dict | None = None) -> Any:
        response = self._client.open(f"/__mock{path}", method=method, headers=self._headers, json=body,
                                     query_string={k: v for k, v in (query or {}).items() if v is not None})
        payload = response.get_json(silent=True)
        if response.status_code >= 400:
            raise ControlError(payload["message"] if isinstance(payload, dict) else response.get_data(as_text=True))
        return payload

    # --- state -----------------------------------------------------------------------------------

    def reset(self, vendor: str | None = None, credential: str | None = None, seed: int | None = None) -> None:
        """Forget state, journal and fault rules: all, one vendor's, or one tenant's; optionally reseed."""
        body = {key: value for key, value in (("vendor", vendor), ("credential", credential), ("seed", seed))
                if value is not None}
        self._call("POST", "/reset", body)

    def state(self, vendor: str | None = None, credential: str | None = None) -> list[dict]:
        """The tenants and their projects, as `GET /__mock/state` gives them."""
        return self._call("GET", "/state", query={"vendor": vendor, "credential": credential})["tenants"]

    def seed_state(self, vendor: str | None = None, credential: str | None = None,
                   projects: Iterable[dict] = (), *, tenants: Iterable[dict] | None = None) -> list[dict]:
        """Replace one tenant's projects (`vendor`, `credential`, `projects`), or several tenants'
        (`tenants=[{vendor, credential, projects}]`); returns the projects as the API shows them."""
        if tenants is None:
            tenants = [{"vendor": vendor, "credential": credential, "projects": list(projects)}]
        imported = self._call("PUT", "/state", {"tenants": list(tenants)})["tenants"]
        return [project for tenant in imported for project in tenant["projects"]]

    def load(self, path: str | Path) -> list[dict]:
        """Import a fixtures file (the `--fixtures` format); returns the projects as the API shows them."""
        from mockserver.state import read_document

        try:
            imported = self._call("PUT", "/state", read_document(Path(path)))["tenants"]
        except ControlError as error:
            raise ControlError(f"{path}: {error}") from None
        return [project for tenant in imported for project in tenant["projects"]]

    # --- faults ----------------------------------------------------------------------------------

    def fault(self, operation_id: str | None = None, *, vendor: str | None = None, credential: str | None = None,
              status: int | None = None, delay_ms: int | None = None, drop: bool | None = None,
              times: int | None = None) -> dict:
        """Add a fault rule: e.g. `fault("createThing", vendor=API, status=503, times=2)`."""
        rule = {"vendor": vendor, "operationId": operation_id, "credential": credential, "status": status,
                "delayMs": delay_ms, "drop": drop, "times": times}
        return self._call("POST", "/faults", {key: value for key, value in rule.items() if value is not None})

    def faults(self) -> list[dict]:
        return self._call("GET", "/faults")["faults"]

    def clear_faults(self) -> None:
        self._call("DELETE", "/faults")

    # --- the journal -----------------------------------------------------------------------------

    def requests(self, operation_id: str | None = None, vendor: str | None = None, credential: str | None = None,
                 status: int | str | None = None, rejected: bool | None = None) -> list[dict]:
        """Journal entries (oldest first) matching every filter given."""
        self.runtime.faults.settle()
        query = {"operationId": operation_id, "vendor": vendor, "credential": credential,
                 "status": None if status is None else str(status),
                 "rejected": None if rejected is None else str(rejected).lower()}
        found, after = [], 0
        while after is not None:  # every page, oldest first
            page = self._call("GET", "/requests", query={**query, "after": after, "limit": 1000})
            found.extend(page["requests"])
            after = page["next"]
        return found

    def clear_requests(self) -> None:
        self._call("DELETE", "/requests")

    def assert_called(self, operation_id: str, times: int | None = None, json: Any = _ANY,
                      vendor: str | None = None, credential: str | None = None) -> list[dict]:
        """Assert that `operation_id` was called (`times` exactly, else at least once), with this
        JSON body if given. Returns the matching entries; the failure lists the near misses."""
        calls = [entry for entry in self.requests(operation_id, vendor, credential)
                 if json is _ANY or entry["body"] == json]
        if (times is None and calls) or len(calls) == times:
            return calls
        wanted = f"{vendor + ' ' if vendor else ''}{operation_id}"
        if json is not _ANY:
            wanted += f" with json {_compact(json)}"
        expected = "at least once" if times is None else f"{times} time{'s' * (times != 1)}"
        message = f"expected {wanted} to be called {expected}, it was called {len(calls)} time" + "s" * (
            len(calls) != 1)
        raise AssertionError(message + _near_misses(self.requests(), operation_id, vendor, json))

    def assert_not_called(self, operation_id: str, vendor: str | None = None, credential: str | None = None) -> None:
        self.assert_called(operation_id, times=0, vendor=vendor, credential=credential)

    def rejected(self) -> list[str]:
        """One line per journaled request that matched no operation or broke the spec."""
        return [describe(entry) for entry in self.requests(rejected=True)]


class MockServer(Control):
    """The mock on a free port (by default) of 127.0.0.1, served on a daemon thread.
    A context manager; `stop()` closes it (idempotent)."""

    def __init__(self, settings: Settings | None = None) -> None:
        settings = settings or Settings(port=0)
        super().__init__(create_app(settings))
        self._server = http_server(self.app, self.runtime, settings)
        self.host, self.port = self._server.socket.getsockname()[:2]
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._server.serve_forever, name=f"mockserver:{self.port}",
                                        daemon=True)
        self._thread.start()

    @property
    def url(self) -> _Url:
        """The server's root, e.g. `http://127.0.0.1:41234`; `url(NAME)` is API NAME's base URL."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return _Url(f"http://{host}:{self.port}", self.base_url)

    def base_url(self, api: str) -> str:
        """What replaces an API's own base URL (the first `servers` URL of its spec)."""
        if api not in self.runtime.mounts:
            raise KeyError(f"no API named {api!r}; mounted: {', '.join(self.runtime.mounts)}")
        return str(self.url) + self.runtime.mounts[api].spec.server_path

    def __getattr__(self, name: str) -> str:
        """`server.<api>_url` is `base_url("<api>")` for every mounted API."""
        api = name.removesuffix("_url")
        runtime = self.__dict__.get("runtime")
        if name.endswith("_url") and runtime is not None and api in runtime.mounts:
            return self.base_url(api)
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def stop(self) -> None:
        if self._stopping.is_set():
            return
        self._stopping.set()
        self.runtime.faults.wake()  # no worker stays asleep in a delay
        self._server.close()
        self._thread.join(timeout=10)
        self.runtime.store.close()

    def __enter__(self) -> MockServer:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"<MockServer {self.url}>"


def run(port: int = 0, host: str = "127.0.0.1", **settings: Any) -> MockServer:
    """Start the mock on a thread and return it, running: use it as a context manager, or call
    `stop()`. Keyword arguments are `Settings` fields (seed, clock, db, fixtures, journal_size ...)."""
    if "fixtures" in settings:
        settings["fixtures"] = tuple(Path(path) for path in settings["fixtures"])
    if "specs" in settings:  # paths, `NAME=PATH` strings or (name, path) pairs
        settings["specs"] = tuple(_spec_item(item) for item in settings["specs"])
    return MockServer(Settings(host=host, port=port, **settings))


class _Url(str):
    """The server's root URL, which also answers `url(NAME)` with the base URL of an API."""

    def __new__(cls, root: str, base_url: Any) -> _Url:
        made = super().__new__(cls, root)
        made._base_url = base_url
        return made

    def __call__(self, api: str) -> str:
        return self._base_url(api)


def _spec_item(item: Any) -> tuple[str, Path]:
    if isinstance(item, (tuple, list)):
        name, path = item
        return str(name), Path(path)
    if isinstance(item, Path):
        return item.stem, item
    return spec_option(str(item))


# --- describing journal entries ------------------------------------------------------------------

def describe(entry: dict) -> str:
    """`#3 POST /v1/things -> 400 shop createThing: body/name must be string`."""
    status = "dropped" if entry["status"] is None else entry["status"]
    operation = " ".join(part for part in (entry["vendor"], entry["operationId"] or "(no operation)") if part)
    text = f"#{entry['id']} {entry['method']} {entry['path']} -> {status} {operation}"
    if entry["error"]:
        text += f": {entry['error']}"
    return text


def _near_misses(entries: list[dict], operation_id: str, vendor: str | None, body: Any, limit: int = 5) -> str:
    """The journal's requests closest to what was expected, closest first (then newest first)."""
    if not entries:
        return "\nthe journal is empty: no request reached the mock"

    def closeness(entry: dict) -> tuple:
        return (entry["operationId"] == operation_id, vendor is None or entry["vendor"] == vendor,
                body is not _ANY and isinstance(entry["body"], dict) and isinstance(body, dict)
                and bool(set(entry["body"]) & set(body)), entry["id"])

    lines = []
    for entry in sorted(entries, key=closeness, reverse=True)[:limit]:
        line = f"\n  {describe(entry)}"
        if entry["body"] is not None:
            line += f"\n      json {_compact(entry['body'])}"
            if body is not _ANY and entry["operationId"] == operation_id:
                line += f"\n      {_difference(entry['body'], body)}"
        lines.append(line)
    more = f"\n  ... and {len(entries) - limit} more" if len(entries) > limit else ""
    return "\nnear misses (closest first):" + "".join(lines) + more


def _difference(sent: Any, wanted: Any) -> str:
    if not (isinstance(sent, dict) and isinstance(wanted, dict)):
        return f"differs: sent {_compact(sent)}, expected {_compact(wanted)}"
    parts = [f"{key}: sent {_compact(sent[key]) if key in sent else '(absent)'}, "
             f"expected {_compact(wanted[key]) if key in wanted else '(absent)'}"
             for key in sorted(set(sent) | set(wanted), key=str) if sent.get(key, _ANY) != wanted.get(key, _ANY)]
    return "differs: " + "; ".join(parts)


def _compact(value: Any, limit: int = 300) -> str:
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)
    return text if len(text) <= limit else text[:limit] + "…"
