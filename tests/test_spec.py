"""The specs are valid OpenAPI 3.1, and the loader refuses what it cannot serve, naming the place."""

from __future__ import annotations

import pytest
from openapi_spec_validator import validate
from openapi_spec_validator.readers import read_from_filename

from mockserver import Settings, create_app
from mockserver.spec import SpecError, flask_rule, load_spec, specs_dir
from mockserver.vendors import discover
from mockserver.vendors.base import Vendor


@pytest.mark.parametrize("name", ["activepieces.yaml", "ampersand.yaml"])
def test_spec_is_valid_openapi(name):
    document, _ = read_from_filename(str(specs_dir() / name))
    validate(document)  # raises on any violation
    assert document["openapi"].startswith("3.1")


def test_every_vendor_has_a_handler_per_operation():
    for name, vendor in discover().items():
        spec = load_spec(specs_dir() / vendor.spec_file, name)
        assert set(spec.operations) == set(vendor.handlers)


def test_operation_ids_are_the_shared_vocabulary():
    ops = {name: set(load_spec(specs_dir() / v.spec_file, name).operations) for name, v in discover().items()}
    assert ops["activepieces"] == {"createProject", "listProjects", "getProject", "updateProject", "deleteProject"}
    assert ops["ampersand"] == {"createProject", "listProjects", "getProject", "updateProject"}


def test_mount_prefix_comes_from_the_servers_url():
    assert load_spec(specs_dir() / "activepieces.yaml", "activepieces").server_path == "/api"
    assert load_spec(specs_dir() / "ampersand.yaml", "ampersand").server_path == ""


def test_flask_rule():
    assert flask_rule("/v1/projects/{projectIdOrName}") == "/v1/projects/<projectIdOrName>"


def _write(tmp_path, text):
    path = tmp_path / "spec.yaml"
    path.write_text(text)
    return path


MINIMAL = """openapi: 3.1.0
info: {title: t, version: "1"}
paths:
  /things:
    get:
      %s
      responses:
        "200":
          description: ok
          content:
            application/json:
              schema: %s
"""


@pytest.mark.parametrize(
    "text, message",
    [
        ("openapi: 3.0.3\ninfo: {title: t, version: '1'}\npaths: {}\n", "not an OpenAPI 3.1 document"),
        ("{{{", "cannot parse the spec"),
        (MINIMAL % ("", "{type: object}"), "no operationId"),
        (MINIMAL % ("operationId: a", '{$ref: "#/components/schemas/Nope"}'), "unresolvable reference"),
        (MINIMAL % ("operationId: a", '{$ref: "other.yaml#/x"}'), "only local references"),
        (MINIMAL % ("operationId: a", "{type: 12}"), "invalid schema"),
        (MINIMAL % ("operationId: a", '{$ref: "#/components/schemas/A"}')
         + "components:\n  schemas:\n    A: {$ref: '#/components/schemas/B'}\n"
         + "    B: {$ref: '#/components/schemas/A'}\n",
         "circular reference"),
    ],
)
def test_loader_errors_name_the_file_and_reason(tmp_path, text, message):
    path = _write(tmp_path, text)
    with pytest.raises(SpecError) as error:
        load_spec(path, "test")
    assert str(path) in str(error.value)
    assert message in str(error.value)


def test_missing_spec_file(tmp_path):
    with pytest.raises(SpecError, match="cannot read the spec"):
        load_spec(tmp_path / "absent.yaml", "test")


def test_a_handler_missing_for_an_operation_stops_start_up():
    real = discover()["ampersand"]
    partial = Vendor(real.name, real.spec_file, {"createProject": real.handlers["createProject"]}, real.render_error)
    with pytest.raises(SpecError, match="handlers and spec disagree"):
        create_app(Settings(), vendors={"ampersand": partial})


def test_unknown_vendor_in_settings_stops_start_up():
    with pytest.raises(SpecError, match="unknown vendor"):
        create_app(Settings(vendors=("nope",)))


def test_one_vendor_only():
    client = create_app(Settings(vendors=("ampersand",))).test_client()
    assert client.get("/api/v1/projects", headers={"Authorization": "Bearer sk-x"}).status_code == 404
    assert client.get("/v1/projects", headers={"X-Api-Key": "k"}).status_code == 200
