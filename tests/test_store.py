"""One suite for both stores (memory and SQLite): the semantics the vendors rely on, plus what only
the SQLite store has (a file that survives reopening, and refusing files that are not its own)."""

from __future__ import annotations

import sqlite3
import threading
import time

import pytest

from mockserver.errors import Conflict
from mockserver.store import MemoryStore, StoreError, Tenant
from mockserver.store.sqlite import SQLiteStore

A = Tenant("alpha", "key-a")
B = Tenant("alpha", "key-b")
C = Tenant("beta", "key-a")
P = "projects"


@pytest.fixture(params=["memory", "sqlite"])
def store(request, tmp_path):
    made = MemoryStore() if request.param == "memory" else SQLiteStore(tmp_path / "store.db")
    yield made
    made.close()


def make(name: str = "x", **extra):
    """A `build` callback: the record carries its seq, like the vendors' records."""
    return lambda seq: {"id": f"{name}-{seq}", "seq": seq, "name": name, **extra}


def rename(name: str):
    return lambda old, seq: dict(old, name=name, updated=seq)


def seqs(page) -> list[int]:
    return [seq for seq, _ in page.items]


# --- insert, get, find ---------------------------------------------------------------------------

def test_insert_takes_the_next_seq_and_get_returns_the_record(store):
    first = store.insert(A, P, make("one"))
    second = store.insert(A, P, make("two"))
    assert (first["seq"], second["seq"]) == (1, 2)
    assert store.get(A, P, "one-1") == {"id": "one-1", "seq": 1, "name": "one"}
    assert store.get(A, P, "two-2") == second
    assert store.sequence(A) == 2
    assert store.count(A, P) == 2


def test_records_are_partitioned_by_tenant_and_collection(store):
    store.insert(A, P, make("mine"), {"name": "k"})
    assert store.get(B, P, "mine-1") is None
    assert store.get(C, P, "mine-1") is None
    assert store.get(A, "other", "mine-1") is None
    assert store.find(B, P, "name", "k") is None
    assert store.sequence(B) == 0 and store.count(B, P) == 0
    # another tenant's same key and its own sequence
    assert store.insert(B, P, make("theirs"), {"name": "k"})["seq"] == 1


def test_unknown_tenant_reads_are_empty_and_create_nothing(store):
    assert store.get(A, P, "nope") is None
    assert store.find(A, P, "name", "k") is None
    assert store.page(A, P, 10).items == []
    assert list(store.scan(A, P)) == []
    assert store.count(A, P) == 0
    assert store.sequence(A) == 0
    assert store.update(A, P, "nope", rename("y")) is None
    assert store.delete(A, P, "nope") is False
    assert store.tenants() == [] and store.export() == []


def test_find_by_unique_key_and_none_keys_are_not_indexed(store):
    store.insert(A, P, make("a"), {"ext": "e1", "name": None})
    store.insert(A, P, make("b"), {"ext": None, "name": None})
    store.insert(A, P, make("c"), {"ext": None})  # two None keys never clash
    assert store.find(A, P, "ext", "e1")["id"] == "a-1"
    assert store.find(A, P, "ext", "e2") is None
    assert store.find(A, P, "name", "e1") is None
    assert store.count(A, P) == 3


def test_odd_strings_round_trip(store):
    odd = Tenant("alpha", "ключ \ud800 \x00 end")  # lone surrogate, NUL, non-ASCII
    record = store.insert(odd, P, lambda seq: {"id": "\udfff-\u00e9", "seq": seq, "text": "\ud83d"},
                          {"ext": "\ud800é\x00"})
    assert store.get(odd, P, "\udfff-\u00e9") == record
    assert store.find(odd, P, "ext", "\ud800é\x00") == record
    assert store.tenants() == [odd]
    with pytest.raises(Conflict):
        store.insert(odd, P, make(), {"ext": "\ud800é\x00"})


# --- unique keys ---------------------------------------------------------------------------------

def test_insert_of_a_taken_key_conflicts_and_spends_no_seq(store):
    store.insert(A, P, make("a"), {"ext": "e1"})
    with pytest.raises(Conflict) as caught:
        store.insert(A, P, make("b"), {"other": "free", "ext": "e1"})
    assert (caught.value.index, caught.value.value) == ("ext", "e1")
    assert store.sequence(A) == 1 and store.count(A, P) == 1
    assert store.find(A, P, "other", "free") is None  # nothing of the failed insert stays
    assert store.insert(A, P, make("c"), {"other": "free"})["seq"] == 2


def test_update_changes_the_record_and_its_keys(store):
    store.insert(A, P, make("a"), {"ext": "e1", "name": "n1"})
    seen = {}

    def change(old, seq):
        seen.update(old=old, seq=seq)
        return dict(old, name="renamed")

    updated = store.update(A, P, "a-1", change, {"ext": "e2"})
    assert seen == {"old": {"id": "a-1", "seq": 1, "name": "a"}, "seq": 2}
    assert updated == {"id": "a-1", "seq": 1, "name": "renamed"}
    assert store.get(A, P, "a-1") == updated
    assert store.find(A, P, "ext", "e2") == updated
    assert store.find(A, P, "ext", "e1") is None  # the old key is free
    assert store.find(A, P, "name", "n1") == updated  # an index not named keeps its key
    assert store.insert(A, P, make("b"), {"ext": "e1"})["seq"] == 3


def test_update_keeping_its_own_key_is_no_conflict(store):
    store.insert(A, P, make("a"), {"ext": "e1"})
    assert store.update(A, P, "a-1", rename("same"), {"ext": "e1"})["name"] == "same"
    assert store.find(A, P, "ext", "e1")["name"] == "same"


def test_update_to_a_taken_key_conflicts_and_changes_nothing(store):
    store.insert(A, P, make("a"), {"ext": "e1"})
    store.insert(A, P, make("b"), {"ext": "e2"})
    with pytest.raises(Conflict) as caught:
        store.update(A, P, "b-2", rename("clash"), {"ext": "e1"})
    assert (caught.value.index, caught.value.value) == ("ext", "e1")
    assert store.get(A, P, "b-2")["name"] == "b"
    assert store.find(A, P, "ext", "e2")["id"] == "b-2"  # b keeps its key
    assert store.find(A, P, "ext", "e1")["id"] == "a-1"
    assert store.sequence(A) == 2


def test_update_with_a_none_key_drops_it(store):
    store.insert(A, P, make("a"), {"ext": "e1"})
    store.update(A, P, "a-1", rename("a"), {"ext": None})
    assert store.find(A, P, "ext", "e1") is None
    store.insert(A, P, make("b"), {"ext": "e1"})


def test_update_of_a_missing_record_is_none_and_spends_no_seq(store):
    store.insert(A, P, make("a"))
    assert store.update(A, P, "gone", rename("y")) is None
    assert store.sequence(A) == 1


def test_a_deleted_records_key_is_free_again(store):
    store.insert(A, P, make("a"), {"ext": "e1"})
    assert store.delete(A, P, "a-1") is True
    assert store.find(A, P, "ext", "e1") is None
    assert store.insert(A, P, make("b"), {"ext": "e1"})["id"] == "b-3"


# --- delete and the sequence ---------------------------------------------------------------------

def test_delete_spends_a_seq_and_seqs_are_never_reused(store):
    for _ in range(3):
        store.insert(A, P, make())
    assert store.delete(A, P, "x-3") is True
    assert store.delete(A, P, "x-3") is False  # the second time: gone
    assert store.get(A, P, "x-3") is None
    assert store.update(A, P, "x-3", rename("back")) is None
    assert store.sequence(A) == 4
    assert store.insert(A, P, make())["seq"] == 5
    assert [r["id"] for r in store.scan(A, P)] == ["x-1", "x-2", "x-5"]
    assert store.count(A, P) == 3


def test_the_sequence_is_per_tenant_and_shared_by_its_collections(store):
    store.insert(A, P, make())
    store.insert(A, "other", make())
    store.insert(B, P, make())
    assert store.sequence(A) == 2 and store.sequence(B) == 1
    store.update(A, P, "x-1", rename("y"))
    assert store.sequence(A) == 3


def test_scan_is_in_order_and_a_snapshot(store):
    for _ in range(5):
        store.insert(A, P, make())
    scanned = store.scan(A, P)
    store.insert(A, P, make())
    store.delete(A, P, "x-1")
    assert [r["seq"] for r in scanned] == [1, 2, 3, 4, 5]


# --- paging --------------------------------------------------------------------------------------

def test_paging_forward_and_backward(store):
    for _ in range(7):
        store.insert(A, P, make())
    store.delete(A, P, "x-4")  # live seqs: 1 2 3 5 6 7
    first = store.page(A, P, 2)
    assert (seqs(first), first.more_before, first.more_after) == ([1, 2], False, True)
    second = store.page(A, P, 2, after=2)
    assert (seqs(second), second.more_before, second.more_after) == ([3, 5], True, True)
    last = store.page(A, P, 2, after=5)
    assert (seqs(last), last.more_before, last.more_after) == ([6, 7], True, False)
    back = store.page(A, P, 2, before=6)
    assert (seqs(back), back.more_before, back.more_after) == ([3, 5], True, True)
    start = store.page(A, P, 2, before=3)
    assert (seqs(start), start.more_before, start.more_after) == ([1, 2], False, True)
    assert [r["seq"] for _, r in store.page(A, P, 10).items] == [1, 2, 3, 5, 6, 7]
    whole = store.page(A, P, 6)
    assert (whole.more_before, whole.more_after) == (False, False)


def test_paging_edges(store):
    for _ in range(3):
        store.insert(A, P, make())
    past = store.page(A, P, 5, after=3)
    assert (seqs(past), past.more_before, past.more_after) == ([], True, False)
    before_all = store.page(A, P, 5, before=1)
    assert (seqs(before_all), before_all.more_before, before_all.more_after) == ([], False, True)
    huge = 10**30  # a cursor can name any number
    beyond = store.page(A, P, 5, after=huge)
    assert (seqs(beyond), beyond.more_before, beyond.more_after) == ([], True, False)
    tail = store.page(A, P, 2, before=huge)
    assert (seqs(tail), tail.more_before, tail.more_after) == ([2, 3], True, False)
    none = store.page(A, P, 0, after=1)
    assert (seqs(none), none.more_before, none.more_after) == ([], True, True)


def test_paging_while_another_thread_inserts_has_no_duplicates_or_gaps(store):
    for _ in range(20):
        store.insert(A, P, make())
    done = threading.Event()

    def writer():
        for _ in range(150):
            store.insert(A, P, make())
        done.set()

    thread = threading.Thread(target=writer)
    thread.start()
    seen: list[int] = []
    after = None
    deadline = time.monotonic() + 30  # bounded in time, not in pages: a slow writer is no failure
    while time.monotonic() < deadline:
        page = store.page(A, P, 3, after=after)
        seen += seqs(page)
        if page.items:
            after = page.items[-1][0]
        elif done.is_set():
            if not store.page(A, P, 3, after=after).items:
                break
        else:
            time.sleep(0.001)  # caught up with the writer: let it run
    thread.join(timeout=30)
    assert seen == list(range(1, 171))


# --- reset ---------------------------------------------------------------------------------------

def fill(store):
    for tenant in (A, B, C):
        store.insert(tenant, P, make(), {"ext": "e"})


def test_reset_one_tenant_restarts_its_sequence_and_leaves_others(store):
    fill(store)
    before = store.export()
    store.reset(tenant=A)
    assert store.get(A, P, "x-1") is None and store.sequence(A) == 0
    assert store.tenants() == [B, C]
    assert store.insert(A, P, make(), {"ext": "e"})["seq"] == 1  # its keys are free too
    assert [t for t in store.export() if t["credential"] != "key-a" or t["vendor"] != "alpha"] == before[1:]


def test_reset_one_vendor(store):
    fill(store)
    store.reset(vendor="alpha")
    assert store.tenants() == [C]
    assert store.get(C, P, "x-1") is not None
    assert store.get(B, P, "x-1") is None


def test_reset_everything(store):
    fill(store)
    store.reset()
    assert store.tenants() == [] and store.export() == []
    assert store.insert(A, P, make(), {"ext": "e"})["seq"] == 1


# --- export and load -----------------------------------------------------------------------------

def populate(store):
    fill(store)
    store.insert(A, P, make("two"), {"ext": "f", "name": None})
    store.insert(A, "other", make("o"))
    store.update(A, P, "two-2", rename("changed"), {"name": "n"})
    store.delete(A, P, "x-1")


def test_export_shape(store):
    populate(store)
    exported = {(t["vendor"], t["credential"]): t for t in store.export()}
    assert list(exported) == [("alpha", "key-a"), ("alpha", "key-b"), ("beta", "key-a")]
    mine = exported[("alpha", "key-a")]
    assert mine["seq"] == 5
    assert mine["collections"][P] == [{"seq": 2, "record": {"id": "two-2", "seq": 2, "name": "changed",
                                                            "updated": 4},
                                       "unique": {"ext": "f", "name": "n"}}]
    assert mine["collections"]["other"] == [{"seq": 3, "record": {"id": "o-3", "seq": 3, "name": "o"},
                                             "unique": {}}]


@pytest.mark.parametrize("target", ["memory", "sqlite"])
def test_export_load_round_trip_across_stores(store, target, tmp_path):
    populate(store)
    exported = store.export()
    other = MemoryStore() if target == "memory" else SQLiteStore(tmp_path / "other.db")
    try:
        other.insert(A, P, make("stale"))  # replaced whole
        other.insert(Tenant("gamma", "k"), P, make("kept"))  # not in the data: untouched
        other.load(exported)
        assert [t for t in other.export() if t["vendor"] != "gamma"] == exported
        assert other.get(Tenant("gamma", "k"), P, "kept-1") is not None
        assert other.get(A, P, "stale-1") is None
        assert other.insert(A, P, make())["seq"] == 6  # the sequence continues
        with pytest.raises(Conflict):
            other.insert(A, P, make(), {"ext": "f"})  # keys came along
    finally:
        other.close()


def test_load_takes_the_highest_seq(store):
    store.load([{"vendor": "alpha", "credential": "key-a", "seq": 1,
                 "collections": {P: [{"seq": 9, "record": {"id": "r", "seq": 9}, "unique": {}}]}}])
    assert store.sequence(A) == 9
    assert store.insert(A, P, make())["seq"] == 10


@pytest.mark.parametrize("bad", [
    {"vendor": "zeta", "credential": "k"},  # no seq
    {"vendor": "zeta", "credential": "k", "seq": 1,
     "collections": {P: [{"seq": 1, "record": {"id": "a"}, "unique": {"ext": "same"}},
                         {"seq": 2, "record": {"id": "b"}, "unique": {"ext": "same"}}]}},  # a key twice
    {"vendor": "zeta", "credential": "k", "seq": 2,
     "collections": {P: [{"seq": 1, "record": {"id": "a"}}, {"seq": 2, "record": {"id": "a"}}]}},  # an id twice
    {"vendor": "zeta", "credential": "k", "seq": 2,
     "collections": {P: [{"seq": 2, "record": {"id": "a"}}, {"seq": 2, "record": {"id": "b"}}]}},  # a seq twice
    {"vendor": "zeta", "credential": "k", "seq": 1, "collections": {P: [{"seq": 1, "record": {}}]}},  # no id
], ids=["no-seq", "duplicate-key", "duplicate-id", "duplicate-seq", "no-id"])
def test_load_is_all_or_nothing(store, bad):
    populate(store)
    before = store.export()
    good = {"vendor": "alpha", "credential": "key-a", "seq": 1, "collections": {}}
    with pytest.raises((KeyError, ValueError, Conflict)):
        store.load([good, bad])
    assert store.export() == before
    assert store.insert(A, P, make())["seq"] == 6  # and the store still works


# --- concurrency ---------------------------------------------------------------------------------

THREADS = 8


def race(attempt) -> list[str]:
    """Run `attempt(n)` on THREADS threads released at once: "won", or "conflict" on `Conflict`."""
    barrier = threading.Barrier(THREADS)
    results: list[str] = []

    def run(number: int):
        barrier.wait(timeout=10)
        try:
            attempt(number)
            results.append("won")
        except Conflict:
            results.append("conflict")

    workers = [threading.Thread(target=run, args=(n,)) for n in range(THREADS)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=30)
    return sorted(results)


def test_racing_inserts_of_one_key_exactly_one_wins(store):
    results = race(lambda n: store.insert(A, P, make(f"t{n}"), {"ext": "contested"}))
    assert results == ["conflict"] * (THREADS - 1) + ["won"]
    assert store.count(A, P) == 1 and store.sequence(A) == 1


def test_racing_updates_to_one_key_exactly_one_wins(store):
    for n in range(THREADS):
        store.insert(A, P, make(f"t{n}"))
    results = race(lambda n: store.update(A, P, f"t{n}-{n + 1}", rename("winner"), {"ext": "contested"}))
    assert results == ["conflict"] * (THREADS - 1) + ["won"]
    assert [r["name"] for r in store.scan(A, P)].count("winner") == 1


# --- SQLite only: the file ------------------------------------------------------------------------

def test_sqlite_state_survives_close_and_reopen(tmp_path):
    path = tmp_path / "state.db"
    first = SQLiteStore(path)
    populate(first)
    exported = first.export()
    first.close()
    again = SQLiteStore(path)
    try:
        assert again.export() == exported
        assert again.sequence(A) == 5
        assert again.insert(A, P, make())["seq"] == 6  # ids and the clock continue
        with pytest.raises(Conflict):
            again.insert(A, P, make(), {"ext": "f"})
        assert again.get(A, P, "x-1") is None  # deleted stays deleted
    finally:
        again.close()
    raw = sqlite3.connect(path)
    try:
        assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert raw.execute("PRAGMA application_id").fetchone()[0] != 0
    finally:
        raw.close()


def test_sqlite_creates_a_missing_file_and_adopts_an_empty_one(tmp_path):
    missing = tmp_path / "new.db"
    SQLiteStore(missing).close()
    assert missing.read_bytes().startswith(b"SQLite format 3\x00")
    empty = tmp_path / "empty.db"
    empty.touch()
    store = SQLiteStore(empty)
    store.insert(A, P, make())
    store.close()
    assert SQLiteStore(empty).sequence(A) == 1


def _other_app_db(path, application_id=0, user_version=0):
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE invoices (id INTEGER PRIMARY KEY, total REAL)")
    db.execute("INSERT INTO invoices (total) VALUES (9.5)")
    db.execute(f"PRAGMA application_id = {application_id}")
    db.execute(f"PRAGMA user_version = {user_version}")
    db.commit()
    db.close()


def _old_mockserver_db(path):
    SQLiteStore(path).close()
    db = sqlite3.connect(path)
    db.execute("PRAGMA user_version = 99")
    db.commit()
    db.close()


@pytest.mark.parametrize("kind, reason", [
    ("text", "not an SQLite file"),
    ("random", "not an SQLite file"),
    ("other-app", "another application"),
    ("other-app-id", "another application"),
    ("wrong-version", "schema version 99"),
    ("directory", "is a directory"),
])
def test_sqlite_refuses_files_that_are_not_its_own_and_leaves_them_alone(tmp_path, kind, reason):
    path = tmp_path / f"{kind}.db"
    if kind == "text":
        path.write_text("name,total\nfoo,1\n")
    elif kind == "random":
        path.write_bytes(bytes(range(256)) * 64)
    elif kind == "other-app":
        _other_app_db(path)
    elif kind == "other-app-id":
        _other_app_db(path, application_id=0x12345678, user_version=3)
    elif kind == "wrong-version":
        _old_mockserver_db(path)
    else:
        path.mkdir()
    content = None if path.is_dir() else path.read_bytes()
    with pytest.raises(StoreError) as caught:
        SQLiteStore(path)
    assert str(path) in str(caught.value) and reason in str(caught.value)
    if content is not None:
        assert path.read_bytes() == content  # never overwritten
        if kind.startswith("other-app"):
            assert sqlite3.connect(path).execute("SELECT total FROM invoices").fetchall() == [(9.5,)]


def test_sqlite_refuses_a_missing_directory(tmp_path):
    path = tmp_path / "no" / "such" / "dir.db"
    with pytest.raises(StoreError, match="does not exist"):
        SQLiteStore(path)


def test_sqlite_refuses_a_file_another_store_has_open(tmp_path):
    path = tmp_path / "busy.db"
    first = SQLiteStore(path)
    try:
        with pytest.raises(StoreError, match="in use"):
            SQLiteStore(path)
        first.insert(A, P, make())  # the first one is unharmed
    finally:
        first.close()
    SQLiteStore(path).close()  # and after close the file is free
