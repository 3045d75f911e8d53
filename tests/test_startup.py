"""What start-up leaves for later, and that it still works when later comes: URL builders compiled on
first use, validators built on first use (a bad schema still stops start-up)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from mockserver import Settings, create_app
from mockserver import spec as spec_module
from mockserver.spec import SpecError, load_spec

SHOP = Path(__file__).parent / "specs" / "shop.yaml"


def test_every_route_still_builds_its_url():
    app = create_app(Settings(specs=(("shop", SHOP),)))
    adapter = app.url_map.bind("localhost")
    rules = list(app.url_map.iter_rules())
    assert len(rules) > 20 and all(type(rule) is app.url_rule_class for rule in rules)
    for rule in rules:
        values = {name: f"v-{name}" for name in rule.arguments}
        method = sorted(set(rule.methods or {"GET"}) - {"HEAD", "OPTIONS"} or rule.methods)[0]
        expected = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", lambda m: f"v-{m.group(1)}", rule.rule)
        assert adapter.build(rule.endpoint, values, method=method) == expected, rule.rule
        assert adapter.build(rule.endpoint, {**values, "extra": "1"}, method=method) == expected + "?extra=1"


def test_validators_are_built_on_first_use_and_a_bad_schema_still_stops_the_load(tmp_path):
    spec = load_spec(SHOP, "shop")
    validator = spec.operations["createProduct"].body_validator
    assert validator.is_valid({"name": "Dune", "price": 1}) and not validator.is_valid({"name": 5})
    assert [e.validator for e in validator.iter_errors({"price": "x"})] in (["required", "type"], ["type", "required"])
    bad = tmp_path / "bad.yaml"
    bad.write_text(SHOP.read_text().replace("price: {type: number", "price: {type: 7", 1))
    assert bad.read_text() != SHOP.read_text()
    with pytest.raises(SpecError, match=r"invalid schema"):
        load_spec(bad, "bad")
    spec_module._load_spec.cache_clear()
