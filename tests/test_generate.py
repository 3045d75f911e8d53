"""mockserver.generate: values from JSON Schema that validate, the same for the same seed and pointer."""

from __future__ import annotations

import json
import random
import re
import subprocess
import sys

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from mockserver import ecma
from mockserver.generate import GenerationError, generate, regex_string
from mockserver.spec import load_spec

FORMATS = Draft202012Validator.FORMAT_CHECKER


def valid(schema, value) -> bool:
    """Valid both as plain jsonschema and as the server validates (ECMA-262 patterns)."""
    return (Draft202012Validator(schema, format_checker=FORMATS).is_valid(value)
            and ecma.Validator(schema, format_checker=FORMATS).is_valid(value))


def check(schema, seeds=range(8), **options):
    values = [generate(schema, f"seed-{seed}", **options) for seed in seeds]
    for value in values:
        assert valid(schema, value), (schema, value)
    return values


PET = {
    "type": "object",
    "required": ["id", "name"],
    "properties": {
        "id": {"type": "integer", "format": "int64", "readOnly": True},
        "name": {"type": "string", "example": "doggie"},
        "status": {"type": "string", "enum": ["available", "pending", "sold"]},
        "tags": {"type": "array", "items": {"type": "object", "properties": {
            "id": {"type": "integer", "format": "int64"}, "name": {"type": "string"}}}},
        "born": {"type": "string", "format": "date"},
        "secret": {"type": "string", "writeOnly": True},
        "token": {"type": "string", "readOnly": True},
    },
}


# --- one keyword at a time --------------------------------------------------------------------------

@pytest.mark.parametrize("schema", [
    {}, True, {"type": "null"}, {"type": "boolean"}, {"type": "string"}, {"type": "integer"}, {"type": "number"},
    {"type": "object"}, {"type": "array"}, {"const": {"a": [1, 2]}}, {"enum": ["x", 2, None]},
    {"type": ["string", "null"]}, {"type": ["null", "integer"]},
    {"type": "string", "minLength": 12, "maxLength": 14}, {"type": "string", "maxLength": 2},
    {"type": "string", "minLength": 30}, {"type": "string", "maxLength": 0},
    {"type": "integer", "minimum": 5, "maximum": 5}, {"type": "integer", "exclusiveMinimum": 5, "exclusiveMaximum": 7},
    {"type": "integer", "minimum": 1000000}, {"type": "integer", "maximum": -1000000},
    {"type": "integer", "multipleOf": 7, "minimum": 100, "maximum": 120},
    {"type": "integer", "multipleOf": 0.1}, {"type": "integer", "multipleOf": 2.5},
    {"type": "integer", "format": "int32", "minimum": 2**31 - 3},
    {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 0.001},
    {"type": "number", "multipleOf": 0.01, "minimum": 3.3, "maximum": 3.5},
    {"type": "number", "multipleOf": 0.1}, {"type": "number", "minimum": -1e9, "maximum": -1e9 + 0.5},
    {"type": "number", "format": "float"},
    {"type": "array", "minItems": 3, "maxItems": 3, "items": {"type": "integer"}},
    {"type": "array", "maxItems": 0}, {"type": "array", "prefixItems": [{"type": "string"}, {"type": "boolean"}],
                                       "items": False},
    {"type": "array", "uniqueItems": True, "minItems": 4, "items": {"type": "integer", "minimum": 1, "maximum": 5}},
    {"type": "array", "contains": {"type": "integer"}, "items": {"type": ["string", "integer"]}},
    {"type": "array", "contains": {"const": 3}, "minContains": 2},
    {"type": "object", "additionalProperties": {"type": "integer"}},
    {"type": "object", "patternProperties": {"^x-[a-z]+$": {"type": "boolean"}}, "additionalProperties": False},
    {"type": "object", "minProperties": 3, "maxProperties": 3, "properties": {"a": {"type": "string"}}},
    {"type": "object", "propertyNames": {"pattern": "^[A-Z]{3}$"}, "minProperties": 2},
    {"type": "object", "properties": {"a": {"type": "string"}, "b": {"type": "string"}}, "maxProperties": 1},
    {"type": "object", "properties": {"a": False, "b": {"type": "integer"}}},
    {"type": "object", "properties": {"a": {"type": "integer"}}, "dependentRequired": {"a": ["b"]},
     "additionalProperties": {"type": "string"}},
    {"not": {"type": "string"}}, {"type": "integer", "not": {"enum": [1, 2, 3]}, "minimum": 1, "maximum": 4},
    {"type": "string", "not": {"const": "amber"}},
    {"if": {"properties": {"kind": {"const": "a"}}}, "then": {"required": ["x"]},
     "else": {"required": ["y"]}, "properties": {"kind": {"enum": ["a", "b"]}}, "required": ["kind"]},
    {"allOf": [{"type": "object", "properties": {"a": {"type": "integer"}}, "required": ["a"]},
               {"properties": {"a": {"minimum": 10}, "b": {"type": "string"}}, "required": ["b"]}]},
    {"allOf": [{"type": "string", "pattern": "^[a-z]+$"}, {"pattern": "a"}, {"minLength": 3}]},
    {"allOf": [{"type": ["integer", "string"]}, {"type": ["number", "null"]}]},
    {"allOf": [{"oneOf": [{"type": "string"}, {"type": "integer"}]}, {"oneOf": [{"type": "integer"},
                                                                                {"type": "boolean"}]}]},
    {"anyOf": [{"type": "string", "maxLength": -1}, {"type": "integer"}]},
    {"oneOf": [{"type": "integer", "multipleOf": 3}, {"type": "integer", "multipleOf": 5}]},
    {"oneOf": [{"type": "number"}, {"type": "integer"}]},
    {"oneOf": [{"type": "object", "properties": {"a": {"type": "string"}}},
               {"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"]}]},
])
def test_each_keyword_is_honoured(schema):
    check(schema)


@pytest.mark.parametrize("fmt", ["date-time", "date", "time", "uuid", "email", "uri", "url", "hostname", "ipv4",
                                 "ipv6", "byte", "binary", "password", "duration", "json-pointer", "regex",
                                 "idn-email", "uri-reference", "made-up"])
def test_formats(fmt):
    for value in check({"type": "string", "format": fmt}):
        assert FORMATS.conforms(value, fmt) and value


def test_format_shapes():
    text = generate({"type": "string", "format": "date-time"}, "s")
    assert re.fullmatch(r"2025-\d\d-\d\dT\d\d:\d\d:\d\dZ", text)
    uid = generate({"type": "string", "format": "uuid"}, "s")
    assert uid[14] == "4" and uid[19] in "89ab"


def test_int_formats_bound_integers():
    with pytest.raises(GenerationError):
        generate({"type": "integer", "format": "int32", "minimum": 2**31}, "s")
    assert generate({"type": "integer", "format": "int64", "minimum": 2**62}, "s") >= 2**62


def test_format_with_a_pattern_and_lengths():
    schema = {"type": "string", "format": "date", "pattern": r"^\d{4}-\d{2}-\d{2}$"}
    check(schema)
    check({"type": "string", "format": "email", "maxLength": 25})


def test_plain_strings_are_words():
    for value in check({"type": "string"}, seeds=range(20)):
        assert re.fullmatch(r"[a-z]+", value)
    for value in check({"type": "string", "minLength": 20, "maxLength": 22}):
        assert re.fullmatch(r"[a-z ]+", value) and not value.endswith(" ")


def test_nullable_prefers_the_other_type():
    values = check({"type": ["null", "object"], "properties": {"a": {"type": "integer"}}}, seeds=range(20))
    assert all(isinstance(value, dict) for value in values)


def test_examples_are_preferred_when_valid():
    assert generate({"type": "string", "example": "doggie"}, "s") == "doggie"
    assert generate({"type": "string", "examples": ["first", "second"]}, "s") == "first"
    assert generate({"type": "integer", "default": 7}, "s") == 7
    assert generate({"type": "integer", "example": "nope", "default": 7}, "s") == 7
    assert generate({"type": "integer", "minimum": 10, "example": 3}, "s") >= 10
    example = {"id": 1, "password": "x"}
    schema = {"type": "object", "properties": {"id": {"type": "integer"}, "password": {"type": "string",
                                                                                       "writeOnly": True}},
              "example": example}
    assert generate(schema, "s") == {"id": 1}
    assert generate(schema, "s", mode="request") == example
    assert example == {"id": 1, "password": "x"}  # the spec's own example is not changed


def test_empty_and_false_schemas():
    assert isinstance(generate({}, "s"), str)
    with pytest.raises(GenerationError, match="at the root"):
        generate(False, "s")


# --- modes ------------------------------------------------------------------------------------------

def test_response_mode_leaves_out_write_only():
    for value in check(PET):
        assert "secret" not in value and {"id", "name", "status", "tags", "born", "token"} <= value.keys()


def test_request_mode_leaves_out_read_only_unless_required():
    for value in check(PET, mode="request"):
        assert "token" not in value and "secret" in value
        assert "id" in value  # required: kept, so the value still validates


def test_mode_flag_inside_all_of():
    schema = {"type": "object", "properties": {"a": {"allOf": [{"type": "string"}, {"readOnly": True}]}}}
    assert generate(schema, "s", mode="request") == {}
    assert "a" in generate(schema, "s")


def test_unknown_mode_is_refused():
    with pytest.raises(ValueError):
        generate({}, "s", mode="both")


# --- determinism ------------------------------------------------------------------------------------

def test_same_seed_same_value_and_different_seeds_differ():
    assert generate(PET, "0|pets|17") == generate(PET, "0|pets|17")
    values = {json.dumps(generate(PET, f"0|pets|{n}"), sort_keys=True) for n in range(10)}
    assert len(values) == 10


def test_a_value_is_a_function_of_seed_and_pointer():
    whole = generate(PET, "s")
    assert generate(PET["properties"]["tags"], "s", pointer="/tags") == whole["tags"]
    assert generate(PET["properties"]["born"], "s", pointer="/born") == whole["born"]


def test_the_same_value_in_another_process():
    code = ("import json, sys; sys.path.insert(0, '.'); from mockserver.generate import generate; "
            f"print(json.dumps(generate(json.loads({json.dumps(json.dumps(PET))}), 'x')))")
    for hash_seed in ("1", "2"):
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                             env={"PYTHONHASHSEED": hash_seed})
        assert json.loads(out.stdout) == generate(PET, "x")


# --- composition ------------------------------------------------------------------------------------

CAT = {"title": "Cat", "type": "object", "required": ["petType"], "additionalProperties": False,
       "properties": {"petType": {"type": "string"}, "meows": {"type": "boolean"}}}
DOG = {"title": "Dog", "type": "object", "required": ["petType"], "additionalProperties": False,
       "properties": {"petType": {"type": "string"}, "barks": {"type": "boolean"}}}


def test_discriminator_with_mapping_by_reference_name():
    schema = {"oneOf": [CAT, DOG], "discriminator": {
        "propertyName": "petType",
        "mapping": {"kitty": "#/components/schemas/Cat", "doggo": "#/components/schemas/Dog"}}}
    seen = set()
    for value in check(schema, seeds=range(20)):
        seen.add(value["petType"])
        assert value["petType"] == ("kitty" if "meows" in value else "doggo")
    assert seen == {"kitty", "doggo"}


def test_discriminator_with_mapping_to_inlined_branches():
    schema = {"anyOf": [CAT, DOG], "discriminator": {"propertyName": "petType", "mapping": {"c": CAT, "d": DOG}}}
    for value in check(schema, seeds=range(10)):
        assert value["petType"] == ("c" if "meows" in value else "d")


def test_discriminator_by_position_by_title_and_by_const():
    untitled = [{k: v for k, v in branch.items() if k != "title"} for branch in (CAT, DOG)]
    schema = {"oneOf": untitled, "discriminator": {"propertyName": "petType", "mapping": {"c": "#/x/A", "d": "#/x/B"}}}
    for value in check(schema, seeds=range(10)):
        assert value["petType"] == ("c" if "meows" in value else "d")
    schema = {"oneOf": [CAT, DOG], "discriminator": {"propertyName": "petType"}}
    for value in check(schema, seeds=range(10)):
        assert value["petType"] == ("Cat" if "meows" in value else "Dog")
    constant = [{**branch, "properties": {**branch["properties"], "petType": {"const": branch["title"].lower()}}}
                for branch in (CAT, DOG)]
    schema = {"oneOf": constant, "discriminator": {"propertyName": "petType", "mapping": {"x": "#/Cat"}}}
    for value in check(schema, seeds=range(10)):
        assert value["petType"] in ("cat", "dog")


def test_one_of_matches_exactly_one_branch():
    loose = {"type": "object", "properties": {"name": {"type": "string"}}}
    strict = {"type": "object", "properties": {"name": {"type": "string"}, "age": {"type": "integer"}},
              "required": ["age"]}
    schema = {"oneOf": [loose, strict]}
    for value in check(schema, seeds=range(20)):
        matches = [branch for branch in (loose, strict) if valid(branch, value)]
        assert len(matches) == 1


def test_overlapping_open_branches_are_told_apart():
    open_cat, open_dog = ({k: v for k, v in branch.items() if k != "additionalProperties"} for branch in (CAT, DOG))
    schema = {"oneOf": [open_cat, open_dog], "discriminator": {"propertyName": "petType"}}
    for value in check(schema, seeds=range(10)):
        spoiled = "barks" if value["petType"] == "Cat" else "meows"
        assert value[spoiled] is None  # the other branch's property, with a value that branch refuses


def test_one_of_that_cannot_be_exclusive_raises():
    with pytest.raises(GenerationError, match="oneOf"):
        generate({"oneOf": [{"type": "string"}, {"type": "string"}]}, "s")


def test_all_of_with_a_discriminated_base():
    base = {"type": "object", "required": ["kind"], "properties": {"kind": {"type": "string"}},
            "discriminator": {"propertyName": "kind"}}
    check({"allOf": [base, {"properties": {"lives": {"type": "integer", "minimum": 1, "maximum": 9}}}]})


# --- limits and errors ------------------------------------------------------------------------------

def test_recursive_schemas_stop_at_the_depth_limit():
    node: dict = {"type": "object", "properties": {"name": {"type": "string"}}}
    node["properties"]["children"] = {"type": "array", "items": node}
    node["properties"]["parent"] = {"type": ["object", "null"], "properties": node["properties"]}
    value = generate(node, "s")
    depth = 0
    while value.get("children"):
        value, depth = value["children"][0], depth + 1
    assert 3 <= depth <= 10


def test_an_endless_required_chain_raises():
    node: dict = {"type": "object", "required": ["next"], "properties": {}}
    node["properties"]["next"] = node
    with pytest.raises(GenerationError, match="/next/next"):
        generate(node, "s")


@pytest.mark.parametrize("schema, where", [
    ({"type": "object", "required": ["a"], "properties": {"a": {"type": "integer", "minimum": 3, "maximum": 2}}},
     "at /a"),
    ({"type": "array", "minItems": 1, "items": {"type": "string", "minLength": 3, "maxLength": 2}}, "at /0"),
    ({"type": "object", "required": ["x"], "properties": {"x": {"enum": [1], "type": "string"}}}, "at /x"),
    ({"type": "object", "required": ["p"], "properties": {"p": {"type": "string", "pattern": "^a{3}$",
                                                               "minLength": 4}}}, "at /p"),
    ({"type": "array", "uniqueItems": True, "minItems": 3, "items": {"type": "boolean"}}, "at /2"),
    ({"type": "string", "pattern": "(unclosed"}, "not a regular expression"),
])
def test_unsatisfiable_schemas_raise_naming_the_pointer(schema, where):
    with pytest.raises(GenerationError, match=re.escape(where)):
        generate(schema, "s")


def test_an_unsatisfiable_optional_property_is_left_out():
    schema = {"type": "object", "properties": {"a": {"type": "integer", "minimum": 3, "maximum": 2},
                                               "b": {"type": "integer"}}}
    assert set(check(schema)[0]) == {"b"}


def test_the_pointer_option_names_where_the_value_sits():
    with pytest.raises(GenerationError, match="at /pets/3/age"):
        generate({"type": "object", "required": ["age"], "properties": {"age": {"type": "integer", "minimum": 2,
                                                                               "maximum": 1}}},
                 "s", pointer="/pets/3")


# --- regular expressions ----------------------------------------------------------------------------

PATTERNS = [
    r"^[a-z]+$", r"^\d{3}-\d{4}$", r"^[A-Z]{2}[0-9]{6,10}$", r"(a|bc)+\1", r"^(?=.*[A-Z])(?=.*\d).{8,}$", r"foo",
    r"^\w+@\w+\.com$", r"^\S+$", r"\bab\b", r"^[^a-z]*$", r"^(\([0-9]{3}\))?[0-9]{3}-[0-9]{4}$", r"^[\u4e00-\u9fa5]+$",
    r"^x*?y+?$", r"^[-+]?\d+(\.\d+)?$", r"^#?([a-f0-9]{6}|[a-f0-9]{3})$", r"^[^\s@]+@[^\s@]+$", r"^.{3,5}$",
    r"^\s*$", r"a$", r"^\$\d+$", r"^(?=.{8,64}$)(?=.*[a-z])(?=.*[A-Z])(?=.*\d)(?=.*[^\w\s]).*$",
    r"^(?=.{3,5}$)[a-z]+$", r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$", r"^[a-zA-Z0-9._%+-]+@[a-zA-Z0-9.-]+\.[a-zA-Z]{2,}$",
    r"^(?:[01]\d|2[0-3]):[0-5]\d$", r"^\u00e9+$", r"^(?:(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==)?)$",
]


@pytest.mark.parametrize("pattern", PATTERNS)
def test_regex_strings_match_as_ecma_and_python_search(pattern):
    rng = random.Random(pattern)
    for _ in range(20):
        text = regex_string(pattern, rng)
        assert ecma.search(pattern, text) and re.search(pattern, text), (pattern, text)


def test_ecma_only_classes():
    assert len(regex_string("^[^]$", random.Random(0))) == 1  # ECMA: any character; Python cannot read it
    with pytest.raises(GenerationError):
        regex_string("^[]$", random.Random(0))  # ECMA: the class of no character


@pytest.mark.parametrize("pattern", [r"^[a-z]+$", r"^[a-z0-9-]+$", r"[0-9]", r"^\w+", r"\w+$", r"^(ab)+$"])
def test_regex_strings_within_lengths(pattern):
    rng = random.Random(1)
    for least, most in [(0, 4), (10, 12), (30, 30), (1, None), (25, None)]:
        text = regex_string(pattern, rng, least, most)
        assert ecma.search(pattern, text) and least <= len(text) <= (most or 99), (pattern, least, most, text)


def test_dollar_is_the_end_of_the_text():
    for seed in range(200):
        value = generate({"type": "string", "pattern": "^[a-z]+$"}, str(seed))
        assert not value.endswith("\n") and re.fullmatch("[a-z]+", value)
    assert regex_string("^a$", random.Random(0)) == "a"


def test_impossible_lengths_raise():
    with pytest.raises(GenerationError):
        regex_string(r"^\d{3}$", random.Random(0), 4, 6)


# --- random schemas ---------------------------------------------------------------------------------

SAFE_PATTERNS = [r"^[a-z]+$", r"^[A-Z][a-z]*$", r"[0-9]", r"^[a-z0-9-]+$", r"^\w+$", r"^[a-f0-9]{4,12}$", r"x"]
SAFE_FORMATS = ["date-time", "date", "time", "uuid", "email", "uri", "ipv4", "ipv6", "hostname", "byte"]
scalars = st.one_of(st.none(), st.booleans(), st.integers(-50, 50), st.text("abc", max_size=3))


@st.composite
def strings(draw):
    schema: dict = {"type": "string"}
    choice = draw(st.sampled_from(["plain", "pattern", "format"]))
    if choice == "pattern":
        schema["pattern"] = draw(st.sampled_from(SAFE_PATTERNS))
        least = draw(st.integers(1, 6))
    elif choice == "format":
        schema["format"] = draw(st.sampled_from(SAFE_FORMATS))
        return schema
    else:
        least = draw(st.integers(0, 20))
    if draw(st.booleans()):
        schema["minLength"] = least
    if draw(st.booleans()):
        schema["maxLength"] = max(least, 12) + draw(st.integers(0, 5))
    return schema


@st.composite
def integers(draw):
    step = draw(st.sampled_from([None, 1, 2, 3, 7, 0.5]))
    low = draw(st.integers(-1000, 1000))
    high = low + draw(st.integers(8, 500))
    schema: dict = {"type": "integer"}
    if step:
        schema["multipleOf"] = step
    if draw(st.booleans()):
        schema["exclusiveMinimum" if draw(st.booleans()) else "minimum"] = low
    if draw(st.booleans()):
        schema["exclusiveMaximum" if draw(st.booleans()) else "maximum"] = high
    return schema


@st.composite
def numbers(draw):
    low = draw(st.floats(-1e6, 1e6))
    high = low + draw(st.floats(5, 1000))
    schema: dict = {"type": "number"}
    step = draw(st.sampled_from([None, 0.5, 0.25, 0.1, 0.01, 2]))
    if step:
        schema["multipleOf"] = step
    if draw(st.booleans()):
        schema["exclusiveMinimum" if draw(st.booleans()) else "minimum"] = low
    if draw(st.booleans()):
        schema["exclusiveMaximum" if draw(st.booleans()) else "maximum"] = high
    return schema


leaves = st.one_of(
    strings(), integers(), numbers(), st.just({"type": "boolean"}), st.just({"type": "null"}), st.just({}),
    st.lists(scalars, min_size=1, max_size=4).map(lambda values: {"enum": values}),
    scalars.map(lambda value: {"const": value}),
    st.one_of(strings(), integers()).map(lambda schema: {**schema, "type": [schema["type"], "null"]}),
)
NAMES = st.sampled_from(["id", "name", "kind", "size", "tags", "owner", "note"])


def objects(children):
    @st.composite
    def build(draw, prefix=""):
        props = draw(st.dictionaries(NAMES.map(lambda n: prefix + n), children, max_size=4))
        schema: dict = {"type": "object", "properties": props}
        schema["required"] = draw(st.lists(st.sampled_from(sorted(props)), unique=True)) if props else []
        if draw(st.booleans()):
            schema["additionalProperties"] = draw(st.sampled_from([False, {"type": "integer"}]))
        for name in props:
            flag = draw(st.sampled_from([None, None, "readOnly", "writeOnly"]))
            if flag:
                props[name] = {**props[name], flag: True}
        return schema
    return build


def arrays(children):
    @st.composite
    def build(draw):
        least = draw(st.integers(0, 3))
        schema = {"type": "array", "items": draw(children), "minItems": least}
        if draw(st.booleans()):
            schema["maxItems"] = least + draw(st.integers(0, 3))
        if least <= 1 and draw(st.booleans()):
            schema["uniqueItems"] = True
        return schema
    return build


@st.composite
def exclusive_branches(draw, children):
    """oneOf branches no value can match two of: each of another type (objects closed, apart by name)."""
    kinds = draw(st.lists(st.sampled_from(["string", "integer", "boolean", "null", "object", "array"]),
                          min_size=2, max_size=4, unique=True))
    branches = []
    for kind in kinds:
        if kind == "string":
            branches.append(draw(strings()))
        elif kind == "integer":
            branches.append(draw(integers()))
        elif kind == "object":
            branches.append(draw(objects(children)(prefix="o_")))
        elif kind == "array":
            branches.append(draw(arrays(children)()))
        else:
            branches.append({"type": kind})
    return branches


@st.composite
def keyed_maps(draw, children):
    schema: dict = {"type": "object", "additionalProperties": draw(children)}
    if draw(st.booleans()):
        schema["propertyNames"] = {"pattern": draw(st.sampled_from([r"^[a-z]+$", r"^x-", r"^[A-Z]{2,4}$"]))}
    if draw(st.booleans()):
        schema["minProperties"] = draw(st.integers(0, 3))
    return schema


def open_object(schema):
    return {key: value for key, value in schema.items() if key != "additionalProperties"}


def composites(children):
    return st.one_of(
        keyed_maps(children),
        st.tuples(children, children).map(lambda pair: {"type": "array", "prefixItems": list(pair),
                                                        "items": False}),
        st.tuples(children, st.integers(0, 2)).map(lambda pair: {"type": "array", "items": pair[0],
                                                                "contains": pair[0], "minContains": pair[1]}),
        st.lists(st.sampled_from(["string", "integer", "boolean", "object", "null"]), min_size=2, max_size=2,
                 unique=True).map(lambda kinds: {"anyOf": [{"type": k} for k in kinds], "not": {"type": kinds[0]}}),
        st.tuples(strings(), st.sampled_from(["amber", "cedar"])).map(
            lambda pair: {**pair[0], "not": {"const": pair[1]}}),
        st.tuples(objects(children)(prefix="if_"), objects(children)(prefix="then_"),
                  objects(children)(prefix="else_")).map(
            lambda triple: dict(zip(["if", "then", "else"], map(open_object, triple), strict=True))),
        objects(children)(),
        arrays(children)(),
        st.tuples(objects(children)(prefix="a_"), objects(children)(prefix="b_")).map(
            lambda pair: {"allOf": [open_object(part) for part in pair]}),
        st.lists(children, min_size=1, max_size=3).map(lambda branches: {"anyOf": branches}),
        exclusive_branches(children).map(lambda branches: {"oneOf": branches}),
    )


schemas = st.recursive(leaves, composites, max_leaves=12)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(schema=schemas, seed=st.text(max_size=8), mode=st.sampled_from(["response", "request"]))
def test_random_schemas_give_valid_values(schema, seed, mode):
    value = generate(schema, seed, mode=mode)
    assert valid(schema, value)
    assert generate(schema, seed, mode=mode) == value


def test_a_nullable_made_any_of_is_rarely_null():
    schema = {"anyOf": [{"type": "object", "properties": {"a": {"type": "integer"}}}, {"type": "null"}]}
    assert all(isinstance(value, dict) for value in check(schema, seeds=range(20)))


def test_times_take_the_shape_the_pattern_asks():
    millis = {"type": "string", "format": "date-time", "pattern": r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$"}
    check(millis)
    check({"type": "string", "format": "time", "pattern": r"\+00:00$"})


@pytest.mark.parametrize("schema", [
    {"type": "string", "minLength": 10**9}, {"type": "array", "minItems": 10**9},
    {"type": "object", "minProperties": 10**9}, {"type": "string", "pattern": "^a{1000000000}$"},
    {"type": "array", "contains": {"type": "string"}, "minContains": 10**9},
])
def test_huge_sizes_are_refused_not_built(schema):
    with pytest.raises(GenerationError):
        generate(schema, "s")


def test_counts_written_as_floats():
    check({"type": "array", "minItems": 2.0, "maxItems": 2.0})
    check({"type": "string", "minLength": 3.0, "maxLength": 4.0})


PETS_30 = """
openapi: 3.0.3
info: {title: pets, version: "1"}
paths: {}
components:
  schemas:
    Pet:
      type: object
      required: [petType, name]
      properties:
        petType: {type: string}
        name: {type: string, nullable: true}
        id: {type: integer, format: int64, readOnly: true}
        password: {type: string, writeOnly: true}
        owner: {allOf: [{$ref: "#/components/schemas/Owner"}], nullable: true}
      discriminator:
        propertyName: petType
        mapping: {cat: "#/components/schemas/Cat", dog: "#/components/schemas/Dog"}
    Owner:
      type: object
      properties:
        pets: {type: array, items: {$ref: "#/components/schemas/Pet"}}
        score: {type: number, minimum: 0, maximum: 1, exclusiveMaximum: true}
    Cat:
      allOf:
        - $ref: "#/components/schemas/Pet"
        - {type: object, required: [hunts], properties: {hunts: {type: string, enum: [lazy, eager]}}}
    Dog:
      allOf:
        - $ref: "#/components/schemas/Pet"
        - {type: object, required: [packSize], properties: {packSize: {type: integer, minimum: 1}}}
    AnyPet:
      oneOf: [{$ref: "#/components/schemas/Cat"}, {$ref: "#/components/schemas/Dog"}]
      discriminator:
        propertyName: petType
        mapping: {cat: "#/components/schemas/Cat", dog: "#/components/schemas/Dog"}
"""


def test_schemas_as_the_loader_gives_them(tmp_path):
    """A 3.0 document through the spec loader: nullable (also around a $ref), boolean exclusiveMaximum,
    recursion, and a discriminator over allOf subtypes."""
    path = tmp_path / "pets.yaml"
    path.write_text(PETS_30)
    schemas = load_spec(path, "pets").schemas
    for schema in schemas.values():
        for mode in ("response", "request"):
            check(schema, seeds=range(5), mode=mode)
    for value in check(schemas["AnyPet"], seeds=range(10)):
        assert value["petType"] == ("cat" if "hunts" in value else "dog") and "password" not in value
        assert value["owner"] is not None and 0 <= value["owner"]["score"] < 1
