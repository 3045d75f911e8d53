"""What keeps the web pages a developer visits away from a mock on their laptop: the Host check.

A page on `evil.example` can make the browser talk to `127.0.0.1:4010` by DNS rebinding: its name
resolves first to its own server, then to 127.0.0.1, and the browser, seeing the same origin, lets
the page read every answer (`GET /__mock/state` holds every credential). Every such request carries
`Host: evil.example`; a request meant for the mock names the machine itself. So, while the mock is
bound to a loopback address (the default), a request whose Host is not `localhost` (or a name under
`.localhost`, which browsers resolve to loopback), a loopback address (`127.0.0.1`, `[::1]`), or a
name given with `--allow-host` is refused with a 403 naming the flag. Any port is accepted.

Binding to another address (`--host 0.0.0.0`, a LAN address) is the user's explicit choice to be
reached by other names (a compose service name, a LAN address): the check is off, as in Jupyter
(`allow_remote_access`). Vite's users complained when its dev server started refusing unknown
hosts: proxies, tunnels and container names broke. Here those setups either bind another address
(no check) or name the host with `--allow-host NAME` (`.example.test` also allows every name under
it), and the refusal says so.

It applies to every route, vendor APIs included: a rebound page reading a vendor's `GET /projects`
is as bad as one reading the control API. A request without Host (HTTP/1.0) is let through: no
browser sends one.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Callable, Iterable
from typing import Any

from mockserver.settings import Settings


def is_loopback_bind(host: str) -> bool:
    """Whether binding `host` makes the mock reachable from this machine only."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def host_name(header: str) -> str:
    """The name of a Host header, without port, brackets or a trailing dot, lower-cased."""
    header = header.strip().lower()
    if header.startswith("["):
        return header[1:].partition("]")[0]
    if header.count(":") == 1:
        header = header.partition(":")[0]
    return header.rstrip(".")


def host_allowed(header: str, allowed: Iterable[str] = ()) -> bool:
    name = host_name(header)
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        if ipaddress.ip_address(name).is_loopback:
            return True
    except ValueError:
        pass
    for entry in allowed:
        entry = entry.strip().lower().rstrip(".")
        if entry.startswith("."):
            if name == entry[1:] or name.endswith(entry):
                return True
        elif name == host_name(entry):
            return True
    return False


def host_check(wsgi_app: Callable, settings: Settings) -> Callable:
    """`wsgi_app` behind the Host check, when the settings bind a loopback address; else as is."""
    if not is_loopback_bind(settings.host):
        return wsgi_app
    allowed = tuple(settings.allow_hosts)
    verdicts: dict[str, bool] = {}  # Host header -> allowed: a client sends the same one every time

    def app(environ: dict, start_response: Callable) -> Any:
        host = environ.get("HTTP_HOST")
        if host is None:
            return wsgi_app(environ, start_response)
        verdict = verdicts.get(host)
        if verdict is None:
            verdict = host_allowed(host, allowed)
            if len(verdicts) < 256:  # bounded: a client making up names gets no memory of them
                verdicts[host] = verdict
        if verdict:
            return wsgi_app(environ, start_response)
        name = host_name(host)
        message = (f"Host {host!r} is not a name of this machine: bound to {settings.host}, the mock answers "
                   f"only localhost, 127.0.0.1 and [::1] (a defence against DNS rebinding); start it with "
                   f"--allow-host {name or 'NAME'} to accept this name, or bind another address with --host")
        body = json.dumps({"error": "Forbidden", "message": message, "status": 403}).encode()
        start_response("403 Forbidden", [("Content-Type", "application/json"),
                                         ("Content-Length", str(len(body)))])
        return [body]

    return app


__all__ = ["host_allowed", "host_check", "host_name", "is_loopback_bind"]
