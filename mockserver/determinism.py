"""Seeded ids and the clock.

Every id is a pure function of (seed, vendor, credential, collection, sequence), so the same
requests within one tenant give the same ids whatever other tenants do. Times are integers of
microseconds since the Unix epoch; vendors format them.
"""

from __future__ import annotations

import functools
import hashlib
import time
from datetime import UTC, datetime

# The fixed clock starts here and moves one step per write of a tenant.
FIXED_EPOCH_US = int(datetime(2025, 1, 1, tzinfo=UTC).timestamp() * 1_000_000)
FIXED_STEP_US = 1_000_000

_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


class Determinism:
    """The single source of ids and time of one server; `reseed` is how the admin API changes it."""

    def __init__(self, seed: int, clock: str) -> None:
        self.seed = seed
        self.clock = clock

    def reseed(self, seed: int) -> None:
        self.seed = seed

    def digest(self, vendor: str, credential: str, collection: str, seq: int) -> bytes:
        return _digest(self.seed, vendor, credential, collection, seq)

    def base62_id(self, vendor: str, credential: str, collection: str, seq: int, length: int = 21) -> str:
        return _base62_id(self.seed, vendor, credential, collection, seq, length)

    def uuid4(self, vendor: str, credential: str, collection: str, seq: int) -> str:
        return _uuid4(self.seed, vendor, credential, collection, seq)

    def now(self, seq: int) -> int:
        """The time, in microseconds, of a tenant's write number `seq`."""
        if self.clock == "real":
            return time.time_ns() // 1000
        return FIXED_EPOCH_US + seq * FIXED_STEP_US


# Ids and times are pure functions, asked for again at every render (a project's plan id, its owner,
# `created` in three places): a bounded cache answers the repeats. typed=True: 1 and 1.0 stay apart.
_cached = functools.lru_cache(maxsize=8192, typed=True)


def _digest(seed: int, vendor: str, credential: str, collection: str, seq: int) -> bytes:
    text = f"{seed}\x00{vendor}\x00{credential}\x00{collection}\x00{seq}"
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).digest()


@_cached
def _base62_id(seed: int, vendor: str, credential: str, collection: str, seq: int, length: int) -> str:
    number = int.from_bytes(_digest(seed, vendor, credential, collection, seq), "big")
    chars = []
    for _ in range(length):
        number, rest = divmod(number, 62)
        chars.append(_BASE62[rest])
    return "".join(chars)


@_cached
def _uuid4(seed: int, vendor: str, credential: str, collection: str, seq: int) -> str:
    # What str(uuid.UUID(bytes=..., version=4)) gives, without building the UUID: set the version
    # nibble to 4 and the variant bits to 10.
    raw = bytearray(_digest(seed, vendor, credential, collection, seq)[:16])
    raw[6] = raw[6] & 0x0F | 0x40
    raw[8] = raw[8] & 0x3F | 0x80
    text = raw.hex()
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"


def _utc_seconds(seconds: int) -> str:
    """`2024-01-15T09:30:12`. time.strftime on gmtime is what formatting a UTC datetime does, without
    building the datetime; outside datetime's years (1-9999) the datetime way raises, as it always did."""
    if -62_135_596_800 <= seconds < 253_402_300_800:
        return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds))
    return f"{datetime.fromtimestamp(seconds, tz=UTC):%Y-%m-%dT%H:%M:%S}"


@_cached
def iso_millis(micros: int) -> str:
    """`2024-01-15T09:30:12.345Z` (JavaScript's toISOString)."""
    return f"{_utc_seconds(micros // 1_000_000)}.{micros // 1000 % 1000:03d}Z"


@_cached
def rfc3339_micros(micros: int) -> str:
    """`2026-03-19T16:33:51.123456Z` (RFC 3339, UTC, microseconds)."""
    return f"{_utc_seconds(micros // 1_000_000)}.{micros % 1_000_000:06d}Z"


@_cached
def rfc3339_nano(micros: int) -> str:
    """`2023-11-07T05:31:56Z`, `2026-03-19T16:33:51.12Z` (Go's time.RFC3339Nano in UTC: the fraction's
    trailing zeros trimmed, no fraction when it is zero)."""
    fraction = f"{micros % 1_000_000:06d}".rstrip("0")
    return f"{_utc_seconds(micros // 1_000_000)}{'.' + fraction if fraction else ''}Z"
