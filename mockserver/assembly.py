"""What one mock is, before any HTTP: each mounted API (its spec and its handlers), the keys it
accepts, and the runtime they share (store, journal, faults, determinism). No Flask here: the server
answers spec requests from this alone, and builds the Flask app (`app.py`) when a request needs it."""

from __future__ import annotations

import dataclasses
import gc
import logging

from mockserver.determinism import Determinism
from mockserver.engine import build_vendor
from mockserver.exchange import Mount
from mockserver.faults import Faults
from mockserver.journal import Journal, secret_names
from mockserver.runtime import Runtime
from mockserver.settings import ADMIN_SPEC, Settings
from mockserver.spec import SpecError, load_spec, specs_dir
from mockserver.state import load_fixtures
from mockserver.store import open_store
from mockserver.vendors import SEED, discover, load_profile, profile_of
from mockserver.vendors.base import Vendor


def build_runtime(settings: Settings, vendors: dict[str, Vendor] | None = None) -> Runtime:
    """The mounted APIs and their runtime, fixtures loaded: all a spec request needs."""
    # Loading the specs allocates objects that live as long as the app and make no garbage: a
    # collection in between only walks them (~13 ms of a first create_app). Paused, then as it was.
    collecting = gc.isenabled()
    gc.disable()
    try:
        mounts = _mounts(settings, vendors if vendors is not None else discover(), bundled=vendors is None)
        allowed = _allowed_keys(settings, mounts)
        journal = Journal(settings.journal_size, secret_names(m.spec for m in mounts.values()),
                          settings.journal_bytes, [settings.admin_token or ""])
        runtime = Runtime(settings, open_store(settings.db), Determinism(settings.seed, settings.clock), mounts,
                          allowed, journal=journal, faults=Faults(settings.max_delays))
        runtime.observers.append(runtime.journal.record)
        runtime.interceptors.append(runtime.faults.intercept)
        for path in settings.fixtures:
            load_fixtures(runtime, path)
        return runtime
    finally:
        if collecting:
            gc.enable()


def _mounts(settings: Settings, vendors: dict[str, Vendor], bundled: bool = True) -> dict[str, Mount]:
    """Each vendor (all, or those the settings name) with its spec; every operation needs a handler.
    A bundled spec with no vendor module is a vendor too, served by the engine: a new vendor can be a
    YAML file and nothing else."""
    if bundled:
        modules = {vendor.spec_file for vendor in vendors.values()}
        vendors = dict(vendors)
        documents = [path for path in sorted(specs_dir().glob("*.yaml"))
                     if path.name not in modules and path.name != ADMIN_SPEC]
        stems = set(vendors) | {path.stem for path in documents}
        for path in documents:  # `<vendor>-<profile>.yaml` is a version of a vendor, not one more API
            if path.stem not in vendors and profile_of(path.stem, stems) is None:
                spec = load_spec(path, path.stem)
                vendors[path.stem] = dataclasses.replace(build_vendor(spec), profile=SEED)
    for name, profile in settings.profiles:
        if name not in vendors:
            raise SpecError(f"--profile {name}={profile}: no vendor {name!r} (vendors: {', '.join(vendors)})")
        vendors[name] = load_profile(vendors[name], profile)
    if settings.vendors:
        unknown = set(settings.vendors) - set(vendors)
        if unknown:
            raise SpecError(f"unknown vendor(s): {', '.join(sorted(unknown))}; known: {', '.join(vendors)}")
        vendors = {name: vendors[name] for name in settings.vendors}
    mounts = {}
    for name, vendor in vendors.items():
        spec = load_spec(specs_dir() / vendor.spec_file, name)
        missing = set(spec.operations) - set(vendor.handlers)
        extra = set(vendor.handlers) - set(spec.operations)
        if missing or extra:
            raise SpecError(f"{name}: handlers and spec disagree: missing {sorted(missing)}, extra {sorted(extra)}")
        mounts[name] = Mount(vendor, spec)
    for name, path in settings.specs:  # documents mounted with no code
        if name in mounts:
            raise SpecError(f"--spec {name}={path}: an API named {name!r} is already mounted; name it NAME=PATH")
        spec = load_spec(path, name, strict=settings.strict_spec)
        if not spec.operations:  # a fault no lenient load repairs: there is nothing to serve
            raise SpecError(f"{path}: no operation under `paths`: nothing to serve")
        mounts[name] = Mount(build_vendor(spec), spec)
    for name, base in settings.bases:
        if name not in mounts:
            raise SpecError(f"--base {name}={base}: no API named {name!r} (mounted: {', '.join(mounts)})")
        target = mounts[name]
        mounts[name] = Mount(target.vendor, dataclasses.replace(target.spec, server_path=base.rstrip("/")))
    # A bundled vendor nobody asked for (no vendor list, --profile or --base names it) gives way to a
    # --spec document whose routes it would shadow: mocking PagerDuty (served at `/`) needs no flag.
    named = {name for name, _ in (*settings.profiles, *settings.bases)}
    unasked = frozenset(vendors) - named if settings.specs and not settings.vendors else frozenset()
    return _without_overlaps(mounts, unasked)


def _without_overlaps(mounts: dict[str, Mount], unasked: frozenset[str]) -> dict[str, Mount]:
    """Two APIs whose routes could match one URL would shadow each other: refuse, naming both; or,
    where one is an `unasked` bundled vendor, leave that one out, saying so on stderr."""
    routes = [(name, mount.spec.server_path + path, _shape(mount.spec.server_path + path))
              for name, mount in mounts.items() for path in mount.spec.paths]
    left_out: set[str] = set()
    for at, (name, path, shape) in enumerate(routes):
        for other, other_path, other_shape in routes[at + 1:]:
            if other == name or name in left_out or other in left_out or len(shape) != len(other_shape) or not all(
                    a == b or a is None or b is None for a, b in zip(shape, other_shape, strict=True)):
                continue
            if (name in unasked) == (other in unasked):
                raise SpecError(f"APIs {name!r} and {other!r} overlap: {path} and {other_path} match the same "
                                "URLs; move one with --base NAME=/path")
            gone, kept = (name, other) if name in unasked else (other, name)
            left_out.add(gone)
            logging.getLogger("mockserver").warning(
                "%s is not mounted: its routes overlap %s's (%s and %s); --base %s=/PATH mounts it elsewhere",
                gone, kept, path, other_path, gone)
    return {name: mount for name, mount in mounts.items() if name not in left_out}


def _shape(path: str) -> tuple[str | None, ...]:
    """A route's segments, None for a template (it matches any segment)."""
    return tuple(None if part.startswith("{") else part for part in path.strip("/").split("/"))


def _allowed_keys(settings: Settings, mounts: dict[str, Mount]) -> dict[str, frozenset[str]]:
    """`--api-key VENDOR=KEY`: the only keys a vendor accepts, when any is given for it."""
    allowed: dict[str, set[str]] = {}
    for vendor_name, key in settings.api_keys:
        if vendor_name not in mounts:
            raise SpecError(f"--api-key names unknown API {vendor_name!r} (mounted: {', '.join(mounts)})")
        target = mounts[vendor_name]
        schemes = {name: scheme for op in target.spec.operations.values() for name, scheme in op.security}
        if schemes and not any(target.vendor.accept_credential(name, scheme, key) for name, scheme in schemes.items()):
            # Else every request would be a 401 with no hint why.
            raise SpecError(f"--api-key {vendor_name}=...: {vendor_name} refuses a key of that form in any "
                            "request; check it against the vendor's key format")
        allowed.setdefault(vendor_name, set()).add(key)
    return {name: frozenset(keys) for name, keys in allowed.items()}
