"""`make bench`: how fast the mock is, next to the floor of its own stack, in one run.

    python bench/run.py                 # everything (~7 minutes with Prism), writes bench/results.md
    python bench/run.py --duration 3    # a quicker, noisier run

Load: wrk (installed from Debian's packages when missing), 16 connections, a warm-up, then 10 s.
Each scenario runs against the floor (bench/floor_app.py: Flask + waitress, parse the JSON, return
a fixed body) and against the mock back to back, alternating which goes first, so machine drift
hits both alike; the ratio ours/floor is the figure to compare across machines. Besides wrk's
numbers it reads each server's CPU time from /proc: CPU per request is steadier than throughput
when other processes share the cores.

Also measured, each in a fresh interpreter: start-up (process launch to the first 201), in-process
`create_app()` (what a pytest fixture pays), and memory and timings at 100,000 Activepieces
projects in one tenant. The benchmark is not a test: nothing here asserts on speed.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import platform
import re
import selectors
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
LUA = BENCH / "load.lua"
RESULTS = BENCH / "results.md"
ORG = "9f7c3e2a-61b8-4f5c-8d1a-eb24f3b05d79"
DROPPED = re.compile(rb"mockserver: (\d+) request lines? dropped")  # the access log's notice (text format)
MARK = "<!-- {} figures: written by bench/run.py; everything outside the markers is kept -->"


# --- tools ---------------------------------------------------------------------------------------

def ensure_wrk() -> str:
    """wrk from PATH, else `apt-get install -y wrk` (after `apt-get update` if the first try fails)."""
    found = shutil.which("wrk")
    if found:
        return found
    if not shutil.which("apt-get"):
        sys.exit("bench: wrk is missing and there is no apt-get; install wrk (https://github.com/wg/wrk)")
    print("bench: installing wrk with apt-get ...", flush=True)
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.STDOUT}
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    if subprocess.run(["apt-get", "install", "-y", "wrk"], env=env, **quiet).returncode != 0:
        subprocess.run(["apt-get", "update"], env=env, **quiet)
        if subprocess.run(["apt-get", "install", "-y", "wrk"], env=env, **quiet).returncode != 0:
            sys.exit("bench: `apt-get install -y wrk` failed (are you root?); install wrk and run again")
    return shutil.which("wrk") or sys.exit("bench: wrk is still not on PATH")


PRISM_VERSION = "5.14.2"  # the newest @stoplight/prism-cli that runs on Node 20
PRISM_DIR = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "mockserver-bench" / "prism"


def ensure_prism() -> str | None:
    """Prism's CLI, installed with npm into a cache folder outside the repository (PRISM_DIR) when
    missing; None, saying why, where node or npm is missing (the Prism rows are then skipped)."""
    binary = PRISM_DIR / "node_modules" / ".bin" / "prism"
    if not shutil.which("node"):
        print("bench: node is not installed: the Prism rows are skipped", flush=True)
        return None
    if binary.exists():
        out = subprocess.run([str(binary), "--version"], capture_output=True, text=True, timeout=60)
        if out.stdout.strip() == PRISM_VERSION:
            return str(binary)
    if not shutil.which("npm"):
        print("bench: npm is not installed: the Prism rows are skipped", flush=True)
        return None
    print(f"bench: installing @stoplight/prism-cli@{PRISM_VERSION} with npm into {PRISM_DIR} ...", flush=True)
    PRISM_DIR.mkdir(parents=True, exist_ok=True)
    out = subprocess.run(["npm", "install", "--prefix", str(PRISM_DIR), "--no-audit", "--no-fund", "--no-save",
                          f"@stoplight/prism-cli@{PRISM_VERSION}"], capture_output=True, text=True, timeout=600)
    if out.returncode != 0 or not binary.exists():
        print(f"bench: `npm install @stoplight/prism-cli@{PRISM_VERSION}` failed: the Prism rows are skipped\n"
              f"{out.stderr[-2000:]}", flush=True)
        return None
    return str(binary)


def bench_spec() -> dict:
    """The Ampersand create as a small OpenAPI 3.1 document: the request's constraints of
    openapi/ampersand.yaml's createProject (required, lengths, the name's pattern), its API-key
    header, and its 201 (the Project schema, an example of the same size as our answer). Prism
    serves it; the mock mounts it too (`--spec`), for the create on an API added with no code."""
    timestamp = {"type": "string", "format": "date-time",
                 "pattern": "^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}(\\.\\d{0,5}[1-9])?Z$"}
    flag = {"type": "object", "additionalProperties": False, "required": ["value"]}
    project = {
        "type": "object", "additionalProperties": False, "required": ["id", "name", "appName", "orgId", "createTime"],
        "properties": {
            "id": {"type": "string", "format": "uuid"},
            "name": {"type": "string", "pattern": "^[a-z0-9][a-z0-9-]*[a-z0-9]$"},
            "appName": {"type": "string"}, "orgId": {"type": "string"},
            "createTime": timestamp, "updateTime": timestamp,
            "entitlements": {"type": "object", "additionalProperties": False,
                             "required": ["brandingRemoval", "logRetentionDays"],
                             "properties": {"brandingRemoval": {**flag, "properties": {"value": {"type": "boolean"}}},
                                            "logRetentionDays": {**flag, "properties": {
                                                "value": {"type": "integer", "minimum": 0}}}}},
        },
    }
    example = {"id": "7d3c3e1e-2f4b-4d4f-9a8b-2b7f1a0c9e11", "name": "p-bench", "appName": "Bench App",
               "orgId": ORG, "createTime": "2025-01-01T00:00:01.123Z", "updateTime": "2025-01-01T00:00:01.123Z",
               "entitlements": {"brandingRemoval": {"value": False}, "logRetentionDays": {"value": 30}}}
    problem = {"description": "A problem.", "content": {"application/problem+json": {"schema": {
        "type": "object", "required": ["type", "title", "status", "detail"],
        "properties": {"type": {"type": "string"}, "title": {"type": "string"}, "status": {"type": "integer"},
                       "detail": {"type": "string"}}}}}}
    create = {
        "operationId": "createProject",
        "requestBody": {"required": True, "content": {"application/json": {"schema": {
            "type": "object", "required": ["appName", "name", "orgId"],
            "properties": {
                "appName": {"type": "string", "minLength": 1, "maxLength": 128},
                "name": {"type": "string", "minLength": 2, "maxLength": 128,
                         "pattern": "^[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]$"},
                "orgId": {"type": "string", "minLength": 1}}}}}},
        "responses": {"201": {"description": "The new project.",
                              "content": {"application/json": {"schema": project, "example": example}}},
                      **{code: problem for code in ("400", "401", "409", "415", "422")}},
    }
    return {"openapi": "3.1.0", "info": {"title": "bench", "version": "1.0"},
            "security": [{"APIKeyHeader": []}],
            "paths": {"/v1/projects": {"post": create}},
            "components": {"securitySchemes": {"APIKeyHeader": {"type": "apiKey", "in": "header",
                                                                "name": "X-Api-Key"}}}}


def write_bench_spec(folder: Path) -> Path:
    path = folder / "bench.json"
    path.write_text(json.dumps(bench_spec(), indent=1))
    return path


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def mockserver_command() -> list[str]:
    script = Path(sys.executable).parent / "mockserver"
    return [str(script)] if script.exists() else [sys.executable, "-m", "mockserver"]


class Server:
    """A server process on a free loopback port: it prints `... listening on http://HOST:PORT`."""

    def __init__(self, name: str, command: list[str], env: dict | None = None, cwd: Path = ROOT,
                 port: int | None = None) -> None:
        """`port`: where the server will listen, polled until it accepts a connection; its stdout
        (Prism logs there) goes to the log file then, never to a pipe that would fill. Without it,
        the server prints `... listening on http://HOST:PORT` first."""
        self.name = name
        self.log = tempfile.TemporaryFile()
        self.started = time.perf_counter()
        self.process = subprocess.Popen(command, cwd=cwd, stdout=subprocess.PIPE if port is None else self.log,
                                        stderr=self.log, env={**os.environ, **(env or {})})
        line = read_line(self.process, timeout=20) if port is None else self._wait_for(port, timeout=60)
        self.ready_ms = (time.perf_counter() - self.started) * 1000
        match = re.search(r"http://([\d.]+):(\d+)", line)
        if not match:
            self.stop()
            sys.exit(f"bench: {name} did not start: {line!r}")
        self.host, self.port = match.group(1), int(match.group(2))
        self.url = f"http://{self.host}:{self.port}"
        # What the server prints after its ready line (the mock: a line per request, its default) is
        # read as a terminal or a CI runner reads it, promptly, so the pipe never fills.
        self.out_lines = self.out_dropped = 0
        if port is None:
            threading.Thread(target=self._drain, daemon=True).start()

    def _drain(self) -> None:
        with contextlib.suppress(ValueError, OSError):  # closed when the server stops
            for line in self.process.stdout:
                self.out_lines += 1
                dropped = DROPPED.match(line)
                if dropped:
                    self.out_dropped += int(dropped.group(1))

    def _wait_for(self, port: int, timeout: float) -> str:
        import socket

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.process.poll() is None:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                return f"http://127.0.0.1:{port}"
            except OSError:
                time.sleep(0.01)
        self.log.seek(0)
        return self.log.read()[-2000:].decode(errors="replace")

    def cpu_seconds(self) -> float:
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def rss_mb(self) -> float:
        return _rss_kb(f"/proc/{self.process.pid}/status") / 1024

    def log_lines(self) -> int:
        self.log.seek(0)
        return self.log.read().count(b"\n")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()


def read_line(process: subprocess.Popen, timeout: float) -> str:
    selector = selectors.DefaultSelector()
    selector.register(process.stdout, selectors.EVENT_READ)
    if not selector.select(timeout):
        return ""
    return process.stdout.readline().decode(errors="replace")


def _rss_kb(status_file: str = "/proc/self/status") -> int:
    for line in Path(status_file).read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def request(host: str, port: int, method: str, path: str, body: dict | None = None,
            headers: dict | None = None) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection(host, port, timeout=10)
    try:
        data = None if body is None else json.dumps(body).encode()
        connection.request(method, path, data, {"Content-Type": "application/json", **(headers or {})})
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


# --- load ----------------------------------------------------------------------------------------

@dataclass
class Load:
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    status_errors: int
    socket_errors: int
    cpu_us: float  # server CPU (user + system) per request
    log_lines: int = 0
    rounds: list[float] = field(default_factory=list)  # req/s of each round, when several were run
    out_lines: int = 0  # lines the server printed on stdout (the mock's access log)
    out_dropped: int = 0  # access log lines the mock dropped because its output did not keep up

    @property
    def rps(self) -> float:
        return self.requests / self.seconds


def combined(loads: list[Load]) -> Load:
    """Rounds of one server and scenario as one: requests over seconds, the median round's p50 and p99."""
    if len(loads) == 1:
        return loads[0]
    requests = sum(load.requests for load in loads)
    return Load(requests, sum(load.seconds for load in loads), statistics.median(load.p50_ms for load in loads),
                statistics.median(load.p99_ms for load in loads), sum(load.status_errors for load in loads),
                sum(load.socket_errors for load in loads),
                sum(load.cpu_us * load.requests for load in loads) / max(requests, 1),
                sum(load.log_lines for load in loads), [load.rps for load in loads],
                sum(load.out_lines for load in loads), sum(load.out_dropped for load in loads))


def wrk(binary: str, server: Server, path: str, mode: str, key: str, run: str, seconds: int,
        connections: int, threads: int) -> Load:
    cpu, lines = server.cpu_seconds(), server.log_lines()
    printed, dropped = server.out_lines, server.out_dropped
    command = [binary, f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--timeout", "5s", "-s", str(LUA),
               server.url + path, "--", mode, key, run]
    out = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 30)
    line = next((x for x in out.stdout.splitlines() if x.startswith("BENCH ")), None)
    if line is None:
        sys.exit(f"bench: wrk failed against {server.name}: {out.stdout}{out.stderr}")
    data = json.loads(line[6:])
    used = server.cpu_seconds() - cpu
    return Load(data["requests"], data["duration_us"] / 1e6, data["p50_us"] / 1000, data["p99_us"] / 1000,
                data["status_errors"], data["socket_errors"], used / max(data["requests"], 1) * 1e6,
                server.log_lines() - lines, out_lines=server.out_lines - printed,
                out_dropped=server.out_dropped - dropped)


# Prism at its fastest with everything on: request validation and its response check are always
# on, `--errors` makes a response that breaks the spec an error (as the mock's self-check does).
# It logs warnings only: at its default level (info) it prints five lines a request, which halves
# its throughput and puts its p99 past 150 ms (bench/results.md); the mock prints its one line a
# request (its default, `mockserver/accesslog.py`), read through a pipe.
PRISM_FLAGS = ["--errors", "--verboseLevel", "warn"]
SPEC_BASE = "/bench"  # where the mock mounts bench_spec() (`--spec bench=... --base bench=/bench`)


@dataclass
class Scenario:
    name: str
    mode: str  # load.lua's MODE
    path: str
    expect: str  # "ok": every answer 2xx; "error": every answer 4xx
    key: str = ""
    rounds: int = 1  # measured rounds, the servers taking turns in each
    prism_path: str | None = None  # where Prism serves it (None: Prism does not take part)
    ours_path: str | None = None  # where the mock serves it, when not at `path`
    results: dict[str, Load] = field(default_factory=dict)

    def path_for(self, server: str) -> str:
        if server == "prism":
            return self.prism_path or self.path
        if server == "floor":
            return self.path
        return self.ours_path or self.path


def scenarios(mocks: list[Server], tag: str, args: argparse.Namespace, spec: bool = False) -> list[Scenario]:
    found = [
        Scenario("Ampersand create (201)", "amp-create", "/v1/projects", "ok", f"bench-amp-{tag}",
                 rounds=args.rounds, prism_path="/v1/projects"),
        Scenario("Activepieces create (201)", "ap-create", "/api/v1/projects", "ok", f"sk-bench-ap-{tag}"),
        Scenario("Activepieces get by id (200)", "get", "", "ok", f"sk-bench-get-{tag}"),
        Scenario("Ampersand rejected create (422)", "amp-reject", "/v1/projects", "error", f"bench-rej-{tag}"),
        Scenario("Activepieces rejected create (400)", "ap-reject", "/api/v1/projects", "error",
                 f"sk-bench-rej-{tag}"),
    ]
    if spec:  # the same create on the document bench_spec() writes, mounted with `--spec` (no code)
        found.insert(1, Scenario("create on a `--spec` API (201)", "amp-create", "/v1/projects", "ok",
                                 f"bench-spec-{tag}", rounds=args.rounds, prism_path="/v1/projects",
                                 ours_path=SPEC_BASE + "/v1/projects"))
    get = next(s for s in found if s.mode == "get")
    for server in mocks:  # ids are a function of (seed, tenant, seq): the same path on every mock
        status, body = request(server.host, server.port, "POST", "/api/v1/projects", {"displayName": "Got"},
                               {"Authorization": f"Bearer {get.key}"})
        if status != 201:
            sys.exit(f"bench: could not create the project to get: {status} {body[:200]!r}")
        get.path = f"/api/v1/projects/{json.loads(body)['id']}"
    return found


def run_load(wrk_binary: str, servers: list[Server], args: argparse.Namespace, spec: bool = False) -> list[Scenario]:
    """Every scenario against every server taking part (Prism only where it serves the scenario),
    back to back, warmed up once, then measured in rounds; the order rotates from one scenario and
    round to the next so that no server always runs first or last."""
    tag = str(int(time.time()))
    found = scenarios([s for s in servers if s.name not in ("floor", "prism")], tag, args, spec)
    if args.only:
        found = [scenario for scenario in found if args.only.lower() in scenario.name.lower()]
    for index, scenario in enumerate(found):
        taking = [s for s in servers if s.name != "prism" or scenario.prism_path is not None]
        for server in taking:
            wrk(wrk_binary, server, scenario.path_for(server.name), scenario.mode, scenario.key, f"w{index}",
                args.warmup, args.connections, args.wrk_threads)
        measured: dict[str, list[Load]] = {server.name: [] for server in taking}
        for round_no in range(scenario.rounds):
            shift = (index + round_no) % len(taking)
            for server in taking[shift:] + taking[:shift]:
                measured[server.name].append(wrk(wrk_binary, server, scenario.path_for(server.name), scenario.mode,
                                                 scenario.key, f"m{index}-{round_no}", args.duration,
                                                 args.connections, args.wrk_threads))
        scenario.results = {server.name: combined(measured[server.name]) for server in taking}
        for name, load in scenario.results.items():
            if name == "floor":
                continue
            wrong = load.status_errors if scenario.expect == "ok" else load.requests - load.status_errors
            if wrong or load.socket_errors:
                sys.exit(f"bench: {scenario.name} ({name}): {wrong} unexpected statuses, "
                         f"{load.socket_errors} socket errors")
        print(f"  {scenario.name}: " + ", ".join(f"{name} {load.rps:,.0f} req/s"
                                                  for name, load in scenario.results.items()), flush=True)
    return found


# --- start-up, create_app, memory (each in a fresh interpreter) ----------------------------------

def startup_ms(runs: int = 5, env: dict | None = None, extra: list[str] = (),
               path: str = "/v1/projects", body: dict | None = None, headers: dict | None = None,
               cold: bool = False) -> tuple[float, float, float]:
    """Medians of: launch -> the `listening` line, launch -> the first 201, and the CPU time the
    server process used until then (steadier than wall time when other processes share the cores).
    The package's bytecode is compiled first, as any earlier run would have left it (without it,
    e.g. under PYTHONDONTWRITEBYTECODE=1, every start compiles the package again: +~300 ms).
    The loaded specs are cached (mockserver/speccache.py) in a folder of the bench's own: one start
    fills it, untimed, as a user's first run would, then the timed starts read it; `cold`: an empty
    folder for every start (a user's very first run, or a document just changed)."""
    import compileall

    package = Path((env or {}).get("PYTHONPATH", ROOT)) / "mockserver"
    compileall.compile_dir(str(package), quiet=1)
    body = body if body is not None else {"appName": "App", "name": "first", "orgId": ORG}
    headers = headers if headers is not None else {"X-Api-Key": "start"}
    cache = Path(tempfile.mkdtemp(prefix="mockserver-bench-cache-"))
    env = {**(env or {}), "MOCKSERVER_CACHE_DIR": str(cache)}
    listening, created, cpu = [], [], []
    for run in range(runs + (0 if cold else 1)):
        if cold:
            shutil.rmtree(cache / "specs", ignore_errors=True)
        started = time.perf_counter()
        process = subprocess.Popen([*mockserver_command(), "serve", "--port", "0", *extra], cwd=ROOT,
                                   stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env={**os.environ, **(env or {})})
        try:
            line = read_line(process, timeout=60)
            ready = time.perf_counter() - started
            host, port = re.search(r"http://([\d.]+):(\d+)", line).groups()
            status, _ = request(host, int(port), "POST", path, body, headers)
            done = time.perf_counter() - started
            fields = Path(f"/proc/{process.pid}/stat").read_text().rsplit(")", 1)[1].split()
            if status != 201:
                sys.exit(f"bench: the first create answered {status}")
            if cold or run > 0:  # warm: the first start only fills the cache
                listening.append(ready)
                created.append(done)
                cpu.append((int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK"))
        finally:
            process.terminate()
            process.wait(timeout=10)
    shutil.rmtree(cache, ignore_errors=True)
    return statistics.median(listening) * 1000, statistics.median(created) * 1000, statistics.median(cpu) * 1000


def big_startups(folder: Path, env: dict | None = None) -> dict:
    """Start-up with a 600-operation document (bench/bigspec.py) mounted with `--spec`: its first start
    (nothing cached) and later ones (the loaded spec read back from the cache)."""
    from bigspec import write

    document = write(folder / "big.yaml")
    options = {"extra": ["--spec", f"big={document}"], "path": "/v1/things000",
               "body": {"name": "first", "price": {"amount": 1, "currency": "EUR"}},
               "headers": {"Authorization": "Bearer start"}, "env": env, "runs": 3}
    return {"cold": startup_ms(cold=True, **options), "warm": startup_ms(**options)}


def child(name: str, env: dict | None = None) -> dict:
    out = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--child", name], cwd=ROOT,
                         capture_output=True, text=True, timeout=300, env={**os.environ, **(env or {})})
    if out.returncode != 0:
        sys.exit(f"bench: the {name} measurement failed:\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def measure_create_app() -> dict:
    started = time.perf_counter()
    from mockserver import Settings, create_app

    imported = time.perf_counter()
    create_app(Settings())
    first = time.perf_counter()
    times = []
    for _ in range(20):
        begin = time.perf_counter()
        create_app(Settings())
        times.append(time.perf_counter() - begin)
    return {"import_ms": (imported - started) * 1000, "first_ms": (first - imported) * 1000,
            "again_ms": statistics.median(times) * 1000}


def _timed(function, repeat: int = 5) -> float:
    """Median milliseconds of `function()`."""
    times = []
    for _ in range(repeat):
        begin = time.perf_counter()
        function()
        times.append(time.perf_counter() - begin)
    return statistics.median(times) * 1000


def measure_memory(count: int = 100_000) -> dict:
    """RSS added by `count` Activepieces projects in one tenant, stored through the vendor's create
    handler (the request path after validation: the same records and unique keys as over HTTP), and
    the cost of get / list / reset at that size next to the same at 100 projects."""
    import gc

    from mockserver import Settings, create_app
    from mockserver.store import Tenant
    from mockserver.vendors import activepieces
    from mockserver.vendors.base import Call

    app = create_app(Settings())
    runtime = app.extensions["mockserver"]
    client = app.test_client()
    operation = runtime.mounts["activepieces"].spec.operations["createProject"]
    big, small = "sk-bench-big", "sk-bench-small"
    create = activepieces.VENDOR.handlers["createProject"]

    def fill(key: str, n: int) -> None:
        tenant = Tenant("activepieces", key)
        for i in range(n):
            body = {"displayName": f"Project {i:06d}", "externalId": f"ext-{i:06d}"}
            create(Call(operation, tenant, body, {}, {}, runtime.store, runtime.determinism))

    fill(small, 100)  # enough for a full first page
    for _ in range(3):  # warm every code path (and its allocations) before the baseline
        client.get("/api/v1/projects", headers={"Authorization": f"Bearer {small}"})
    gc.collect()
    empty = _rss_kb()
    # Many small tenants (one per test or per worker): what each costs with one project.
    for n in range(10_000):
        fill(f"sk-bench-tenant-{n}", 1)
    gc.collect()
    before = _rss_kb()
    per_tenant = (before - empty) * 1024 / 10_000
    started = time.perf_counter()
    fill(big, count)
    fill_s = time.perf_counter() - started
    gc.collect()
    after = _rss_kb()

    def timings(key: str, n: int) -> dict:
        headers = {"Authorization": f"Bearer {key}"}
        first = client.get("/api/v1/projects?limit=1", headers=headers).get_json()["data"][0]["id"]
        cursor = activepieces.encode_cursor("next", n // 2)
        return {
            "get": _timed(lambda: client.get(f"/api/v1/projects/{first}", headers=headers), 50),
            "list_first": _timed(lambda: client.get("/api/v1/projects", headers=headers), 20),
            "list_middle": _timed(lambda: client.get(f"/api/v1/projects?cursor={cursor}", headers=headers), 20),
            "by_external_id": _timed(lambda: client.get("/api/v1/projects?externalId=ext-000005", headers=headers),
                                     50),
        }

    at_small, at_big = timings(small, 100), timings(big, count)
    tenant = Tenant("activepieces", big)
    assert runtime.store.count(tenant, "projects") == count
    # A store that frees a big reset on a background thread (FREE_LATER) is watched until it is done.
    lazy = count >= getattr(sys.modules["mockserver.store.memory"], "FREE_LATER", float("inf"))
    detached = runtime.store._tenants[tenant].collections["projects"].records if lazy else {}
    begin = time.perf_counter()
    runtime.store.reset(tenant=tenant)
    reset_ms = (time.perf_counter() - begin) * 1000
    while detached:
        time.sleep(0.001)
    freed_ms = (time.perf_counter() - begin) * 1000 if lazy else None
    del detached
    # Again through the control API (what a test fixture calls): the store, the journal, fault rules.
    fill(big, count)
    gc.collect()
    begin = time.perf_counter()
    answer = client.post("/__mock/reset", json={"vendor": "activepieces", "credential": big})
    api_reset_ms = (time.perf_counter() - begin) * 1000
    assert answer.status_code < 300 and runtime.store.count(tenant, "projects") == 0, answer.get_data()
    return {"count": count, "rss_before_mb": empty / 1024, "rss_after_mb": after / 1024,
            "added_mb": (after - before) / 1024, "bytes_per_project": (after - before) * 1024 / count,
            "fill_s": fill_s, "small": at_small, "big": at_big, "reset_ms": reset_ms, "freed_ms": freed_ms,
            "api_reset_ms": api_reset_ms, "bytes_per_tenant": per_tenant}


# --- report --------------------------------------------------------------------------------------

def versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for name in ("flask", "werkzeug", "waitress", "jsonschema"):
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "?"
    return out


def machine(wrk_binary: str | None) -> dict[str, str]:
    cpu = "?"
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                   if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    wrk_version = "-"
    if wrk_binary:
        wrk_version = subprocess.run([wrk_binary, "-v"], capture_output=True, text=True).stdout.split(" [")[0]
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                            text=True).stdout.strip() or "?"
    return {"nproc": str(os.cpu_count()), "cpu": cpu, "kernel": platform.release(), "wrk": wrk_version,
            "commit": commit}


TARGETS = {
    "prism_rps": 1.2, "create_rps": 0.90, "create_p99": 1.2,
    "startup_ms": 200, "create_app_ms": 30, "memory_mb": 100, "reset_ms": 20, "big_startup_ms": 1000,
}


def verdict(ok: bool) -> str:
    return "yes" if ok else "**no**"


def report(args, found, start, app_times, memory, info, prism=None, spec_start=None, big=None) -> str:
    lines = []
    v = versions()
    lines.append(f"Run {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, commit {info['commit']}: "
                 f"{info['nproc']} cores ({info['cpu']}), Linux {info['kernel']}, Python {v['python']}, "
                 f"Flask {v['flask']}, Werkzeug {v['werkzeug']}, waitress {v['waitress']}, "
                 f"jsonschema {v['jsonschema']}, {info['wrk']}.")
    if found:
        lines.append(f"Load: wrk -t{args.wrk_threads} -c{args.connections}, {args.warmup:g} s warm-up then "
                     f"{args.duration:g} s per server and scenario; the floor on waitress with {args.threads} "
                     "threads, the mock on its event loop (mockserver/httpserver.py); the floor first in odd "
                     "rows, ours first in even ones.")
        lines += ["", "| scenario | ours req/s | floor req/s | ours/floor | ours p50 ms | ours p99 ms | "
                  "floor p99 ms | p99 ours/floor | CPU µs/req ours | floor |",
                  "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
        for scenario in found:
            ours, floor = scenario.results["ours"], scenario.results["floor"]
            lines.append(f"| {scenario.name} | {ours.rps:,.0f} | {floor.rps:,.0f} | {ours.rps / floor.rps:.2f} | "
                         f"{ours.p50_ms:.1f} | {ours.p99_ms:.1f} | {floor.p99_ms:.1f} | "
                         f"{ours.p99_ms / floor.p99_ms:.2f} | {ours.cpu_us:.0f} | {floor.cpu_us:.0f} |")
        logged = sum(s.results["ours"].log_lines for s in found)
        lines.append("")
        printed = sum(s.results["ours"].out_lines for s in found)
        dropped = sum(s.results["ours"].out_dropped for s in found)
        lines.append(f"Server log lines written during the load: {logged}. The mock's access log (on, as by "
                     f"default; its stdout read through a pipe): {printed:,} lines printed, {dropped:,} dropped.")
        against = [scenario for scenario in found if "prism" in scenario.results]
        if against:
            lines += ["", f"Against Prism {prism['version']} (`prism mock {' '.join(PRISM_FLAGS)}`, serving the "
                      "document the bench writes: the Ampersand create's constraints, API key and 201), "
                      f"{args.rounds} rounds of {args.duration} s, the three servers taking turns in each round "
                      "(req/s: all rounds' requests over their time; p50/p99: the median round's):", "",
                      "| scenario | ours req/s | Prism req/s | floor req/s | ours/Prism | ours/floor | ours p99 ms | "
                      "Prism p99 ms | floor p99 ms | CPU µs/req ours | Prism | floor | "
                      "rounds, req/s ours / Prism / floor |",
                      "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
            for scenario in against:
                r = scenario.results
                o, p, f = r["ours"], r["prism"], r["floor"]
                per_round = "; ".join(f"{a:,.0f} / {b:,.0f} / {c:,.0f}"
                                      for a, b, c in zip(o.rounds or [o.rps], p.rounds or [p.rps], f.rounds or [f.rps],
                                                         strict=False))
                lines.append(f"| {scenario.name} | {o.rps:,.0f} | {p.rps:,.0f} | {f.rps:,.0f} | {o.rps / p.rps:.2f} | "
                             f"{o.rps / f.rps:.2f} | {o.p99_ms:.1f} | {p.p99_ms:.1f} | {f.p99_ms:.1f} | "
                             f"{o.cpu_us:.0f} | {p.cpu_us:.0f} | {f.cpu_us:.0f} | {per_round} |")
            lines.append("")
            lines.append(f"Prism: launch to listening {prism['ready_ms']:.0f} ms; RSS after the load: ours "
                         f"{prism['rss_ours']:.0f} MB (holding every project the load created), Prism "
                         f"{prism['rss_prism']:.0f} MB, the floor {prism['rss_floor']:.0f} MB.")
    lines += ["", "| figure | value | target | met |", "|---|---:|---:|---|"]
    if found:
        for scenario in found:
            ours, rival = scenario.results["ours"], scenario.results.get("prism")
            if rival is None:
                continue
            lines.append(f"| {scenario.name}: throughput ours/Prism | {ours.rps / rival.rps:.2f} | >= 1.2 | "
                         f"{verdict(ours.rps / rival.rps >= TARGETS['prism_rps'])} |")
            lines.append(f"| {scenario.name}: p99 ours / Prism's | {ours.p99_ms:.1f} / {rival.p99_ms:.1f} ms | "
                         f"<= 1.0 | {verdict(ours.p99_ms <= rival.p99_ms)} |")
        for scenario in [s for s in found if s.name.startswith(("Ampersand create", "Activepieces create"))]:
            ours, floor = scenario.results["ours"], scenario.results["floor"]
            lines.append(f"| {scenario.name}: throughput ours/floor | {ours.rps / floor.rps:.2f} | >= 0.90 | "
                         f"{verdict(ours.rps / floor.rps >= TARGETS['create_rps'])} |")
            lines.append(f"| {scenario.name}: p99 ours/floor | {ours.p99_ms / floor.p99_ms:.2f} | <= 1.2 | "
                         f"{verdict(ours.p99_ms / floor.p99_ms <= TARGETS['create_p99'])} |")
    if start:
        lines.append(f"| start-up: launch to `listening` (median of 5) | {start[0]:.0f} ms | | |")
        lines.append(f"| start-up: launch to first 201 (median of 5) | {start[1]:.0f} ms | < 200 ms | "
                     f"{verdict(start[1] < TARGETS['startup_ms'])} |")
        lines.append(f"| start-up: CPU time of the server until its first 201 (median of 5) | {start[2]:.0f} ms | | |")
    if spec_start:
        lines.append(f"| start-up with `--spec` (the bench's document): launch to its first 201 (median of 5) | "
                     f"{spec_start[1]:.0f} ms | < 200 ms | {verdict(spec_start[1] < TARGETS['startup_ms'])} |")
    if big:
        for key, label in (("cold", "first start, nothing cached"), ("warm", "later starts, the spec cached")):
            b = big[key]
            lines.append(f"| start-up with a 600-operation `--spec` document ({label}): launch to its first 201 "
                         f"(median of 3) | {b[1]:.0f} ms (CPU {b[2]:.0f} ms) | < 1000 ms | "
                         f"{verdict(b[1] < TARGETS['big_startup_ms'])} |")
    if app_times:
        lines.append(f"| import mockserver (fresh interpreter) | {app_times['import_ms']:.0f} ms | | |")
        lines.append(f"| first `create_app()` (loads and compiles the specs) | {app_times['first_ms']:.1f} ms | "
                     f"< 30 ms | {verdict(app_times['first_ms'] < TARGETS['create_app_ms'])} |")
        lines.append(f"| later `create_app()` (what each pytest fixture pays) | {app_times['again_ms']:.2f} ms | "
                     f"< 30 ms | {verdict(app_times['again_ms'] < TARGETS['create_app_ms'])} |")
    if memory:
        m = memory
        lines.append(f"| RSS added by {m['count']:,} Activepieces projects in one tenant | {m['added_mb']:.1f} MB "
                     f"({m['bytes_per_project']:.0f} B each) | < 100 MB | "
                     f"{verdict(m['added_mb'] < TARGETS['memory_mb'])} |")
        for key, label in [("get", "get by id"), ("list_first", "list, first page (50)"),
                           ("list_middle", "list, a page in the middle (cursor)"),
                           ("by_external_id", "list by externalId")]:
            lines.append(f"| {label}: at {m['count']:,} / at 100 (test client) | {m['big'][key]:.2f} / "
                         f"{m['small'][key]:.2f} ms | O(1) / O(page) | "
                         f"{verdict(m['big'][key] < 3 * m['small'][key] + 0.5)} |")
        lines.append(f"| reset of that tenant: `store.reset` | {m['reset_ms']:.2f} ms | < 20 ms | "
                     f"{verdict(m['reset_ms'] < TARGETS['reset_ms'])} |")
        if m.get("freed_ms") is not None:
            lines.append(f"| ... its records freed by the background thread after | {m['freed_ms']:.0f} ms | | |")
        lines.append(f"| reset of that tenant: `POST /__mock/reset` (test client) | {m['api_reset_ms']:.2f} ms | "
                     f"< 20 ms | {verdict(m['api_reset_ms'] < TARGETS['reset_ms'])} |")
        lines.append(f"| RSS of a process with the app, before any project | {m['rss_before_mb']:.0f} MB | | |")
        if "bytes_per_tenant" in m:
            lines.append(f"| RSS per tenant holding one project (10,000 tenants) | {m['bytes_per_tenant']:.0f} B | | |")
    return "\n".join(lines) + "\n"


def write_section(name: str, text: str) -> None:
    start, end = MARK.format(name), f"<!-- end of {name} figures -->"
    old = RESULTS.read_text() if RESULTS.exists() else "# Benchmark results\n\n"
    block = f"{start}\n{text}{end}"
    titles = {"bench": "Latest `make bench`", "startup": "Start-up (`python bench/run.py --startup`)",
              "before-after": "Before and after the performance work (`python bench/run.py --before DIR`)"}
    if start in old and end in old:
        new = old[:old.index(start)] + block + old[old.index(end) + len(end):]
    else:
        new = old.rstrip("\n") + f"\n\n## {titles[name]}\n\n{block}\n"
    RESULTS.write_text(new)


# --- before / after -----------------------------------------------------------------------------

def compare(wrk_binary: str, args: argparse.Namespace) -> str:
    """The same figures for another checkout of the package (`--before DIR`, e.g. from `git archive`)
    and this one, in one run: the floor, before and after take turns on every scenario."""
    before_dir = Path(args.before).resolve()
    if not (before_dir / "mockserver" / "__init__.py").exists():
        sys.exit(f"bench: {before_dir} holds no mockserver package")
    env = {"PYTHONPATH": str(before_dir)}
    serve = ["-m", "mockserver", "serve", "--port", "0", "--threads", str(args.threads)]
    servers = [Server("floor", [sys.executable, str(BENCH / "floor_app.py"), "--threads", str(args.threads)]),
               Server("before", [sys.executable, *serve], env, cwd=before_dir),  # -m looks in the cwd first
               Server("after", [sys.executable, *serve])]
    try:
        found = run_load(wrk_binary, servers, args)
    finally:
        for server in servers:
            server.stop()
    os.environ["BENCH_PROJECTS"] = str(args.projects)
    other = {"start": startup_ms(env=env), "app": child("create-app", env), "memory": child("memory", env)}
    this = {"start": startup_ms(), "app": child("create-app"), "memory": child("memory")}
    lines = [f"Before: {before_dir.name}; after: commit {machine(None)['commit']}. Load as in `make bench` "
             f"(wrk -t{args.wrk_threads} -c{args.connections}, {args.warmup} s warm-up, {args.duration} s), the three "
             "servers taking turns.", "",
             "| figure | before | after | floor |", "|---|---:|---:|---:|"]
    for scenario in found:
        r = scenario.results
        lines.append(f"| {scenario.name}: req/s | {r['before'].rps:,.0f} | {r['after'].rps:,.0f} | "
                     f"{r['floor'].rps:,.0f} |")
        lines.append(f"| {scenario.name}: p99 ms | {r['before'].p99_ms:.1f} | {r['after'].p99_ms:.1f} | "
                     f"{r['floor'].p99_ms:.1f} |")
        lines.append(f"| {scenario.name}: server CPU µs/request | {r['before'].cpu_us:.0f} | {r['after'].cpu_us:.0f} | "
                     f"{r['floor'].cpu_us:.0f} |")
        lines.append(f"| {scenario.name}: server log lines | {r['before'].log_lines} | {r['after'].log_lines} | "
                     f"{r['floor'].log_lines} |")
        lines.append(f"| {scenario.name}: lines printed on stdout (dropped) | {r['before'].out_lines} "
                     f"({r['before'].out_dropped}) | {r['after'].out_lines} ({r['after'].out_dropped}) | "
                     f"{r['floor'].out_lines} |")
    rows = [
        ("start-up to first 201, ms", lambda d: d["start"][1], "{:.0f}"),
        ("start-up CPU, ms", lambda d: d["start"][2], "{:.0f}"),
        ("first `create_app()`, ms", lambda d: d["app"]["first_ms"], "{:.1f}"),
        ("later `create_app()`, ms", lambda d: d["app"]["again_ms"], "{:.2f}"),
        (f"RSS added by {args.projects:,} AP projects, MB", lambda d: d["memory"]["added_mb"], "{:.1f}"),
        ("list first page at that size, ms", lambda d: d["memory"]["big"]["list_first"], "{:.2f}"),
        ("get by id at that size, ms", lambda d: d["memory"]["big"]["get"], "{:.2f}"),
        ("reset of that tenant (store), ms", lambda d: d["memory"]["reset_ms"], "{:.1f}"),
        ("reset of that tenant (`POST /__mock/reset`), ms", lambda d: d["memory"]["api_reset_ms"], "{:.1f}"),
    ]
    for label, get, fmt in rows:
        lines.append(f"| {label} | {fmt.format(get(other))} | {fmt.format(get(this))} | |")
    return "\n".join(lines) + "\n"


# --- start-up only ----------------------------------------------------------------------------------

def startups(args: argparse.Namespace) -> str:
    """`--startup`: each start-up figure, of this tree and (`--before DIR`) another, the trees taking
    turns scenario by scenario, in `--rounds` rounds (the median of the rounds' medians)."""
    trees = {"this": None}
    if args.before:
        before_dir = Path(args.before).resolve()
        if not (before_dir / "mockserver" / "__init__.py").exists():
            sys.exit(f"bench: {before_dir} holds no mockserver package")
        trees = {"before": {"PYTHONPATH": str(before_dir)}, "this": None}
    folder = Path(tempfile.mkdtemp(prefix="mockserver-bench-"))
    spec = write_bench_spec(folder)
    with_spec = ["--spec", f"bench={spec}", "--base", f"bench={SPEC_BASE}"]
    found: dict[str, dict[str, list]] = {name: {} for name in trees}
    try:
        for _ in range(args.rounds):
            for name, env in trees.items():
                figures = {"start": startup_ms(env=env),
                           "spec": startup_ms(env=env, extra=with_spec, path=SPEC_BASE + "/v1/projects"),
                           **big_startups(folder, env)}
                for key, value in figures.items():
                    found[name].setdefault(key, []).append(value)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    info = machine(None)
    lines = [f"Run {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, commit {info['commit']}"
             + (f" against {Path(args.before).name}" if args.before else "")
             + f": {info['nproc']} cores ({info['cpu']}), load average at the end "
             f"{os.getloadavg()[0]:.1f}; {args.rounds} round(s), the trees taking turns; each figure the median of "
             "the rounds' medians (5 starts, 3 with the large document). CPU: the server process's user + system "
             "time until its first 201, steadier than wall time on a shared machine.", "",
             "| start-up | " + " | ".join(f"{name}: launch to first 201 | {name}: CPU" for name in trees) + " |",
             "|---|" + "---:|---:|" * len(trees)]
    labels = {"start": "the vendors (`mockserver serve`)", "spec": "the vendors and the bench's `--spec` document",
              "cold": "the vendors and a 600-operation `--spec` document, nothing cached",
              "warm": "the vendors and a 600-operation `--spec` document, cached"}
    for key, label in labels.items():
        cells = []
        for name in trees:
            runs = found[name][key]
            first, cpu = statistics.median(r[1] for r in runs), statistics.median(r[2] for r in runs)
            cells.append(f"{first:.0f} ms | {cpu:.0f} ms")
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


# --- main ------------------------------------------------------------------------------------------

def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=int, default=10, help="seconds of load per server and scenario")
    parser.add_argument("--warmup", type=int, default=2, help="seconds of warm-up before each measurement")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--wrk-threads", type=int, default=2)
    parser.add_argument("--threads", type=int, default=None,
                        help="the floor's waitress threads, and the mock's --threads (default: the mock's default)")
    parser.add_argument("--projects", type=int, default=100_000, help="projects stored for the memory figures")
    parser.add_argument("--skip-load", action="store_true", help="only start-up, create_app and memory")
    parser.add_argument("--before", metavar="DIR", help="compare with the package in DIR (a checkout) instead")
    parser.add_argument("--rounds", type=int, default=3,
                        help="measured rounds of the scenarios Prism takes part in (the others: one)")
    parser.add_argument("--only", metavar="TEXT", help="only the load scenarios whose name holds TEXT")
    parser.add_argument("--no-prism", action="store_true", help="leave Prism out")
    parser.add_argument("--no-write", action="store_true", help="print only; leave bench/results.md alone")
    parser.add_argument("--startup", action="store_true",
                        help="only the start-up figures (with --before DIR: of both trees, taking turns), "
                             "in their own section of results.md")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.child == "create-app":
        print(json.dumps(measure_create_app()))
        return 0
    if args.child == "memory":
        print(json.dumps(measure_memory(int(os.environ.get("BENCH_PROJECTS", "100000")))))
        return 0

    from mockserver.settings import Settings

    args.threads = args.threads or Settings().threads
    if args.startup:
        text = startups(args)
        print(text)
        if not args.no_write:
            write_section("startup", text)
        return 0
    wrk_binary = None if args.skip_load and not args.before else ensure_wrk()
    if args.before:
        text = compare(wrk_binary, args)
        print(text)
        if not args.no_write:
            write_section("before-after", text)
        return 0

    found, prism, spec_start = [], None, None
    folder = Path(tempfile.mkdtemp(prefix="mockserver-bench-"))
    spec = write_bench_spec(folder)
    with_spec = ["--spec", f"bench={spec}", "--base", f"bench={SPEC_BASE}"]
    if not args.skip_load:
        prism_binary = None if args.no_prism else ensure_prism()
        print("bench: load: 6 scenarios x (the floor, the mock" + (", Prism" if prism_binary else "") + ") ...",
              flush=True)
        servers = [Server("floor", [sys.executable, str(BENCH / "floor_app.py"), "--threads", str(args.threads)]),
                   Server("ours", [*mockserver_command(), "serve", "--port", "0", "--threads", str(args.threads),
                                   *with_spec])]
        try:
            if prism_binary:
                port = free_port()
                servers.append(Server("prism", [prism_binary, "mock", *PRISM_FLAGS, "--port", str(port),
                                                "--host", "127.0.0.1", str(spec)], cwd=folder, port=port))
                prism = {"ready_ms": servers[-1].ready_ms, "version": PRISM_VERSION}
            found = run_load(wrk_binary, servers, args, spec=True)
            for server in servers:
                if prism is not None:
                    prism[f"rss_{server.name}"] = server.rss_mb()
        finally:
            for server in servers:
                server.stop()
    print("bench: start-up, create_app, memory ...", flush=True)
    start = startup_ms()
    spec_start = startup_ms(extra=with_spec, path=SPEC_BASE + "/v1/projects")
    big = big_startups(folder)
    shutil.rmtree(folder, ignore_errors=True)
    app_times = child("create-app")
    os.environ["BENCH_PROJECTS"] = str(args.projects)
    memory = child("memory")
    text = report(args, found, start, app_times, memory, machine(wrk_binary), prism, spec_start, big)
    print()
    print(text)
    if not args.no_write:
        write_section("bench", text)
        print(f"bench: wrote {RESULTS.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
