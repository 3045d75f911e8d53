"""The faster ways of making ids and times give exactly what the plain ways give.

mockserver.determinism caches ids and times and formats them without building datetime or UUID
objects; these tests hold them to the straightforward formulas, over many inputs.
"""

from __future__ import annotations

import hashlib
import random
import uuid
from datetime import UTC, datetime

import pytest

from mockserver.determinism import Determinism, iso_millis, rfc3339_micros

BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def plain_digest(seed, vendor, credential, collection, seq) -> bytes:
    text = f"{seed}\x00{vendor}\x00{credential}\x00{collection}\x00{seq}"
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).digest()


def plain_base62(digest: bytes, length: int) -> str:
    number, chars = int.from_bytes(digest, "big"), []
    for _ in range(length):
        number, rest = divmod(number, 62)
        chars.append(BASE62[rest])
    return "".join(chars)


def plain_iso_millis(micros: int) -> str:
    moment = datetime.fromtimestamp(micros // 1_000_000, tz=UTC)
    return f"{moment:%Y-%m-%dT%H:%M:%S}.{micros // 1000 % 1000:03d}Z"


def plain_rfc3339(micros: int) -> str:
    moment = datetime.fromtimestamp(micros // 1_000_000, tz=UTC)
    return f"{moment:%Y-%m-%dT%H:%M:%S}.{micros % 1_000_000:06d}Z"


def moments():
    rng = random.Random(7)
    fixed = [0, 1, 999, 1000, 999_999, 1_000_000, -1, -1_000_001, 1_735_689_600_000_000, 951_782_400_000_000,
             4_107_542_399_999_999, 253_402_300_799_999_999, -62_135_596_800_000_000]
    return fixed + [rng.randrange(-62_135_596_800_000_000, 253_402_300_800_000_000) for _ in range(3000)]


def test_times_match_datetime_formatting():
    for micros in moments():
        assert iso_millis(micros) == plain_iso_millis(micros), micros
        assert rfc3339_micros(micros) == plain_rfc3339(micros), micros
        assert iso_millis(micros) == plain_iso_millis(micros), micros  # the cached answer too


@pytest.mark.parametrize("micros", [1.5, 1_735_689_600_000_000.0])
def test_a_float_time_is_not_answered_from_the_int_cache(micros):
    iso_millis(int(micros))
    with pytest.raises(ValueError):
        iso_millis(micros)  # as before: `:03d` refuses a float


def test_ids_match_the_plain_formulas():
    rng = random.Random(11)
    for _ in range(2000):
        seed = rng.choice([0, 1, 42, -3, 2**40])
        determinism = Determinism(seed, "fixed")
        vendor = rng.choice(["activepieces", "ampersand"])
        credential = rng.choice(["sk-a", "key-1", "k\udc80ey", "ключ", ""])
        collection = rng.choice(["project", "plan", "usage", "request"])
        seq = rng.randrange(0, 10**6)
        digest = plain_digest(seed, vendor, credential, collection, seq)
        assert determinism.digest(vendor, credential, collection, seq) == digest
        for length in (21, 8):
            assert determinism.base62_id(vendor, credential, collection, seq, length) == plain_base62(digest, length)
        assert determinism.uuid4(vendor, credential, collection, seq) == str(uuid.UUID(bytes=digest[:16], version=4))


def test_reseeding_changes_the_ids():
    determinism = Determinism(1, "fixed")
    before = determinism.base62_id("activepieces", "sk-a", "project", 1)
    determinism.reseed(2)
    assert determinism.base62_id("activepieces", "sk-a", "project", 1) != before
    assert determinism.base62_id("activepieces", "sk-a", "project", 1) == Determinism(2, "fixed").base62_id(
        "activepieces", "sk-a", "project", 1)


@pytest.mark.parametrize("micros", [253_402_300_800_000_000, -62_135_596_801_000_000, 10**25])
def test_times_outside_datetime_still_raise(micros):
    for fast, plain in ((iso_millis, plain_iso_millis), (rfc3339_micros, plain_rfc3339)):
        with pytest.raises((ValueError, OverflowError, OSError)) as expected:
            plain(micros)
        with pytest.raises(expected.type):
            fast(micros)


# --- the memory store packs records: what readers see is unchanged ------------------------------

def test_memory_store_hands_out_copies_of_packed_records():
    from mockserver.store import MemoryStore, Tenant

    store, tenant = MemoryStore(), Tenant("v", "k")
    built = store.insert(tenant, "c", lambda seq: {"id": "a", "seq": seq, "tags": ["x"], "n": None}, {"k": "1"})
    got = store.get(tenant, "c", "a")
    assert got == built == {"id": "a", "seq": 1, "tags": ["x"], "n": None}
    assert list(got) == ["id", "seq", "tags", "n"]  # key order is kept
    got["n"] = "changed"
    assert store.get(tenant, "c", "a")["n"] is None
    assert store.find(tenant, "c", "k", "1") == built


def test_memory_store_mixes_record_shapes_in_one_collection():
    from mockserver.store import MemoryStore, Tenant

    store, tenant = MemoryStore(), Tenant("v", "k")
    store.insert(tenant, "c", lambda seq: {"id": "a", "x": 1}, {"k": "1", "j": None})
    store.insert(tenant, "c", lambda seq: {"id": "b", "y": 2, "z": 3})
    store.update(tenant, "c", "b", lambda old, seq: {**old, "w": 4}, {"j": "2"})
    assert list(store.scan(tenant, "c")) == [{"id": "a", "x": 1}, {"id": "b", "y": 2, "z": 3, "w": 4}]
    rows = store.export()[0]["collections"]["c"]
    assert [row["unique"] for row in rows] == [{"k": "1"}, {"j": "2"}]
    copy = MemoryStore()
    copy.load(store.export())
    assert copy.export() == store.export()


def test_memory_store_layouts_stay_bounded_and_records_of_other_shapes_still_work(monkeypatch):
    import mockserver.store.memory as memory
    from mockserver.store import MemoryStore, Tenant

    monkeypatch.setattr(memory, "_MAX_LAYOUTS", len(memory._LAYOUTS) + 3)
    store, tenant = MemoryStore(), Tenant("v", "k")
    for i in range(10):
        store.insert(tenant, "c", lambda seq, i=i: {"id": f"r{i}", f"odd-field-{i}": i}, {f"odd-index-{i}": f"k{i}"})
    assert len(memory._LAYOUTS) == memory._MAX_LAYOUTS
    assert store.get(tenant, "c", "r9") == {"id": "r9", "odd-field-9": 9}
    store.update(tenant, "c", "r9", lambda old, seq: {**old, "more": 1})
    assert store.get(tenant, "c", "r9") == {"id": "r9", "odd-field-9": 9, "more": 1}
    assert store.find(tenant, "c", "odd-index-9", "k9")["more"] == 1
    assert store.export()[0]["collections"]["c"][9]["unique"] == {"odd-index-9": "k9"}
    assert store.delete(tenant, "c", "r9") and store.find(tenant, "c", "odd-index-9", "k9") is None


def test_stored_records_of_plain_values_are_left_alone_by_the_garbage_collector():
    import gc

    from mockserver.store import MemoryStore, Tenant

    store, tenant = MemoryStore(), Tenant("v", "k")
    store.insert(tenant, "c", lambda seq: {"id": "a", "seq": seq, "name": "n", "n": None, "at": 10**15})
    gc.collect()
    assert not gc.is_tracked(store._tenants[tenant].collections["c"].records["a"])


def test_json_out_takes_the_number_path_only_when_it_must_and_prints_the_same():
    """`jsontext.dumps` re-prints a value only when its text holds a number token Python prints
    otherwise than JavaScript; the same text as re-printing whenever anything looks like one."""
    import re

    from mockserver import jsontext

    anything = re.compile(r"\d\.0(?![0-9])|\d[eE][+-]?\d")  # the looser test it replaced

    def plain(value):
        text = jsontext._encode(value)
        return jsontext._encode(jsontext.js_numbers(value)) if anything.search(text) else text

    rng = random.Random(7)
    atoms = [7.0, -0.0, 0.0, 1e16, 1.5e20, 2.0**60, 1e21, 1e-7, 3.25, -12.0, 10**20, "a8e9", "7.0", ":1.0,", True, None]

    def value(depth=0):
        roll = rng.random()
        if depth > 3 or roll < 0.3:
            return rng.choice([*atoms, float(rng.randint(-10**6, 10**6)), rng.random() * 10 ** rng.randint(-10, 25),
                               str(uuid.UUID(int=rng.getrandbits(128)))])
        if roll < 0.6:
            return [value(depth + 1) for _ in range(rng.randint(0, 4))]
        return {str(rng.random())[:5]: value(depth + 1) for _ in range(rng.randint(0, 4))}

    for _ in range(20_000):
        item = value()
        assert jsontext.dumps(item) == plain(item), item
    assert jsontext.dumps({"id": "a9f06de5-4802-43f3-a8e9-e5f0354aad0e", "n": 7.0}) == \
        '{"id":"a9f06de5-4802-43f3-a8e9-e5f0354aad0e","n":7}'
