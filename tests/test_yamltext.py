"""mockserver.yamltext reads YAML to the same data as `yaml.safe_load` followed by the loader's old
second pass (keys as strings, dates as ISO text), scalar form by scalar form."""

from __future__ import annotations

import datetime
from pathlib import Path

import pytest
import yaml

from mockserver import yamltext
from mockserver.spec import SpecError, load_spec

ROOT = Path(__file__).parent.parent


def reference(text: str):
    """What the loader read before yamltext: safe_load, then keys to strings and dates to ISO text."""
    def plain(node):
        if isinstance(node, dict):
            return {str(key): plain(value) for key, value in node.items()}
        if isinstance(node, list):
            return [plain(value) for value in node]
        if isinstance(node, datetime.date | datetime.datetime):
            return node.isoformat()
        return node
    return plain(yaml.safe_load(text))


SCALARS = """
strings: [abc, "quoted", 'single', '012', "true", '']
ints: [0, 7, -7, 012, 0o17, 0x1F, 1_000, +5, 190:20:30]
floats: [1.5, -0.0, 1e3, 1.0e3, .inf, -.Inf, .nan, 1_000.5]
bools: [yes, No, ON, off, true, False]
nulls: [~, null, Null, NULL, ]
dates: [2024-01-01, 2024-01-01T10:20:30Z, 2024-01-01 10:20:30.5+02:00]
keys: {1: int, 2.5: float, null: none, 2024-01-01: date, 012: octal, false: bool}
binary: !!binary aGVsbG8=
set: !!set {a, b}
omap: !!omap [{a: 1}, {b: 2}]
anchored: &shared {x: [1, 2], y: &s text}
aliased: *shared
alias_scalar: *s
base: &base {a: 1, b: 2}
merged: {<<: *base, b: 3, c: 4}
multi_merge: {<<: [*base, {d: 5}], e: 6}
block: |
  line one
  line two
folded: >
  folded
  text
explicit: !!str 123
duplicate: {a: 1, a: 2}
empty_map: {}
empty_seq: []
nested: [[[[{deep: [1]}]]]]
"""


def test_each_scalar_form_reads_as_safe_load_reads_it():
    assert yamltext.load(SCALARS) == reference(SCALARS)


def test_an_alias_is_the_same_object_as_its_anchor():
    data = yamltext.load(SCALARS)
    assert data["aliased"] is data["anchored"]
    assert data["merged"] == {"a": 1, "b": 3, "c": 4}


def test_keys_python_finds_equal_stay_apart():
    # safe_load's dict took `true` for the key 1 (True == 1) and kept one of the two entries
    assert yamltext.load("{1: one, true: yes}") == {"1": "one", "True": True}


@pytest.mark.parametrize("text", ["", "# only a comment\n", "just text", "- 1\n- two\n", "012", "2024-01-01"])
def test_documents_that_are_not_mappings(text):
    assert yamltext.load(text) == reference(text)


def test_the_repositorys_documents_read_the_same():
    files = sorted((ROOT / "openapi").rglob("*.yaml")) + sorted((ROOT / "tests" / "specs").rglob("*.yaml"))
    assert len(files) > 5
    for path in files:
        text = path.read_text()
        assert yamltext.load(text) == reference(text), path


@pytest.mark.parametrize("text", ["a: [1, 2", "a: *nowhere", "a: b: c", "{a: 1}}", "- a\nb: 1"])
def test_what_is_not_yaml_is_a_yaml_error(text):
    with pytest.raises(yaml.YAMLError):
        yamltext.load(text)


def test_a_spec_that_is_not_yaml_stops_with_one_line_naming_the_file(tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text("openapi: 3.1.0\npaths: {/a: [\n")
    with pytest.raises(SpecError, match=r"broken\.yaml: cannot parse the spec: "):
        load_spec(path, "broken", strict=False)
