"""ajv's coercion table (`coerceTypes: true` and `'array'`, ajv 8 dataType.ts), value by value."""

from __future__ import annotations

import pytest

from mockserver.coercion import coerce_types, js_number, js_string

NOT = object()  # left as it is (the validator then refuses it)


@pytest.mark.parametrize(("wanted", "given", "coerced"), [
    ("string", 42, "42"), ("string", -1.5, "-1.5"), ("string", True, "true"), ("string", False, "false"),
    ("string", None, ""), ("string", 1e21, "1e+21"), ("string", 1.5e-7, "1.5e-7"), ("string", 1e-6, "0.000001"),
    ("string", 0.1 + 0.2, "0.30000000000000004"), ("string", 2**70, "1.1805916207174113e+21"),
    ("string", 123456789012345678901, "123456789012345680000"), ("string", {}, NOT), ("string", [], NOT),
    ("number", "12", 12), ("number", "-1.5", -1.5), ("number", " 7 ", 7), ("number", "0x10", 16),
    ("number", "1e3", 1000), ("number", ".5", 0.5), ("number", "5.", 5), ("number", True, 1), ("number", False, 0),
    ("number", None, 0), ("number", "", NOT), ("number", "abc", NOT), ("number", "1_0", NOT), ("number", "-0x10", NOT),
    ("number", "Infinity", NOT), ("number", "1e400", NOT), ("number", "nan", NOT), ("number", "  ", 0),
    ("integer", "12", 12), ("integer", "12.0", 12), ("integer", "1.5", NOT), ("integer", True, 1), ("integer", None, 0),
    ("integer", 1.5, NOT),
    ("boolean", "true", True), ("boolean", "false", False), ("boolean", 1, True), ("boolean", 0, False),
    ("boolean", 0.0, False), ("boolean", None, False), ("boolean", "1", NOT), ("boolean", 2, NOT), ("boolean", "", NOT),
    ("null", "", None), ("null", 0, None), ("null", False, None), ("null", "null", NOT), ("null", 1, NOT),
    ("object", "{}", NOT), ("object", [], NOT),
])
def test_scalar_coercion(wanted, given, coerced):
    for mode in (True, "array"):
        result = coerce_types(given, {"type": wanted}, mode)
        if coerced is NOT:
            assert result is given, (mode, result)
        else:
            assert result == coerced and type(result) is type(coerced), (mode, result)


@pytest.mark.parametrize(("schema", "given", "coerced"), [
    ({"type": "string"}, [42], "42"),  # the item, then coerced
    ({"type": "string"}, ["a"], "a"),
    ({"type": "string"}, ["a", "b"], ["a", "b"]),
    ({"type": "string"}, [], []),
    ({"type": "object"}, [{"a": 1}], {"a": 1}),
    ({"type": "array"}, "a", ["a"]),
    ({"type": "array"}, None, [None]),
    ({"type": "array"}, {"a": 1}, {"a": 1}),
    ({"type": "array", "items": {"type": "integer"}}, "3", [3]),
    ({"type": ["integer", "null"]}, "", None),  # integer cannot take "", null can
    ({"type": ["string", "integer"]}, True, "true"),  # the first type that takes it
])
def test_array_mode(schema, given, coerced):
    assert coerce_types(given, schema, "array") == coerced


def test_without_array_mode_arrays_are_left_alone():
    assert coerce_types([42], {"type": "string"}, True) == [42]
    assert coerce_types("a", {"type": "array"}, True) == "a"


def test_nested_values_are_coerced_and_each_change_is_noted():
    schema = {"type": "object", "properties": {"plan": {"type": "object", "properties": {
        "tasks": {"type": "integer"}, "names": {"type": "array", "items": {"type": "string"}}}}},
        "additionalProperties": {"type": "boolean"}}
    given = {"plan": {"tasks": "5", "names": [1, "b"]}, "flag": "true", "plan2": 1}
    warnings: list[str] = []
    assert coerce_types(given, schema, "array", warnings) == {
        "plan": {"tasks": 5, "names": ["1", "b"]}, "flag": True, "plan2": True}
    assert given == {"plan": {"tasks": "5", "names": [1, "b"]}, "flag": "true", "plan2": 1}  # not changed in place
    assert warnings == ['plan.tasks: "5" coerced to 5', 'plan.names[0]: 1 coerced to "1"',
                        'flag: "true" coerced to true', "plan2: 1 coerced to true"]


def test_the_body_itself_is_not_coerced():
    schema = {"type": "object", "properties": {"a": {"type": "string"}}}
    assert coerce_types([{"a": 1}], schema, "array", itself=False) == [{"a": 1}]
    assert coerce_types({"a": 1}, schema, "array", itself=False) == {"a": "1"}


def test_javascript_numbers_and_their_text():
    assert js_number("\u00a0 12\n") == 12 and js_number("0b101") == 5 and js_number("0o17") == 15
    assert js_number("+.5e1") == 5 and js_number("1e") is None and js_number("0x") is None
    assert [js_string(x) for x in (0, -0.0, 100, 1e20, 1e-7, 123e-20, -2.5)] == [
        "0", "0", "100", "100000000000000000000", "1e-7", "1.23e-18", "-2.5"]


def test_the_spec_says_where_coercion_applies(tmp_path):
    import json

    from mockserver.spec import SpecError, load_spec

    def spec(top=None, operation=None):
        get = {"operationId": "one", "responses": {"200": {"description": "ok"}}}
        post = {**get, "operationId": "two"}
        if operation is not None:
            post["x-mock-coerce-types"] = operation
        document = {"openapi": "3.1.0", "info": {"title": "t", "version": "1"},
                    "paths": {"/x": {"get": get, "post": post}}}
        if top is not None:
            document["x-mock-coerce-types"] = top
        path = tmp_path / f"s{len(list(tmp_path.iterdir()))}.json"
        path.write_text(json.dumps(document))
        return load_spec(path, "x").operations

    assert (spec()["one"].coerce_types, spec()["two"].coerce_types) == (False, False)
    both = spec(top="array")
    assert (both["one"].coerce_types, both["two"].coerce_types) == ("array", "array")
    overridden = spec(top="array", operation=False)
    assert (overridden["one"].coerce_types, overridden["two"].coerce_types) == ("array", False)
    assert spec(operation=True)["two"].coerce_types is True
    with pytest.raises(SpecError, match="x-mock-coerce-types: must be false, true or \"array\""):
        spec(top="all")
