"""Facts of JSON Schema 2020-12 that the compiled checks and the generator share, written out so that
neither needs jsonschema imported at start-up (tests/test_fastschema.py holds them to jsonschema's)."""

from __future__ import annotations

# The keywords jsonschema's 2020-12 validator implements (`Draft202012Validator.VALIDATORS`). Keywords
# that only annotate (or that jsonschema does not implement) are ignored by the checks and the generator.
VALIDATING = frozenset({
    "$dynamicRef", "$ref", "additionalProperties", "allOf", "anyOf", "const", "contains", "dependentRequired",
    "dependentSchemas", "enum", "exclusiveMaximum", "exclusiveMinimum", "format", "if", "items", "maxItems",
    "maxLength", "maxProperties", "maximum", "minItems", "minLength", "minProperties", "minimum", "multipleOf",
    "not", "oneOf", "pattern", "patternProperties", "prefixItems", "properties", "propertyNames", "required",
    "type", "unevaluatedItems", "unevaluatedProperties", "uniqueItems",
})
