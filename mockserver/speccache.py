"""Loaded specs kept on disk between runs, keyed by content: a start reads the loaded spec back
instead of parsing, resolving and checking the document again (most of a start on a large one).

An entry's key is a hash of the document's bytes, how it was named (its path as given and resolved,
the API's name, the loader's options), the Python version and the package's code (its version, and
the size and time of each of its modules, so that a changed loader never reads an older entry). The
other files the document refers to are listed in the entry with the hash of their bytes, and checked
when it is read. Anything wrong with the cache (missing, unreadable, corrupt, written by someone
else, a read-only folder) only means the document is loaded as if there were none.

Where: `$MOCKSERVER_CACHE_DIR`, else `$XDG_CACHE_HOME/mockserver`, else `~/.cache/mockserver`;
`MOCKSERVER_CACHE_DIR=off` turns it off. Entries are written to a temporary file and renamed, so
processes starting at once each read a whole entry or none. The loader's warnings are kept with the
entry and logged again when it is read, so a start says the same thing either way."""

from __future__ import annotations

import functools
import gc
import hashlib
import logging
import os
import pickle
import sys
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

FORMAT = b"mockserver-spec-cache 1"
KEEP = 64  # entries kept; older ones are removed when a new one is written
_LOG = logging.getLogger("mockserver")


def folder() -> Path | None:
    """Where entries live; None when the cache is off."""
    chosen = os.environ.get("MOCKSERVER_CACHE_DIR")
    if chosen is not None:
        return None if chosen.strip().lower() in ("", "off", "0", "no", "false") else Path(chosen) / "specs"
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "mockserver" / "specs"


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@functools.cache
def _code() -> bytes:
    """The package's version and each of its modules' size and modification time."""
    import mockserver

    package = Path(mockserver.__file__).parent
    parts = [getattr(mockserver, "__version__", "?"), sys.version, sys.implementation.cache_tag or ""]
    for path in sorted(package.rglob("*.py")):
        try:
            stat = path.stat()
        except OSError:
            continue
        parts.append(f"{path.relative_to(package)}:{stat.st_size}:{stat.st_mtime_ns}")
    return "\n".join(parts).encode()


def cached(data: bytes, names: tuple[str, ...], build: Callable[[], tuple[Any, dict[str, str]]]) -> Any:
    """What `build()` returns for a document of these bytes named so, from the cache when an entry
    is there and every file it lists still has the bytes it had. `build` returns the value and the
    other files it read ({path: digest of their bytes}); a value is stored only when it pickles."""
    where = folder()
    if where is None:
        return build()[0]
    key = hashlib.sha256(b"\0".join([FORMAT, _code(), *(name.encode() for name in names), data])).hexdigest()
    entry = where / f"{key}.pickle"
    found = _read(entry, key)
    if found is not None:
        return found
    with _Recorder() as recorder:
        value, files = build()
    _write(where, entry, key, files, recorder.records, value)
    return value


def _read(entry: Path, key: str) -> Any:
    try:
        with open(entry, "rb") as file:
            stat = os.fstat(file.fileno())
            if hasattr(os, "getuid") and (stat.st_uid != os.getuid() or stat.st_mode & 0o022):
                return None  # only what this user wrote, and no one else may change, is unpickled
            head = pickle.load(file)
            if not isinstance(head, dict) or head.get("key") != key or not _unchanged(head.get("files")):
                return None
            collecting = gc.isenabled()
            gc.disable()  # a loaded spec is thousands of containers that make no garbage: no passes over them
            try:
                value = pickle.load(file)
            finally:
                if collecting:
                    gc.enable()
    except FileNotFoundError:
        return None
    except Exception:  # unreadable, truncated, corrupt, or of classes that changed: built again
        return None
    for name, level, message in head.get("warnings", ()):
        logging.getLogger(name).log(level, "%s", message)
    return value


def _unchanged(files: Any) -> bool:
    if not isinstance(files, dict):
        return False
    for path, expected in files.items():
        try:
            with open(path, "rb") as file:
                if digest(file.read()) != expected:
                    return False
        except OSError:
            return False
    return True


def _write(where: Path, entry: Path, key: str, files: dict[str, str], warnings: list, value: Any) -> None:
    try:
        head = pickle.dumps({"key": key, "files": files, "warnings": warnings}, pickle.HIGHEST_PROTOCOL)
        body = pickle.dumps(value, pickle.HIGHEST_PROTOCOL)
    except Exception:  # something in it does not pickle (or nests too deep): it is only not cached
        return
    try:
        where.mkdir(parents=True, exist_ok=True, mode=0o700)
        handle, temporary = tempfile.mkstemp(dir=where, prefix=".tmp-")
        try:
            with os.fdopen(handle, "wb") as file:
                file.write(head)
                file.write(body)
            os.replace(temporary, entry)  # atomic: a reader sees the old entry, the new one, or none
        except BaseException:
            os.unlink(temporary)
            raise
        _prune(where)
    except OSError:  # a read-only or full disk: the cache is only not written
        return


def _prune(where: Path) -> None:
    """Keep the newest KEEP entries, and no temporary file an interrupted writer left a day ago."""
    import time

    try:
        found = [(path.stat().st_mtime, path) for path in where.iterdir()]
    except OSError:
        return
    entries = sorted(((mtime, path) for mtime, path in found if path.suffix == ".pickle"), reverse=True)
    stale = [path for _, path in entries[KEEP:]]
    stale += [path for mtime, path in found if path.name.startswith(".tmp-") and mtime < time.time() - 86400]
    for path in stale:
        try:
            path.unlink()
        except OSError:
            pass


class _Recorder(logging.Handler):
    """The package's log records of this thread while a document is loaded, to be kept with it."""

    def __init__(self) -> None:
        super().__init__(logging.NOTSET)
        self.thread = threading.get_ident()
        self.records: list[tuple[str, int, str]] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.thread == self.thread:
            self.records.append((record.name, record.levelno, record.getMessage()))

    def __enter__(self) -> _Recorder:
        _LOG.addHandler(self)
        return self

    def __exit__(self, *exc: Any) -> None:
        _LOG.removeHandler(self)
