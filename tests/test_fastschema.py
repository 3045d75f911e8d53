"""The compiled schema check answers exactly as jsonschema does, for every schema of both specs.

`FastValidator` trusts a "valid" from the compiled check and skips jsonschema, so a check that
accepts what jsonschema refuses would let a bad request or a bad response through. These tests
compare the two on real bodies from the app, on every one-place mutation of them, and on
generated instances.
"""

from __future__ import annotations

import copy
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mockserver import Settings, create_app
from mockserver.fastschema import FastValidator, compile_check
from tests.helpers import AMP, AP, ORG

SAMPLES = [None, True, False, 0, 1, -1, 7.0, 1.5, 2**70, "", "a", "ab", "Ab-9", "ab\n", "-x-", "ALWAYS", "NEVER",
           "PLATFORM_MANAGED", "2025-01-01T00:00:01.000Z", "2025-01-01T00:00:01.000000Z", "2025-13-01T00:00:01.000Z",
           "2025-01-01T00:00:01Z", "2025-01-01T00:00:01.5Z", "2025-01-01T00:00:01.50Z", "2025-01-01T00:00:01Z\n",
           "7d3c3e1e-2f4b-4d4f-9a8b-2b7f1a0c9e11", "7d3c3e1e2f4b4d4f9a8b2b7f1a0c9e11", "A" * 21, "A" * 22, "x" * 129,
           "١٢", [], ["a"], [1], {}, {"value": False}]


def all_validators(app) -> list[tuple[str, FastValidator]]:
    found = []
    for mount in app.extensions["mockserver"].mounts.values():
        for op in mount.spec.operations.values():
            where = f"{op.vendor} {op.operation_id}"
            found += [(f"{where} body", op.body_validator)] if op.body_validator else []
            found += [(f"{where} {p.name}", p.validator) for p in op.parameters]
            found += [(f"{where} {code}", r.validator) for code, r in op.responses.items() if r.validator]
    return found


@pytest.fixture(scope="module")
def validators():
    """One validator per distinct schema (the error schemas repeat across operations)."""
    distinct = {}
    for name, validator in all_validators(create_app(Settings())):
        distinct.setdefault(json.dumps(validator.validator.schema, sort_keys=True), (name, validator))
    return list(distinct.values())


@pytest.fixture(scope="module")
def bodies():
    """Real request and response bodies of both vendors, successes and errors."""
    client = create_app(Settings()).test_client()
    out = [{"displayName": "Acme", "externalId": "acme-1"}, {"appName": "App", "name": "my-proj", "orgId": ORG},
           {"updateMask": ["name"], "project": {"name": "other"}}, {"displayName": "x", "plan": {"tasks": 3}}]
    created = client.post("/api/v1/projects", json={"displayName": "Acme", "externalId": "acme-1"}, headers=AP)
    project_id = created.get_json()["id"]
    for response in [
        created,
        client.get(f"/api/v1/projects/{project_id}", headers=AP),
        client.get("/api/v1/projects?limit=1", headers=AP),
        client.post("/api/v1/projects", json={"displayName": {}}, headers=AP),
        client.post("/api/v1/projects", json={"displayName": "d", "externalId": "acme-1"}, headers=AP),
        client.get("/api/v1/projects/nope", headers=AP),
        client.get("/api/v1/projects"),
        client.post("/v1/projects", json={"appName": "App", "name": "my-proj", "orgId": ORG}, headers=AMP),
        client.get("/v1/projects", headers=AMP),
        client.post("/v1/projects", json={"appName": "", "name": "-", "orgId": ORG}, headers=AMP),
        client.get("/v1/projects/nope", headers=AMP),
        client.post("/v1/projects", data="{", content_type="application/json", headers=AMP),
    ]:
        out.append(response.get_json())
    return out


def mutations(value):
    """The value itself, then every variant with one place replaced, removed or added to."""
    yield value
    if isinstance(value, dict):
        for key in list(value):
            for sample in SAMPLES:
                yield {**value, key: sample}
            yield {k: v for k, v in value.items() if k != key}
            for inner in mutations(value[key]):
                if inner is not value[key]:
                    yield {**value, key: inner}
        yield {**value, "unknownField": 1}
    elif isinstance(value, list) and value:
        for sample in SAMPLES:
            yield [sample, *value[1:]]
        for inner in mutations(value[0]):
            yield [inner, *value[1:]]
        yield []


def agree(validator: FastValidator, instance) -> None:
    assert validator.check is not None
    expected = validator.validator.is_valid(instance)
    assert validator.check(instance) is expected, f"{instance!r}: jsonschema says {expected}"


def test_every_schema_of_both_specs_is_compiled(validators):
    assert validators and [name for name, v in validators if v.check is None] == []


def test_agrees_with_jsonschema_on_real_bodies_and_their_mutations(validators, bodies):
    count = 0
    for body in bodies:
        for instance in mutations(copy.deepcopy(body)):
            for _, validator in validators:
                agree(validator, instance)
                count += 1
    assert count > 5_000


def test_agrees_on_primitives(validators):
    for _, validator in validators:
        for sample in SAMPLES:
            agree(validator, sample)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30)
    | st.sampled_from(SAMPLES),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3),
    max_leaves=8,
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(value=json_values)
def test_agrees_on_generated_json(validators, value):
    for _, validator in validators:
        agree(validator, value)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_agrees_on_generated_objects_shaped_like_each_schema(validators, data):
    """Objects with (some of) a schema's own property names, so the deep checks get exercised."""
    shaped = [v for _, v in validators if isinstance(v.validator.schema, dict) and v.validator.schema.get("properties")]
    validator = data.draw(st.sampled_from(shaped))
    names = sorted(validator.validator.schema["properties"])
    value = data.draw(st.dictionaries(st.sampled_from([*names, "extra"]), json_values, max_size=len(names) + 1))
    agree(validator, value)


@pytest.mark.parametrize(("schema", "instance", "valid"), [
    ({"type": "integer"}, 3.0, True),  # draft 6+: an integral float is an integer
    ({"type": "integer"}, True, False),
    ({"minimum": 1}, False, True),  # a bool is not a number, so minimum does not apply
    ({"pattern": "^a$"}, "a\n", False),  # ECMA-262: `$` is the end of the text (not re.search's)
    ({"pattern": "^a$"}, "a", True),
    ({"pattern": "^.$"}, "\r", False),  # ECMA: `.` matches no line terminator
    ({"pattern": "^\\d$"}, "\u0663", False),  # ECMA: `\d` is ASCII
    ({"pattern": "^\\s$"}, "\u00a0", True),  # ECMA's whitespace
    ({"pattern": "^[$]$"}, "$", True),  # in a class `$` is itself
    ({"pattern": "^a$"}, 5, True),
    ({"enum": ["a"]}, ["a"], False),
    ({"enum": [1]}, True, False),
    ({"enum": [1]}, 1.0, True),
    ({"const": None}, None, True),
    ({"minLength": 2}, "😀", False),  # code points, not bytes
    ({"format": "uuid"}, "not-a-uuid", False),
    ({"format": "date-time"}, "2025-01-01T00:00:01Z", True),
    ({"additionalProperties": {"type": "string"}}, {"a": 1}, False),
    ({"type": "array", "items": {"type": "string"}, "maxItems": 1}, ["a", "b"], False),
    ({"exclusiveMinimum": 0}, 0, False),
    ({"anyOf": [{"type": "string"}, {"type": "null"}]}, None, True),
    ({"anyOf": [{"type": "string"}, {"type": "null"}]}, 1, False),
    ({"allOf": [{"minLength": 1}, {"maxLength": 2}]}, "abc", False),
    ({"propertyNames": {"pattern": "^a"}}, {"ab": 1, "b": 2}, False),
    ({"propertyNames": {"pattern": "^a"}}, ["b"], True),
    ({"uniqueItems": True}, ["a", "b"], True),
    ({"uniqueItems": True}, ["a", "a"], False),
    ({"uniqueItems": False}, ["a", "a"], True),
    ({"contains": {"const": "a"}}, ["b", "a"], True),
    ({"contains": {"const": "a"}}, ["b"], False),
    ({"contains": {"const": "a"}}, "a", True),
    ({"if": {"required": ["a"]}, "then": {"required": ["b"]}}, {"a": 1}, False),
    ({"if": {"required": ["a"]}, "then": {"required": ["b"]}}, {"c": 1}, True),
    ({"if": {"required": ["a"]}, "else": {"required": ["b"]}}, {"c": 1}, False),
    ({"if": {"required": ["a"]}, "then": {"required": ["b"]}, "else": {"required": ["c"]}}, {"a": 1, "b": 2}, True),
    ({"then": {"required": ["b"]}}, {}, True),  # then without if: ignored
    ({"dependentRequired": {"credential": ["vendor"]}}, {"credential": "k"}, False),
    ({"dependentRequired": {"credential": ["vendor"]}}, {"credential": "k", "vendor": "v"}, True),
    ({"dependentRequired": {"credential": ["vendor"]}}, {"vendor": "v"}, True),
    ({"dependentRequired": {"a": []}}, {"a": 1}, True),
    ({"dependentRequired": {"a": ["b", "c"]}}, {"a": 1, "b": 2}, False),
    ({"dependentRequired": {"a": ["b"]}}, ["a"], True),
])
def test_edge_cases_match_jsonschema(schema, instance, valid):
    """Against jsonschema as the specs use it: 2020-12 with ECMA-262 patterns (`mockserver.ecma`)."""
    from mockserver.ecma import Validator

    check = compile_check(schema)
    assert check is not None
    assert Validator(schema, format_checker=Validator.FORMAT_CHECKER).is_valid(instance) is valid
    assert check(instance) is valid


@pytest.mark.parametrize("schema", [
    {"oneOf": [{"type": "string"}]}, {"properties": {"a": {"oneOf": []}}}, {"patternProperties": {"a": {}}},
    {"prefixItems": [{}]}, {"type": "string", "unevaluatedProperties": False}, {"items": False},
    {"contains": {}, "minContains": 2}, {"if": {"uniqueItems": True}, "then": False},
])
def test_other_keywords_fall_back_to_jsonschema(schema):
    assert compile_check(schema) is None


def test_unique_items_of_other_types_is_left_to_jsonschema():
    from jsonschema import Draft202012Validator

    schema = {"uniqueItems": True}
    validator = FastValidator(Draft202012Validator(schema), compile_check(schema))
    assert validator.check([1, True]) is False  # not answered here ...
    assert validator.is_valid([1, True]) and not validator.is_valid([1, 1.0])  # ... but by jsonschema


def test_a_fallback_validator_still_reports_errors():
    from jsonschema import Draft202012Validator

    schema = {"oneOf": [{"type": "string"}]}
    validator = FastValidator(Draft202012Validator(schema), compile_check(schema))
    assert [e.validator for e in validator.iter_errors(1)] == ["oneOf"]
    assert list(validator.iter_errors("ok")) == []
    assert validator.schema is schema  # everything else is the jsonschema validator's


def test_responses_are_byte_identical_without_the_compiled_checks():
    """The same requests against an app whose checks are switched off (jsonschema only)."""
    def exchange(app):
        client = app.test_client()
        out = []
        for method, path, body, headers in [
            ("POST", "/api/v1/projects", {"displayName": "Acme", "externalId": "e1"}, AP),
            ("POST", "/api/v1/projects", {"displayName": 5}, AP),
            ("POST", "/api/v1/projects", {"displayName": "A", "externalId": "e1"}, AP),
            ("GET", "/api/v1/projects?limit=0", None, AP),
            ("GET", "/api/v1/projects?limit=1", None, AP),
            ("POST", "/v1/projects", {"appName": "App", "name": "Proj-1", "orgId": ORG}, AMP),
            ("POST", "/v1/projects", {"appName": "", "name": "-x", "orgId": 3}, AMP),
            ("PATCH", "/v1/projects/proj-1", {"updateMask": ["name"], "project": {"name": "b"}}, AMP),
            ("GET", "/v1/projects/proj-1?includeEntitlements=maybe", None, AMP),
        ]:
            response = client.open(path, method=method, json=body, headers=headers)
            out.append((response.status, response.headers.get("Content-Type"), response.data))
        return out

    fast = exchange(create_app(Settings()))
    app = create_app(Settings())
    saved = [(validator, validator.check) for _, validator in all_validators(app)]  # shared: specs are cached
    try:
        for validator, _ in saved:
            validator.check = None
        assert exchange(app) == fast
    finally:
        for validator, check in saved:
            validator.check = check


# --- the compiled 2020-12 metaschema (start-up checks every spec schema against it) ----------------

META_SAMPLES = [None, True, 0, -1, 1.5, "", "(", "string", "#/x", [], ["a", "a"], ["string", "null"], [1], [{}],
                {}, {"type": "string"}, {"a": {"type": 3}}, {"a": ["b"]}]
META_KEYWORDS = ["type", "required", "properties", "additionalProperties", "items", "enum", "const", "pattern",
                 "format", "minLength", "maxLength", "minimum", "exclusiveMinimum", "minItems", "uniqueItems",
                 "allOf", "anyOf", "oneOf", "not", "$ref", "$defs", "$id", "$schema", "$anchor", "title", "default",
                 "deprecated", "propertyNames", "patternProperties", "dependentRequired", "prefixItems",
                 "multipleOf", "unevaluatedProperties", "if", "contentMediaType", "definitions", "dependencies",
                 "x-extension"]


def metaschema_cases(app_validators):
    """Every distinct (sub)schema of the specs as it is, and two small ones with each keyword set to
    each odd value (jsonschema's metaschema check costs ~1 ms a schema: this stays near 2,000)."""
    distinct = {}

    def walk(node):
        if isinstance(node, dict):
            distinct.setdefault(repr(node), node)
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    for _, validator in app_validators:
        walk(validator.validator.schema)
    yield from distinct.values()
    for node in ({}, {"type": "object", "required": ["a"], "properties": {"a": {"type": "string"}}}):
        for keyword in META_KEYWORDS:
            for sample in META_SAMPLES:
                yield {**node, keyword: sample}
                yield {"properties": {"a": {**node, keyword: sample}}}
    yield from META_SAMPLES


def test_the_compiled_metaschema_never_passes_what_jsonschema_refuses(validators):
    from jsonschema import Draft202012Validator

    from mockserver.fastschema import _meta

    meta, fast = Draft202012Validator(Draft202012Validator.META_SCHEMA,
                                      format_checker=Draft202012Validator.FORMAT_CHECKER), _meta()
    assert fast is not None
    count = disagreements = 0
    for schema in metaschema_cases(validators):
        expected = meta.is_valid(schema)
        answer = fast(schema)
        assert not (answer and not expected), f"passes what jsonschema refuses: {schema!r}"
        disagreements += answer != expected
        count += 1
    assert count > 2_000 and disagreements == 0


def test_every_spec_schema_passes_the_compiled_metaschema(validators):
    from mockserver.fastschema import _meta

    assert all(_meta()(validator.validator.schema) for _, validator in validators)


def test_a_bad_schema_still_gets_jsonschemas_error():
    from jsonschema.exceptions import SchemaError

    from mockserver.fastschema import check_schema

    with pytest.raises(SchemaError, match="12 is not valid under any of the given schemas"):
        check_schema({"type": 12})
    with pytest.raises(SchemaError, match="'\\(' is not a 'regex'"):
        check_schema({"properties": {"a": {"pattern": "("}}})
    check_schema({"type": "string", "pattern": "^a$"})


@pytest.mark.parametrize("name", ["uuid", "date-time"])
def test_a_format_said_valid_at_a_glance_is_what_its_checker_says(name):
    """The compiled check says a canonical UUID or UTC time is valid without running the checker;
    over many near-canonical strings, every answer is the checker's."""
    import random
    import uuid

    from jsonschema import Draft202012Validator

    from mockserver.fastschema import _format_check, format_check

    function, raises = Draft202012Validator.FORMAT_CHECKER.checkers[name]

    def plain(value):
        try:
            return bool(function(value))
        except raises:
            return False

    check, rng = _format_check(function, raises), random.Random(5)
    lazy = format_check(name, lambda: Draft202012Validator.FORMAT_CHECKER)  # as spec's checks run
    for _ in range(20_000):
        if name == "uuid":
            value = str(uuid.UUID(int=rng.getrandbits(128)))
            roll = rng.random()
            if roll < 0.3:
                value = value.upper()
            elif roll < 0.6:
                at = rng.randrange(len(value))
                value = value[:at] + rng.choice("0-gG{}: aF") + value[at + 1:]
            elif roll < 0.7:
                value = rng.choice(["{%s}", "urn:uuid:%s"]) % value
        else:
            value = (f"{rng.randint(0, 2100):04d}-{rng.randint(0, 13):02d}-{rng.randint(0, 32):02d}"
                     f"{rng.choice('TTt ')}{rng.randint(0, 25):02d}:{rng.randint(0, 61):02d}:{rng.randint(0, 61):02d}"
                     f"{rng.choice(['', '.1', '.123456', '.'])}{rng.choice(['Z', 'Z', 'z', '+01:00', ''])}")
        assert check(value) == plain(value) == lazy(value), value
    if name == "date-time":  # every day of every month, leap years and not
        for year in (1, 1900, 2000, 2023, 2024, 2100, 9999):
            for month in range(1, 13):
                for day in range(1, 33):
                    value = f"{year:04d}-{month:02d}-{day:02d}T23:59:59.999Z"
                    assert check(value) == plain(value) == lazy(value), value


def test_the_keywords_and_types_written_out_are_jsonschemas():
    """fastschema names 2020-12's validating keywords and type checks itself (no jsonschema import
    at start-up): they are jsonschema's, keyword for keyword and answer for answer."""
    import decimal
    import fractions
    from enum import IntEnum

    from jsonschema import Draft202012Validator

    from mockserver import generate
    from mockserver.fastschema import TYPES
    from mockserver.keywords import VALIDATING

    assert VALIDATING == frozenset(Draft202012Validator.VALIDATORS) and generate.VALIDATING is VALIDATING
    checker = Draft202012Validator.TYPE_CHECKER
    values = [None, True, False, 0, 1, -5, 2**70, 0.0, 1.0, 1.5, -2.0, float("inf"), float("nan"), 1e300,
              decimal.Decimal("1"), decimal.Decimal("1.5"), fractions.Fraction(1, 2), 1j, IntEnum("E", "A").A,
              "", "1", [], [1], (), {}, {"a": 1}, b"x", object()]
    assert set(TYPES) == {"array", "boolean", "integer", "null", "number", "object", "string"}
    for name, check in TYPES.items():
        for value in values:
            assert check(value) == checker.is_type(value, name), (name, value)


def test_spec_checks_the_canonical_formats_with_jsonschemas_own_checkers():
    """The compiled checks say a canonical UUID or UTC time valid without a checker: that holds only
    while the checker that would answer is jsonschema's own."""
    from mockserver.spec import format_checker

    for name in ("uuid", "date-time", "regex"):
        function, _ = format_checker().checkers[name]
        assert function.__module__ == "jsonschema._format", name


def test_the_metaschema_is_read_as_the_registry_holds_it():
    from jsonschema_specifications import REGISTRY

    from mockserver.fastschema import _META, _meta_documents

    documents = _meta_documents()
    uris = [_META, *(f"https://json-schema.org/draft/2020-12/meta/{name}" for name in
                     ("core", "applicator", "unevaluated", "validation", "meta-data", "format-annotation", "content"))]
    assert all(documents(uri) == REGISTRY.contents(uri) for uri in uris)


@pytest.mark.parametrize("pattern", ["^a$", "(", "[", "a{2,1}", "\\p{L}", "(?P<x>a)(?P=x)", "*", "", 5])
def test_a_pattern_said_valid_at_a_glance_is_what_the_regex_checker_says(pattern):
    from jsonschema import Draft202012Validator

    from mockserver.fastschema import format_check

    checker = Draft202012Validator.FORMAT_CHECKER
    assert format_check("regex", lambda: checker)(pattern) == checker.conforms(pattern, "regex")
