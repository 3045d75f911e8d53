"""Seeded ids and the clock.

Every id is a pure function of (seed, vendor, credential, collection, sequence), so the same
requests within one tenant give the same ids whatever other tenants do. Times are integers of
microseconds since the Unix epoch; vendors format them.
"""

from __future__ import annotations

import hashlib
import time
import uuid
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
        text = f"{self.seed}\x00{vendor}\x00{credential}\x00{collection}\x00{seq}"
        return hashlib.sha256(text.encode("utf-8", "surrogatepass")).digest()

    def base62_id(self, vendor: str, credential: str, collection: str, seq: int, length: int = 21) -> str:
        number = int.from_bytes(self.digest(vendor, credential, collection, seq), "big")
        chars = []
        for _ in range(length):
            number, rest = divmod(number, 62)
            chars.append(_BASE62[rest])
        return "".join(chars)

    def uuid4(self, vendor: str, credential: str, collection: str, seq: int) -> str:
        return str(uuid.UUID(bytes=self.digest(vendor, credential, collection, seq)[:16], version=4))

    def now(self, seq: int) -> int:
        """The time, in microseconds, of a tenant's write number `seq`."""
        if self.clock == "real":
            return time.time_ns() // 1000
        return FIXED_EPOCH_US + seq * FIXED_STEP_US


def iso_millis(micros: int) -> str:
    """`2024-01-15T09:30:12.345Z` (JavaScript's toISOString)."""
    moment = datetime.fromtimestamp(micros // 1_000_000, tz=UTC)
    return f"{moment:%Y-%m-%dT%H:%M:%S}.{micros // 1000 % 1000:03d}Z"


def rfc3339_micros(micros: int) -> str:
    """`2026-03-19T16:33:51.123456Z` (RFC 3339, UTC, microseconds)."""
    moment = datetime.fromtimestamp(micros // 1_000_000, tz=UTC)
    return f"{moment:%Y-%m-%dT%H:%M:%S}.{micros % 1_000_000:06d}Z"
