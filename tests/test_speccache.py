"""The spec cache (mockserver/speccache.py): a start reads a loaded spec back instead of building it,
and answers exactly as it would have; a changed document (or a file it refers to) is built again;
anything wrong with the cache (corrupt, read-only, someone else's) only means the spec is built."""

from __future__ import annotations

import logging
import os
import pickle
import subprocess
import sys
from pathlib import Path

import pytest

from mockserver import Settings, create_app, speccache
from mockserver import spec as spec_module
from mockserver.spec import SpecError, compile_schema, load_spec

SHOP = Path(__file__).parent / "specs" / "shop.yaml"
KEY = {"X-Shop-Key": "k1"}
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def cache(tmp_path, monkeypatch):
    """The cache's folder of entries, empty, for this test; and a count of the specs built (not read back)."""
    monkeypatch.setenv("MOCKSERVER_CACHE_DIR", str(tmp_path / "cache"))
    spec_module._load_spec.cache_clear()
    yield tmp_path / "cache" / "specs"
    spec_module._load_spec.cache_clear()


@pytest.fixture
def builds(monkeypatch):
    """The paths of the documents built (a cache hit builds nothing)."""
    seen = []
    build = spec_module._build_spec

    def counted(path, vendor, data, strict):
        seen.append(Path(path).name)
        return build(path, vendor, data, strict)

    monkeypatch.setattr(spec_module, "_build_spec", counted)
    return seen


def fresh_load(path: Path, name: str = "shop", strict: bool = False):
    """A load as a new process does it: nothing of the document remembered in this one (lenient, as
    `--spec` documents are loaded)."""
    spec_module._load_spec.cache_clear()
    return load_spec(path, name, strict=strict)


def shop_copy(tmp_path: Path) -> Path:
    path = tmp_path / "shop.yaml"
    path.write_bytes(SHOP.read_bytes())
    return path


def walk(path: Path) -> list:
    """A create, reads, a list, an update, refusals, a delete and the served document, as answered by a
    new app mounting the document."""
    spec_module._load_spec.cache_clear()
    app = create_app(Settings(specs=(("shop", path),)))
    client = app.test_client()
    created = client.post("/v2/products", json={"name": "Dune", "price": 9.5, "category": "books"}, headers=KEY)
    url = f"/v2/products/{created.get_json()['productId']}"
    answers = [(created.status_code, created.get_json())]
    for method, target, body in [("get", url, None), ("get", "/v2/products?limit=5", None),
                                 ("patch", url, {"price": 3}), ("post", "/v2/products", {"name": 5}),
                                 ("get", "/v2/products/not-a-uuid", None), ("get", "/v2/products?limit=0", None),
                                 ("post", "/v2/customers", {"username": "ann", "email": "ann@example.com"}),
                                 ("get", "/v2/customers/ann", None), ("delete", url, None), ("get", url, None)]:
        response = client.open(target, method=method.upper(), json=body, headers=KEY)
        answers.append((method, target, response.status_code, response.get_data(as_text=True)))
    served = client.get("/__mock/openapi/shop.yaml")
    answers.append((served.status_code, served.get_data(as_text=True)))
    app.extensions["mockserver"].store.close()
    return answers


def test_a_spec_read_back_answers_as_the_one_built(cache, builds, tmp_path):
    path = shop_copy(tmp_path)
    built = walk(path)
    assert builds.count("shop.yaml") == 1 and len(list(cache.glob("*.pickle"))) >= 1
    read_back = walk(path)
    assert builds.count("shop.yaml") == 1  # the second start built nothing
    assert read_back == built
    assert [status for *_, status, _ in built[1:-1]] == [200, 200, 200, 422, 404, 422, 201, 200, 204, 404]


def test_a_corrupt_or_truncated_entry_is_ignored_and_written_again(cache, builds, tmp_path):
    path = shop_copy(tmp_path)
    operations = sorted(fresh_load(path).operations)
    (entry,) = cache.glob("*.pickle")
    whole = entry.read_bytes()
    for broken in (b"not a pickle", whole[: len(whole) // 2], whole[:-7], b""):
        entry.write_bytes(broken)
        assert sorted(fresh_load(path).operations) == operations
    assert builds.count("shop.yaml") == 5  # each broken entry was built again ...
    assert entry.read_bytes() != b"" and sorted(fresh_load(path).operations) == operations
    assert builds.count("shop.yaml") == 5  # ... and written whole: read back now


def test_a_cache_that_cannot_be_written_is_no_failure(tmp_path, monkeypatch, builds):
    path = shop_copy(tmp_path)
    blocker = tmp_path / "a-file"
    blocker.write_text("the cache's folder would be inside this file")
    monkeypatch.setenv("MOCKSERVER_CACHE_DIR", str(blocker))
    assert "createProduct" in fresh_load(path).operations
    assert "createProduct" in fresh_load(path).operations
    assert builds.count("shop.yaml") == 2 and blocker.is_file()
    spec_module._load_spec.cache_clear()


@pytest.mark.skipif(not hasattr(os, "getuid") or os.getuid() == 0, reason="root writes into a read-only folder")
def test_a_read_only_cache_folder_is_no_failure(cache, builds, tmp_path):
    path = shop_copy(tmp_path)
    cache.mkdir(parents=True)
    cache.chmod(0o500)
    try:
        assert "createProduct" in fresh_load(path).operations
        assert "createProduct" in fresh_load(path).operations
        assert builds.count("shop.yaml") == 2 and list(cache.iterdir()) == []
    finally:
        cache.chmod(0o700)


def test_a_read_only_folder_holding_entries_is_still_read(cache, builds, tmp_path, monkeypatch):
    path = shop_copy(tmp_path)
    fresh_load(path)

    def refuse(*args, **kwargs):
        raise PermissionError(13, "Read-only file system")

    monkeypatch.setattr(speccache.tempfile, "mkstemp", refuse)
    assert "createProduct" in fresh_load(path).operations
    assert builds.count("shop.yaml") == 1  # read back; nothing to write
    (tmp_path / "other.yaml").write_bytes(SHOP.read_bytes().replace(b"title: Shop", b"title: Other"))
    assert fresh_load(tmp_path / "other.yaml").document["info"]["title"].startswith("Other")  # built, not written


def test_other_bytes_are_built_again_even_with_the_same_size_and_time(cache, builds, tmp_path):
    path = shop_copy(tmp_path)
    assert fresh_load(path).document["info"]["title"].startswith("Shop")
    stat = path.stat()
    path.write_bytes(SHOP.read_bytes().replace(b"title: Shop", b"title: Shoe"))
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert fresh_load(path).document["info"]["title"].startswith("Shoe")
    assert builds.count("shop.yaml") == 2
    path.write_bytes(SHOP.read_bytes())  # the first version again: its entry is still there
    assert fresh_load(path).document["info"]["title"].startswith("Shop") and builds.count("shop.yaml") == 2


MULTI = """openapi: 3.1.0
info: {title: Parts, version: "1"}
paths:
  /parts:
    post:
      operationId: createPart
      requestBody:
        required: true
        content:
          application/json:
            schema: {$ref: "schemas/part.yaml"}
      responses:
        "201":
          description: Created.
          content:
            application/json:
              schema: {$ref: "schemas/part.yaml"}
"""
PART = """type: object
required: [name]
properties:
  id: {type: string, readOnly: true}
  name: {type: string, maxLength: 5}
"""


def test_a_changed_file_the_document_refers_to_is_built_again(cache, builds, tmp_path):
    (tmp_path / "schemas").mkdir()
    root, part = tmp_path / "parts.yaml", tmp_path / "schemas" / "part.yaml"
    root.write_text(MULTI)
    part.write_text(PART)
    client = lambda: create_app(Settings(specs=(("parts", root),))).test_client()  # noqa: E731
    fresh_load(root, "parts")
    assert client().post("/parts", json={"name": "sixsix"}).status_code == 422
    stat = part.stat()
    part.write_text(PART.replace("maxLength: 5", "maxLength: 9"))
    os.utime(part, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    fresh_load(root, "parts")
    assert client().post("/parts", json={"name": "sixsix"}).status_code == 201
    assert builds.count("parts.yaml") == 2
    part.unlink()
    with pytest.raises(SpecError, match="no file"):
        fresh_load(root, "parts")


def test_the_loaders_warnings_are_said_again_when_read_back(cache, builds, tmp_path, caplog):
    path = tmp_path / "shop.yaml"
    path.write_bytes(SHOP.read_bytes().replace(b"  - apiKey: []\n", b"  - apiKey: []\n  - nope: []\n", 1))
    caplog.set_level(logging.WARNING, logger="mockserver")
    fresh_load(path)
    said = [r.getMessage() for r in caplog.records if "nope" in r.getMessage()]
    assert said and all("unknown security scheme 'nope' is ignored" in line for line in said)
    caplog.clear()
    fresh_load(path)
    assert builds.count("shop.yaml") == 1
    assert [r.getMessage() for r in caplog.records if "nope" in r.getMessage()] == said


def test_a_bad_document_is_refused_at_every_load_and_never_cached(cache, builds, tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text(MULTI.replace('schema: {$ref: "schemas/part.yaml"}', "schema: {type: 5}"))
    for _ in range(2):
        with pytest.raises(SpecError, match="invalid schema"):
            fresh_load(path, "bad", strict=True)
    assert builds == ["bad.yaml", "bad.yaml"] and list(cache.glob("*.pickle")) == []


def test_an_entry_others_may_write_is_not_read(cache, builds, tmp_path):
    path = shop_copy(tmp_path)
    fresh_load(path)
    for entry in cache.glob("*.pickle"):
        entry.chmod(0o666)
    fresh_load(path)
    assert builds.count("shop.yaml") == 2


def test_off_writes_nothing(tmp_path, monkeypatch, builds):
    monkeypatch.setenv("MOCKSERVER_CACHE_DIR", "off")
    path = shop_copy(tmp_path)
    fresh_load(path)
    fresh_load(path)
    assert builds.count("shop.yaml") == 2 and speccache.folder() is None
    spec_module._load_spec.cache_clear()


def test_the_folder_is_the_users_cache_by_default(monkeypatch, tmp_path):
    monkeypatch.delenv("MOCKSERVER_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert speccache.folder() == tmp_path / "mockserver" / "specs"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert speccache.folder() == tmp_path / "home" / ".cache" / "mockserver" / "specs"


def test_processes_starting_at_once_all_load_and_leave_one_whole_entry(cache, tmp_path):
    path = shop_copy(tmp_path)
    script = ("import sys; from mockserver.spec import load_spec; "
              "print(sorted(load_spec(sys.argv[1], 'shop').operations))")
    env = {**os.environ, "MOCKSERVER_CACHE_DIR": str(cache.parent), "PYTHONPATH": str(ROOT)}
    processes = [subprocess.Popen([sys.executable, "-c", script, str(path)], stdout=subprocess.PIPE, text=True,
                                  env=env) for _ in range(4)]
    outputs = [process.communicate(timeout=60)[0] for process in processes]
    assert [process.returncode for process in processes] == [0] * 4
    assert len(set(outputs)) == 1 and "createProduct" in outputs[0]
    assert [p.name for p in cache.iterdir() if p.name.startswith(".tmp-")] == []
    assert str(sorted(fresh_load(path).operations)) + "\n" == outputs[0]


def test_a_validator_built_on_first_use_pickles_as_its_schema_and_checks_alike():
    schema = {"type": "object", "required": ["name"], "properties": {"name": {"type": "string", "pattern": "^a"}}}
    validator = compile_schema(schema, "a test")
    again = pickle.loads(pickle.dumps(validator))
    for instance in ({"name": "ab"}, {"name": "b"}, {}, [], {"name": 1}):
        assert again.is_valid(instance) == validator.is_valid(instance)
        assert [e.message for e in again.iter_errors(instance)] == [e.message for e in validator.iter_errors(instance)]
    assert validator.check is not None and again.schema == schema
