"""A large synthetic OpenAPI document, for timing start-up on one: RESOURCES collections of five
operations each (list, create, get, update, delete; 600 operations by default), with what large
public documents have: `$ref`s to shared schemas, parameters and responses, `allOf` composition,
nested objects and arrays, enums, patterns, formats, `nullable`, and paged envelopes.

    python bench/bigspec.py OUT.yaml [--resources 120]     # writes the document (JSON if OUT ends .json)

`bench/run.py` writes one into a temporary folder for its "start-up with a 600-operation document"
rows. Deterministic: the same arguments give the same bytes."""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def document(resources: int = 120) -> dict:
    schemas: dict = {
        "Base": {"type": "object", "required": ["id", "createdAt"], "properties": {
            "id": {"type": "string", "format": "uuid", "readOnly": True},
            "createdAt": {"type": "string", "format": "date-time", "readOnly": True},
            "updatedAt": {"type": "string", "format": "date-time", "readOnly": True, "nullable": True}}},
        "Tag": {"type": "object", "required": ["key"], "properties": {
            "key": {"type": "string", "pattern": "^[a-z][a-z0-9-]{0,31}$"},
            "value": {"type": "string", "maxLength": 256, "nullable": True}}},
        "Address": {"type": "object", "properties": {
            "line1": {"type": "string", "maxLength": 200}, "city": {"type": "string"},
            "country": {"type": "string", "pattern": "^[A-Z]{2}$"}, "postcode": {"type": "string"}}},
        "Money": {"type": "object", "required": ["amount", "currency"], "properties": {
            "amount": {"type": "integer", "minimum": 0},
            "currency": {"type": "string", "enum": ["USD", "EUR", "GBP"]}}},
        "Page": {"type": "object", "required": ["total"], "properties": {
            "total": {"type": "integer", "minimum": 0}, "next_cursor": {"type": "string", "nullable": True}}},
        "Error": {"type": "object", "required": ["code", "message"], "properties": {
            "code": {"type": "string"}, "message": {"type": "string"},
            "details": {"type": "array", "items": {"type": "object", "properties": {
                "field": {"type": "string"}, "reason": {"type": "string"}}}}}},
    }
    paths: dict = {}
    for n in range(resources):
        name = f"Thing{n:03d}"
        plural = f"things{n:03d}"
        fields = {
            "name": {"type": "string", "minLength": 1, "maxLength": 64},
            "status": {"type": "string", "enum": ["active", "paused", "archived"], "default": "active"},
            "tags": {"type": "array", "maxItems": 20, "items": {"$ref": "#/components/schemas/Tag"}},
            "settings": {"type": "object", "properties": {
                "enabled": {"type": "boolean"}, "limit": {"type": "integer", "minimum": 1, "maximum": 1000 + n},
                "window": {"type": "object", "properties": {"start": {"type": "string", "format": "date-time"},
                                                           "end": {"type": "string", "format": "date-time"}}}}},
            "price": {"$ref": "#/components/schemas/Money"},
            "address": {"allOf": [{"$ref": "#/components/schemas/Address"}], "nullable": True},
            f"field{n}": {"type": "number", "minimum": 0},
        }
        if n:  # a reference to another collection's item, as documents link resources
            fields["parent"] = {"$ref": f"#/components/schemas/Thing{n - 1:03d}Summary"}
        schemas[f"{name}Summary"] = {"type": "object", "required": ["id"], "properties": {
            "id": {"type": "string", "format": "uuid"}, "name": {"type": "string"}}}
        schemas[f"New{name}"] = {"type": "object", "required": ["name"], "properties": fields}
        schemas[name] = {"allOf": [{"$ref": "#/components/schemas/Base"}, {"$ref": f"#/components/schemas/New{name}"}]}
        schemas[f"{name}List"] = {"allOf": [{"$ref": "#/components/schemas/Page"}, {
            "type": "object", "required": ["items"],
            "properties": {"items": {"type": "array", "items": {"$ref": f"#/components/schemas/{name}"}}}}]}
        item = {"$ref": f"#/components/schemas/{name}"}
        errors = {code: {"$ref": "#/components/responses/Error"} for code in ("400", "401", "404", "422")}
        id_param = {"name": f"{name[0].lower()}{name[1:]}Id", "in": "path", "required": True,
                    "schema": {"type": "string", "format": "uuid"}}
        status = {"name": "status", "in": "query", "schema": {"type": "string", "enum": ["active", "paused", "archived"]}}
        paths[f"/{plural}"] = {
            "get": {"operationId": f"list{name}s", "tags": [plural],
                    "parameters": [{"$ref": "#/components/parameters/limit"},
                                   {"$ref": "#/components/parameters/cursor"}, status],
                    "responses": {"200": _json("A page.", {"$ref": f"#/components/schemas/{name}List"}),
                                  **{k: v for k, v in errors.items() if k in ("400", "401")}}},
            "post": {"operationId": f"create{name}", "tags": [plural],
                     "requestBody": {"required": True, "content": {"application/json": {
                         "schema": {"$ref": f"#/components/schemas/New{name}"}}}},
                     "responses": {"201": _json("Created.", item), **errors}},
        }
        paths[f"/{plural}/{{{id_param['name']}}}"] = {
            "parameters": [id_param],
            "get": {"operationId": f"get{name}", "responses": {"200": _json("The item.", item), **errors}},
            "patch": {"operationId": f"update{name}",
                      "requestBody": {"required": True, "content": {"application/json": {
                          "schema": {"$ref": f"#/components/schemas/New{name}"}}}},
                      "responses": {"200": _json("The item.", item), **errors}},
            "delete": {"operationId": f"delete{name}", "responses": {"204": {"description": "Deleted."}, **errors}},
        }
    return {
        "openapi": "3.0.3",
        "info": {"title": "A large synthetic API", "version": "1.0"},
        "servers": [{"url": "https://api.example.com/v1"}],
        "security": [{"bearer": []}],
        "paths": paths,
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "parameters": {
                "limit": {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 100,
                                                                     "default": 20}},
                "cursor": {"name": "cursor", "in": "query", "schema": {"type": "string"}}},
            "responses": {"Error": _json("An error.", {"$ref": "#/components/schemas/Error"})},
            "schemas": schemas,
        },
    }


def _json(description: str, schema: dict) -> dict:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def write(path: Path, resources: int = 120) -> Path:
    """The document as YAML (JSON when the name ends in .json), as authors write large ones."""
    data = document(resources)
    if path.suffix == ".json":
        path.write_text(json.dumps(data, indent=1))
    else:
        import yaml

        path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", type=Path)
    parser.add_argument("--resources", type=int, default=120, help="collections, five operations each")
    args = parser.parse_args()
    write(args.out, args.resources)
    print(f"{args.out}: {5 * args.resources} operations")


if __name__ == "__main__":
    main()
