"""Every knob of the server in one frozen dataclass; the CLI and the pytest plugin both build one."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import field
from pathlib import Path

from mockserver.records import dataclass

CLOCKS = ("fixed", "real")
CONTROL_PREFIX = "/__mock"  # the control API and the page; never a vendor's path
ADMIN_SPEC = "admin.yaml"  # the control API's own document, among the bundled specs (not a vendor)


@dataclass(frozen=True)
class Settings:
    host: str = "127.0.0.1"
    port: int = 4010
    seed: int = 0
    clock: str = "fixed"  # "fixed": epoch + one step per write, per tenant; "real": wall time
    threads: int = 8
    max_delays: int = 16  # delayed requests held at once (each on a worker thread beyond `threads`)
    db: Path | None = None  # None keeps the store in memory
    max_body_bytes: int = 1024 * 1024
    validate_responses: bool = True  # a response that breaks the spec is a 500 naming the field
    vendors: tuple[str, ...] = ()  # empty: every vendor found in mockserver.vendors
    journal_size: int = 1000
    journal_bytes: int = 64 * 1024 * 1024  # what the journal's entries may take, bodies included
    api_keys: tuple[tuple[str, str], ...] = ()  # (vendor, key): when any is set for a vendor, only those
    admin_token: str | None = None
    cors: bool = True  # browser apps on any origin may call the vendors (preflights answered, answers readable)
    allow_hosts: tuple[str, ...] = ()  # Host names accepted besides loopback ones, while bound to loopback
    fixtures: tuple[Path, ...] = field(default_factory=tuple)
    specs: tuple[tuple[str, Path], ...] = ()  # (name, OpenAPI document): mounted beside the vendors, no code
    bases: tuple[tuple[str, str], ...] = ()  # (API name, base path): where to serve it instead of its spec's
    # (vendor, profile): serve that vendor as the profile says (`latest`, `2024`); a dict works too.
    # A vendor not named is served as its default profile, the seeds' era.
    profiles: tuple[tuple[str, str], ...] = ()
    strict_spec: bool = False  # a `specs` schema the metaschema refuses stops start-up (else repaired, warned)

    @property
    def exposed(self) -> bool:
        """Whether `host` binds every interface: anyone who can reach the machine can use the mock."""
        return self.host in ("0.0.0.0", "::", "")

    def __post_init__(self) -> None:
        if isinstance(self.profiles, Mapping):  # `Settings(profiles={"vendor": "latest"})`
            object.__setattr__(self, "profiles", tuple(self.profiles.items()))
        else:
            object.__setattr__(self, "profiles", tuple(tuple(pair) for pair in self.profiles))
        for pair in self.profiles:
            if len(pair) != 2 or not all(isinstance(part, str) and part for part in pair):
                raise ValueError(f"a profile is VENDOR=PROFILE, VENDOR=latest for one, not {pair!r}")
        named = [vendor for vendor, _ in self.profiles]
        if len(set(named)) != len(named):
            raise ValueError(f"one profile per vendor: {', '.join(sorted({v for v in named if named.count(v) > 1}))} "
                             "named twice")
        if self.clock not in CLOCKS:
            raise ValueError(f"clock must be one of {', '.join(CLOCKS)}, not {self.clock!r}")
        if not 0 <= self.port <= 65535:
            raise ValueError(f"port must be between 0 and 65535, not {self.port}")
        if self.threads < 1:
            raise ValueError(f"threads must be at least 1, not {self.threads}")
        if self.max_delays < 0:
            raise ValueError(f"max_delays must not be negative, not {self.max_delays}")
        if self.max_body_bytes < 1:
            raise ValueError("max_body_bytes must be positive")
        for name, base in self.bases:
            if not base.startswith("/") or "{" in base or "?" in base or "#" in base:
                raise ValueError(f"--base {name}={base}: give a path such as /petstore")
        for name, _ in self.specs:
            if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]*", name) or name == "admin":
                raise ValueError(f"--spec {name}=...: an API name is letters, digits, '.', '_' or '-', "
                                 "and not 'admin'")
        if self.journal_size < 0:
            raise ValueError("journal_size must not be negative")
        if self.journal_bytes < 0:
            raise ValueError("journal_bytes must not be negative")


def spec_option(item: str) -> tuple[str, Path]:
    """`--spec [NAME=]PATH` as (name, path); the name defaults to the file's stem, without a suffix
    that only says it is a spec (`petstore-openapi.yaml` -> `petstore`)."""
    name, sep, path = item.partition("=")
    if not sep or "/" in name or "\\" in name or not name:
        return default_name(Path(item)), Path(item)
    return name, Path(path)


def default_name(path: Path) -> str:
    stem = path.stem
    short = re.sub(r"(?i)[-_.](openapi|swagger|spec|api)([-_.]?v?\d+(\.\d+)*)?$", "", stem)
    name = short if short else stem
    return re.sub(r"[^A-Za-z0-9_.-]", "-", name).lstrip("-_.") or "api"
