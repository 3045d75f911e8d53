"""An OpenAPI document mounted with no code (`--spec`): collections, keys and roles inferred from the
spec, state per tenant, generated values that honour the schemas, errors in the documented shapes."""

from __future__ import annotations

from pathlib import Path

import pytest
import requests

import mockserver
from mockserver import Settings, create_app
from mockserver.inference import infer
from mockserver.spec import SpecError, load_spec
from tests.helpers import cli_server

SPECS = Path(__file__).parent / "specs"
SHOP = SPECS / "shop.yaml"
KEY = {"X-Shop-Key": "k1"}
OTHER = {"X-Shop-Key": "k2"}


@pytest.fixture
def shop():
    app = create_app(Settings(specs=(("shop", SHOP),)))
    yield app.test_client()
    app.extensions["mockserver"].store.close()


def mounted(tmp_path: Path, name: str, document: str):
    """A test client of an app that mounts `document` (the YAML text of a small OpenAPI document) as NAME."""
    path = tmp_path / f"{name}.yaml"
    path.write_text(document)
    return create_app(Settings(specs=((name, path),))).test_client()


def create_product(client, headers=KEY, **fields):
    body = {"name": "Dune", "price": 9.5, "category": "books", **fields}
    response = client.post("/v2/products", json=body, headers=headers)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


# --- inference -------------------------------------------------------------------------------------

def test_collections_keys_and_roles_are_read_from_the_paths():
    roles = infer(load_spec(SHOP, "shop"))
    kinds = {op: (role.kind, role.collection.name if role.collection else None) for op, role in roles.items()}
    assert kinds == {
        "listProducts": ("list", "products"), "createProduct": ("create", "products"),
        "getProduct": ("read", "products"), "patchProduct": ("merge", "products"),
        "deleteProduct": ("delete", "products"),
        "listReviews": ("list", "reviews"), "addReview": ("create", "reviews"), "getReview": ("read", "reviews"),
        "getCustomer": ("read", "customers"), "putCustomer": ("replace", "customers"),
        "createCustomer": ("create", "customers"), "getStatus": ("other", None),
    }
    # {productId} names the property itself, {reviewId} names `id`, {username} names `username`
    assert roles["getProduct"].collection.key_property == "productId"
    assert roles["getReview"].collection.key_property == "id"
    assert roles["getCustomer"].collection.key_property == "username"
    assert roles["listReviews"].collection.scope == ("productId",)
    assert roles["listProducts"].filters == (("category", "category"),)
    assert (roles["listProducts"].paging.limit, roles["listProducts"].paging.cursor) == ("limit", "cursor")
    assert (roles["listReviews"].paging.offset, roles["listReviews"].paging.limit) == ("offset", "limit")


# --- the CRUD walk ------------------------------------------------------------------------------------

def test_create_get_list_update_delete(shop):
    product = create_product(shop)
    assert product["name"] == "Dune" and product["price"] == 9.5
    assert product["createdAt"] == "2025-01-01T00:00:01.000000Z"  # the tenant's clock, not a made-up time
    url = f"/v2/products/{product['productId']}"
    assert shop.get(url, headers=KEY).get_json() == product

    patched = shop.patch(url, json={"price": 3}, headers=KEY)
    assert patched.status_code == 200
    assert patched.get_json() == dict(product, price=3)
    assert shop.get(url, headers=KEY).get_json()["price"] == 3

    assert shop.delete(url, headers=KEY).status_code == 204
    gone = shop.get(url, headers=KEY)
    assert gone.status_code == 404
    assert gone.content_type == "application/problem+json"
    assert gone.get_json()["status"] == 404


def test_a_key_the_client_sends_is_kept_and_a_duplicate_is_the_documented_409(shop):
    created = shop.post("/v2/customers", json={"username": "ann", "email": "ann@example.com"}, headers=KEY)
    assert created.status_code == 201
    assert created.get_json() == {"username": "ann", "email": "ann@example.com", "tier": "free"}
    again = shop.post("/v2/customers", json={"username": "ann", "email": "other@example.com"}, headers=KEY)
    assert again.status_code == 409
    assert again.get_json()["title"] == "Conflict" and "ann" in again.get_json()["detail"]
    assert shop.get("/v2/customers/ann", headers=KEY).get_json()["email"] == "ann@example.com"


def test_put_replaces_the_item_and_keeps_the_key_of_the_path(shop):
    shop.post("/v2/customers", json={"username": "ann", "email": "ann@example.com", "tier": "gold"}, headers=KEY)
    replaced = shop.put("/v2/customers/ann", json={"username": "zed", "email": "z@example.com"}, headers=KEY)
    assert replaced.status_code == 200
    assert replaced.get_json()["username"] == "ann" and replaced.get_json()["email"] == "z@example.com"
    assert shop.put("/v2/customers/bob", json={"username": "bob", "email": "b@example.com"},
                    headers=KEY).status_code == 404


def test_generated_keys_follow_the_key_schema(shop):
    product = create_product(shop)
    assert len(product["productId"]) == 36 and product["productId"][14] == "4"  # a uuid4
    url = f"/v2/products/{product['productId']}/reviews"
    first = shop.post(url, json={"stars": 4}, headers=KEY).get_json()
    second = shop.post(url, json={"stars": 5}, headers=KEY).get_json()
    assert isinstance(first["id"], int) and second["id"] > first["id"]
    assert shop.get(f"{url}/{first['id']}", headers=KEY).get_json() == first


def test_nested_collections_belong_to_their_parent(shop):
    one, two = create_product(shop), create_product(shop, name="Emma")
    shop.post(f"/v2/products/{one['productId']}/reviews", json={"stars": 4}, headers=KEY)
    assert len(shop.get(f"/v2/products/{one['productId']}/reviews", headers=KEY).get_json()) == 1
    assert shop.get(f"/v2/products/{two['productId']}/reviews", headers=KEY).get_json() == []
    missing = shop.post("/v2/products/00000000-0000-4000-8000-000000000000/reviews", json={"stars": 4},
                        headers=KEY)
    assert missing.status_code == 404


def test_write_only_fields_are_stored_but_never_answered(shop):
    product = create_product(shop, secret="hunter2")
    assert "secret" not in product
    listed = shop.get("/v2/products", headers=KEY).get_json()["items"]
    assert "secret" not in listed[0]


def test_filters_and_cursor_paging_come_from_the_declared_parameters(shop):
    for name, category in (("A", "books"), ("B", "games"), ("C", "books"), ("D", "books")):
        create_product(shop, name=name, category=category)
    books = shop.get("/v2/products?category=books", headers=KEY).get_json()
    assert [p["name"] for p in books["items"]] == ["A", "C", "D"]
    first = shop.get("/v2/products?limit=3", headers=KEY).get_json()
    assert [p["name"] for p in first["items"]] == ["A", "B", "C"] and first["next"]
    rest = shop.get(f"/v2/products?limit=3&cursor={first['next']}", headers=KEY).get_json()
    assert [p["name"] for p in rest["items"]] == ["D"] and rest["next"] is None
    unknown = shop.get("/v2/products?limit=3&cursor=not-ours", headers=KEY)
    assert unknown.status_code == 200 and unknown.get_json() == first  # a cursor it did not give: the start


def test_offset_paging_of_a_bare_array(shop):
    product = create_product(shop)
    url = f"/v2/products/{product['productId']}/reviews"
    for stars in (1, 2, 3, 4):
        shop.post(url, json={"stars": stars}, headers=KEY)
    page = shop.get(f"{url}?offset=1&limit=2", headers=KEY).get_json()
    assert [review["stars"] for review in page] == [2, 3]


def test_tenants_are_isolated_by_credential(shop):
    product = create_product(shop)
    assert shop.get(f"/v2/products/{product['productId']}", headers=OTHER).status_code == 404
    assert shop.get("/v2/products", headers=OTHER).get_json()["items"] == []


def test_the_same_seed_and_requests_give_the_same_bytes_whatever_other_tenants_do():
    def run(interleave: bool) -> list[bytes]:
        app = create_app(Settings(specs=(("shop", SHOP),), seed=5))
        client = app.test_client()
        seen = []
        for n in range(3):
            if interleave:
                client.post("/v2/products", json={"name": "x", "price": 1}, headers=OTHER)
            created = client.post("/v2/products", json={"name": f"P{n}", "price": n}, headers=KEY)
            seen.append(created.data)
            reviews = f"/v2/products/{created.get_json()['productId']}/reviews"
            seen.append(client.post(reviews, json={"stars": 3}, headers=KEY).data)
        return seen

    assert run(False) == run(True)


# --- errors ---------------------------------------------------------------------------------------

def test_errors_use_the_documented_shape_and_status(shop):
    missing = shop.get("/v2/products")
    assert missing.status_code == 401 and missing.content_type == "application/problem+json"
    assert missing.get_json()["status"] == 401 and "X-Shop-Key" in missing.get_json()["detail"]
    invalid = shop.post("/v2/products", json={"name": ""}, headers=KEY)
    assert invalid.status_code == 422
    assert "price" in invalid.get_json()["detail"] and invalid.get_json()["title"] == "Unprocessable Entity"


def test_operations_outside_a_collection_answer_their_example(shop):
    status = shop.get("/v2/status")
    assert status.status_code == 200
    assert status.get_json() == {"ok": True, "version": "2.1.0"}
    assert shop.get("/v2/status", headers={"Prefer": "example=degraded"}).get_json()["ok"] is False
    unknown = shop.get("/v2/status", headers={"Prefer": "example=degarded"})
    assert unknown.status_code == 400 and "healthy, degraded" in unknown.get_data(as_text=True)


def test_documented_response_headers_are_sent(shop):
    response = shop.post("/v2/products", json={"name": "Dune", "price": 1}, headers=KEY)
    assert len(response.headers["X-Request-Id"]) == 36


# --- mounting ---------------------------------------------------------------------------------------

def test_health_lists_the_api_and_its_spec_is_served_with_this_server(shop):
    health = shop.get("/__mock/health").get_json()
    assert {"name": "shop", "baseUrl": "http://localhost/v2",
            "openapi": "http://localhost/__mock/openapi/shop.yaml"} in health["vendors"]
    served = shop.get("/__mock/openapi/shop.json").get_json()
    assert served["servers"] == [{"url": "http://localhost/v2"}]


def test_base_moves_an_api_and_overlapping_apis_stop_start_up(tmp_path):
    app = create_app(Settings(specs=(("shop", SHOP),), bases=(("shop", "/elsewhere"),)))
    assert app.test_client().get("/elsewhere/status").status_code == 200
    with pytest.raises(SpecError, match="'shop' and 'again' overlap"):
        create_app(Settings(specs=(("shop", SHOP), ("again", SHOP))))
    create_app(Settings(specs=(("shop", SHOP), ("again", SHOP)), bases=(("again", "/again"),)))
    with pytest.raises(SpecError, match="no API named 'nope'"):
        create_app(Settings(bases=(("nope", "/x"),)))


def test_the_cli_mounts_a_spec_and_api_key_refuses_made_up_credentials():
    with cli_server("--spec", f"shop={SHOP}", "--api-key", "shop=good") as (_, base):
        created = requests.post(f"{base}/v2/products", json={"name": "Dune", "price": 2},
                                headers={"X-Shop-Key": "good"}, timeout=5)
        assert created.status_code == 201
        refused = requests.get(f"{base}/v2/products", headers={"X-Shop-Key": "made-up"}, timeout=5)
        assert refused.status_code == 401
        health = requests.get(f"{base}/__mock/health", timeout=5).json()
        assert "shop" in [api["name"] for api in health["vendors"]]


@pytest.mark.parametrize("option, name", [
    ("specs/petstore-openapi.yaml", "petstore"), ("stripe.openapi.v3.json", "stripe"), ("shop.yaml", "shop"),
    ("openapi.yaml", "openapi"), ("mine=specs/a.yaml", "mine"), ("pet store.yaml", "pet-store")])
def test_an_api_is_named_by_its_file_unless_named(option, name):
    from mockserver.settings import spec_option

    assert spec_option(option)[0] == name


def test_run_takes_specs_and_url_names_each_api():
    with mockserver.run(specs=[f"shop={SHOP}"]) as server:
        assert server.url("shop") == server.url + "/v2" == server.shop_url
        assert requests.get(server.url("shop") + "/status", timeout=5).json()["version"] == "2.1.0"


def test_x_mock_extensions_override_what_the_paths_imply(tmp_path):
    text = SHOP.read_text()
    text = text.replace("  /status:\n    get:\n      operationId: getStatus\n",
                        "  /status:\n    get:\n      operationId: getStatus\n      x-mock-role: other\n")
    text = text.replace("  /customers:\n    post:\n", "  /customers:\n    x-mock-collection: people\n    post:\n")
    text = text.replace("  /products:\n    get:\n      operationId: listProducts\n",
                        "  /products:\n    x-mock-key: name\n    get:\n      operationId: listProducts\n")
    path = tmp_path / "shop.yaml"
    path.write_text(text)
    roles = infer(load_spec(path, "shop"))
    assert roles["createCustomer"].collection.name == "people"
    assert roles["getProduct"].collection.key_property == "name"
    path.write_text(text.replace("x-mock-role: other", "x-mock-role: destroy"))
    with pytest.raises(SpecError, match="x-mock-role: 'destroy' is not one of"):
        infer(load_spec(path, "shop"))


def test_state_exports_and_imports_every_collection_by_name(shop):
    product = create_product(shop, secret="hunter2")
    shop.post("/v2/customers", json={"username": "ann", "email": "ann@example.com"}, headers=KEY)
    (tenant,) = shop.get("/__mock/state?vendor=shop").get_json()["tenants"]
    assert tenant["products"] == [product] and tenant["customers"][0]["username"] == "ann"
    assert tenant["reviews"] == []  # nested: groups by parent, none yet

    document = {"tenants": [{"vendor": "shop", "credential": "k9", "customers": [
        {"username": "zoe", "email": "zoe@example.com"}], "products": [{"name": "Imported", "price": 1}]}]}
    assert shop.put("/__mock/state", json=document).status_code == 200
    assert shop.get("/v2/customers/zoe", headers={"X-Shop-Key": "k9"}).get_json()["tier"] == "free"
    imported = shop.get("/v2/products", headers={"X-Shop-Key": "k9"}).get_json()["items"]
    assert imported[0]["name"] == "Imported" and len(imported[0]["productId"]) == 36

    bad = {"tenants": [{"vendor": "shop", "credential": "k9", "customers": [{"username": "zoe"}]}]}
    refused = shop.put("/__mock/state", json=bad)
    assert refused.status_code == 400 and "customers[0].email" in refused.get_data(as_text=True)
    unknown = {"tenants": [{"vendor": "shop", "credential": "k9", "pets": []}]}
    assert "no collection 'pets'" in shop.put("/__mock/state", json=unknown).get_data(as_text=True)

    exported = shop.get("/__mock/state?vendor=shop").get_json()
    assert shop.put("/__mock/state", json=exported).status_code == 200
    again = shop.get("/__mock/state?vendor=shop").get_json()
    for before, after in zip(exported["tenants"], again["tenants"], strict=True):  # the objects, as they were
        assert {k: v for k, v in before.items() if k != "sequence"} == {k: v for k, v in after.items()
                                                                         if k != "sequence"}
    # a generated key was made from its sequence number: the import recognises it, so the next create
    # of that tenant makes a new key, not the imported one again
    nxt = shop.post("/v2/products", json={"name": "Next", "price": 1}, headers={"X-Shop-Key": "k9"})
    assert nxt.status_code == 201 and nxt.get_json()["productId"] != imported[0]["productId"]


def test_int32_and_int64_formats_bound_integers_and_big_ids_are_read_as_integers(tmp_path):
    client = mounted(tmp_path, "counters", """
openapi: 3.0.3
info: {title: Counters, version: "1"}
servers: [{url: /c}]
paths:
  /counters:
    post:
      operationId: createCounter
      requestBody:
        required: true
        content:
          application/json:
            schema:
              type: object
              required: [value]
              properties:
                value: {type: integer, format: int32}
      responses:
        "201":
          description: Created.
          content:
            application/json:
              schema:
                type: object
                properties:
                  id: {type: integer, format: int64}
                  value: {type: integer, format: int32}
        "400": {description: Invalid.}
  /counters/{id}:
    get:
      operationId: getCounter
      parameters:
        - {name: id, in: path, required: true, schema: {type: integer, format: int64}}
      responses:
        "200":
          description: The counter.
          content:
            application/json:
              schema:
                type: object
                properties:
                  id: {type: integer, format: int64}
                  value: {type: integer, format: int32}
        "400": {description: Invalid.}
        "404": {description: Not found.}
""")
    assert client.post("/c/counters", json={"value": 2**31 - 1}).status_code == 201
    assert client.post("/c/counters", json={"value": 2**31}).status_code == 400  # past int32
    assert client.get(f"/c/counters/{2**63 - 1}").status_code == 404  # an int64, read as one: no such counter
    assert client.get(f"/c/counters/{2**63}").status_code == 400  # past int64


def test_a_document_with_relative_refs_is_served_whole(tmp_path):
    app = create_app(Settings(specs=(("shop3", SPECS / "shop-3.0.yaml"),)))
    served = app.test_client().get("/__mock/openapi/shop3.json").get_json()
    text = repr(served)
    assert "$ref': './" not in text and ".yaml#" not in text and ".json#" not in text  # nothing left outside
    assert served["paths"] and served["servers"][0]["url"].startswith("http://localhost")


def test_x_mock_unique_and_normalize_are_rules_of_the_document(tmp_path):
    text = SHOP.read_text().replace(
        "  /customers:\n    post:\n",
        "  /customers:\n    x-mock-unique: [email]\n    x-mock-normalize: {email: lowercase}\n    post:\n").replace(
        "  /products:\n    get:\n",
        "  /products:\n    x-mock-unique: [[category, name]]\n    get:\n")
    path = tmp_path / "shop.yaml"
    path.write_text(text)
    client = create_app(Settings(specs=(("shop", path),))).test_client()
    ann = client.post("/v2/customers", json={"username": "ann", "email": "Ann@Example.com"}, headers=KEY)
    assert ann.status_code == 201 and ann.get_json()["email"] == "ann@example.com"  # stored lowercased
    clash = client.post("/v2/customers", json={"username": "bob", "email": "ANN@example.com"}, headers=KEY)
    assert clash.status_code == 409 and "email 'ann@example.com' already exists" in clash.get_json()["detail"]
    assert client.post("/v2/customers", json={"username": "bob", "email": "ANN@example.com"},
                       headers=OTHER).status_code == 201  # unique within a tenant
    bob = client.post("/v2/customers", json={"username": "bob", "email": "bob@example.com"}, headers=KEY)
    taken = client.put("/v2/customers/bob", json={"username": "bob", "email": "ann@EXAMPLE.com"}, headers=KEY)
    assert taken.status_code == 422  # a change may not take a value either (putCustomer documents no 409)
    assert "already exists" in taken.get_json()["detail"]
    assert bob.status_code == 201

    first = client.post("/v2/products", json={"name": "Dune", "price": 1, "category": "books"}, headers=KEY)
    assert first.status_code == 201
    assert client.post("/v2/products", json={"name": "Dune", "price": 2, "category": "games"},
                       headers=KEY).status_code == 201  # the pair is unique, not each value
    again = client.post("/v2/products", json={"name": "Dune", "price": 3, "category": "books"}, headers=KEY)
    assert again.status_code == 409 and "category 'books', name 'Dune'" in again.get_json()["detail"]
    client.delete(f"/v2/products/{first.get_json()['productId']}", headers=KEY)
    assert client.post("/v2/products", json={"name": "Dune", "price": 3, "category": "books"},
                       headers=KEY).status_code == 201  # free again after a delete

    path.write_text(text.replace("x-mock-unique: [email]", "x-mock-unique: [mail]"))
    with pytest.raises(SpecError, match="x-mock-unique: 'mail' names no property"):
        create_app(Settings(specs=(("shop", path),)))


def test_a_schema_no_value_satisfies_is_a_clear_answer_not_a_crash(tmp_path):
    spec = tmp_path / "odd.yaml"
    spec.write_text("""
openapi: 3.1.0
info: {title: Odd, version: "1"}
servers: [{url: /odd}]
paths:
  /things:
    post:
      operationId: createThing
      requestBody:
        required: true
        content:
          application/json:
            schema: {type: object, properties: {name: {type: string}}}
      responses:
        "201":
          description: Created.
          content:
            application/json:
              schema:
                type: object
                required: [id, never]
                properties:
                  id: {type: integer}
                  never: {type: integer, minimum: 5, maximum: 1}
  /things/{id}:
    get:
      operationId: getThing
      parameters: [{name: id, in: path, required: true, schema: {type: integer}}]
      responses:
        "200":
          description: The thing.
          content:
            application/json:
              schema: {type: object, properties: {id: {type: integer}}}
        "404": {description: Not found.}
""")
    app = create_app(Settings(specs=(("odd", spec),)))
    client = app.test_client()
    answer = client.post("/odd/things", json={"name": "x"})
    # no value meets `never`: the documented status with the best the mock can make, never a 500,
    # and the journal says which field of the document allows no valid answer
    assert answer.status_code == 201 and answer.get_json()["name"] == "x"
    (entry,) = client.get("/__mock/requests?vendor=odd").get_json()["requests"]
    assert any("never" in warning for warning in entry["warnings"])
    assert client.get("/odd/things/1").status_code == 200


def test_operations_that_document_no_success_or_no_answer_at_all(tmp_path):
    client = mounted(tmp_path, "edge", """
openapi: 3.1.0
info: {title: Edge, version: "1"}
servers: [{url: /e}]
paths:
  /gone:
    get:
      operationId: gone
      responses:
        "410": {description: Gone., content: {application/json: {schema: {type: object, required: [reason],
                properties: {reason: {type: string}}}}}}
  /moved:
    get:
      operationId: moved
      responses:
        "301": {description: Moved., headers: {Location: {schema: {type: string, format: uri}}}}
  /silent:
    get:
      operationId: silent
""")
    gone = client.get("/e/gone")
    assert gone.status_code == 410 and isinstance(gone.get_json()["reason"], str)  # its only documented answer
    moved = client.get("/e/moved")
    assert moved.status_code == 301 and moved.headers["Location"]
    assert client.get("/e/silent").status_code == 200  # documents no answer: a 200, nothing to check


def test_a_header_named_with_an_underscore_reaches_the_mock_over_http(tmp_path):
    spec = tmp_path / "keys.yaml"
    spec.write_text(SHOP.read_text().replace("apiKey: {type: apiKey, in: header, name: X-Shop-Key}",
                                             "apiKey: {type: apiKey, in: header, name: api_key}"))
    with mockserver.run(specs=[("keys", spec)], api_keys=[("keys", "good")]) as server:
        base = server.url("keys")
        assert requests.get(base + "/products", headers={"api_key": "good"}, timeout=5).status_code == 200
        assert requests.get(base + "/products", headers={"api_key": "bad"}, timeout=5).status_code == 401
        # `api-key` beside `api_key`: one WSGI variable; the underscore one is dropped, never merged
        both = requests.get(base + "/products", headers={"api-key": "bad", "api_key": "good"}, timeout=5)
        assert both.status_code == 401


def test_faults_and_prefer_take_any_error_a_default_response_documents(tmp_path):
    client = mounted(tmp_path, "pets", """
openapi: 3.0.3
info: {title: Pets, version: "1"}
servers: [{url: /pets-api}]
paths:
  /pets:
    post:
      operationId: addPet
      requestBody:
        required: true
        content:
          application/json:
            schema: {type: object, required: [name], properties: {id: {type: integer}, name: {type: string}}}
      responses:
        "200":
          description: Added.
          content:
            application/json:
              schema: {type: object, properties: {id: {type: integer}, name: {type: string}}}
        default:
          description: Unexpected error.
          content:
            application/json:
              schema:
                type: object
                required: [code, message]
                properties: {code: {type: string}, message: {type: string}}
""")
    rule = client.post("/__mock/faults", json={"vendor": "pets", "operationId": "addPet", "status": 503, "times": 1})
    assert rule.status_code == 201
    injected = client.post("/pets-api/pets", json={"name": "Rex"})
    assert injected.status_code == 503 and injected.get_json() == {"code": "503", "message": "injected 503"}
    assert client.post("/pets-api/pets", json={"name": "Rex"}).status_code == 200
    preferred = client.post("/pets-api/pets", json={"name": "Rex"}, headers={"Prefer": "code=429"})
    assert preferred.status_code == 429 and preferred.get_json()["code"] == "429"
    assert client.post("/pets-api/pets", json={"name": "Rex"}, headers={"Prefer": "code=200"}).status_code == 400


def test_an_empty_form_is_a_form_without_fields(tmp_path):
    client = mounted(tmp_path, "search", """
openapi: 3.0.3
info: {title: Search, version: "1"}
servers: [{url: /s}]
paths:
  /records:
    post:
      operationId: search
      requestBody:
        content:
          application/x-www-form-urlencoded:
            schema: {type: object, required: [criteria], properties: {criteria: {type: string}}}
      responses:
        "200":
          description: Found.
          content:
            application/json:
              schema: {type: array, items: {type: object}}
        "400": {description: Bad input.}
""")
    form = "application/x-www-form-urlencoded"
    assert client.post("/s/records", data="", content_type=form).status_code == 400  # `criteria` is missing
    assert client.post("/s/records", data="criteria=x", content_type=form).status_code == 200
    assert client.post("/s/records").status_code == 200  # no body at all: the body is optional


def test_write_only_properties_are_never_answered_at_any_depth():
    from mockserver.answers import without_write_only

    schema = {"type": "object", "properties": {
        "name": {"type": "string"}, "secret": {"type": "string", "writeOnly": True},
        "source": {"oneOf": [{"type": "object", "properties": {"cvc": {"type": "string", "writeOnly": True},
                                                                "last4": {"type": "string"}}}]},
        "cards": {"type": "array", "items": {"type": "object", "properties": {"pin": {"writeOnly": True}}}}}}
    value = {"name": "a", "secret": "s", "source": {"cvc": "123", "last4": "4242"}, "cards": [{"pin": 1, "x": 2}]}
    assert without_write_only(schema, value) == {"name": "a", "source": {"last4": "4242"}, "cards": [{"x": 2}]}


def test_a_generated_answer_picks_a_shape_without_write_only_fields(tmp_path):
    client = mounted(tmp_path, "pay", """
openapi: 3.1.0
info: {title: Pay, version: "1"}
servers: [{url: /pay}]
paths:
  /payments/{id}/source:
    get:
      operationId: getSource
      parameters: [{name: id, in: path, required: true, schema: {type: string}}]
      responses:
        "200":
          description: The source.
          content:
            application/json:
              schema:
                oneOf:
                  - {type: object, required: [object, cvc], properties: {object: {const: card},
                     cvc: {type: string, writeOnly: true}}, additionalProperties: false}
                  - {type: object, required: [object, iban], properties: {object: {const: bank},
                     iban: {type: string}}, additionalProperties: false}
""")
    for n in range(6):  # whatever the draw, a card would have to show its cvc: the answer is a bank
        answer = client.get(f"/pay/payments/{n}/source")
        assert answer.status_code == 200 and "cvc" not in answer.get_json()


def test_times_come_from_the_clock_in_the_shape_a_pattern_asks_for():
    from mockserver.items import clock_text

    micros = 1_735_689_601_500_000  # 2025-01-01T00:00:01.5Z
    assert clock_text({"type": "string", "format": "date-time"}, micros) == "2025-01-01T00:00:01.500000Z"
    millis = {"type": "string", "format": "date-time", "pattern": r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$"}
    assert clock_text(millis, micros) == "2025-01-01T00:00:01.500Z"  # as JavaScript prints it
    go = {"type": "string", "format": "date-time", "pattern": r"^[^.]+(\.\d*[1-9])?Z$"}
    assert clock_text(go, micros) == "2025-01-01T00:00:01.5Z"  # as Go's RFC3339Nano prints it
    assert clock_text({"type": "string", "pattern": "^never$"}, micros) is None


def test_fixtures_fill_an_added_api_as_a_create_would(tmp_path):
    todo = Path(__file__).parent.parent / "examples" / "todo.yaml"
    fixtures = tmp_path / "fixtures.yaml"
    fixtures.write_text("tenants:\n  - vendor: todo\n    credential: tok-1\n    todos: [{title: Seeded}]\n")
    client = create_app(Settings(specs=(("todo", todo),), fixtures=(fixtures,))).test_client()
    (seeded,) = client.get("/api/todos", headers={"Authorization": "Bearer tok-1"}).get_json()
    assert seeded["title"] == "Seeded" and seeded["id"] == 1
    assert seeded["done"] is False  # NewTodo's default, as a create gives it (Todo itself declares none)


def test_a_new_vendor_can_be_a_yaml_file_and_nothing_else(tmp_path, monkeypatch):
    import shutil

    from mockserver import assembly
    from mockserver.spec import specs_dir

    for name in ("activepieces.yaml", "ampersand.yaml", "admin.yaml"):
        shutil.copy(specs_dir() / name, tmp_path / name)
    shutil.copy(Path(__file__).parent.parent / "examples" / "todo.yaml", tmp_path / "todo.yaml")
    monkeypatch.setattr(assembly, "specs_dir", lambda: tmp_path)  # where the bundled vendors are found
    client = create_app(Settings()).test_client()
    names = [api["name"] for api in client.get("/__mock/health").get_json()["vendors"]]
    assert names == ["activepieces", "ampersand", "todo"]
    created = client.post("/api/todos", json={"title": "x"}, headers={"Authorization": "Bearer t"})
    assert created.status_code == 201 and created.get_json()["id"] == 1


def test_an_update_moves_updated_at_to_the_time_of_the_write(tmp_path):
    spec = tmp_path / "notes.yaml"
    spec.write_text(SHOP.read_text().replace(
        "        createdAt: {type: string, format: date-time, readOnly: true}\n",
        "        createdAt: {type: string, format: date-time, readOnly: true}\n"
        "        updatedAt: {type: string, format: date-time, readOnly: true}\n", 1))
    client = create_app(Settings(specs=(("shop", spec),))).test_client()
    product = create_product(client)
    assert product["createdAt"] == product["updatedAt"] == "2025-01-01T00:00:01.000000Z"
    changed = client.patch(f"/v2/products/{product['productId']}", json={"price": 2}, headers=KEY).get_json()
    assert changed["createdAt"] == "2025-01-01T00:00:01.000000Z"
    assert changed["updatedAt"] == "2025-01-01T00:00:02.000000Z"  # the tenant's clock, one write later


def test_a_replace_by_body_without_the_key_names_no_item(tmp_path):
    client = mounted(tmp_path, "pets", """
openapi: 3.0.3
info: {title: Pets, version: "1"}
servers: [{url: /p}]
paths:
  /pet:
    put:
      operationId: updatePet
      requestBody:
        required: true
        content:
          application/json:
            schema: {$ref: "#/components/schemas/Pet"}
      responses:
        "200": {description: Updated., content: {application/json: {schema: {$ref: "#/components/schemas/Pet"}}}}
        "404": {description: Pet not found.}
    post:
      operationId: addPet
      requestBody:
        required: true
        content:
          application/json:
            schema: {$ref: "#/components/schemas/Pet"}
      responses:
        "200": {description: Added., content: {application/json: {schema: {$ref: "#/components/schemas/Pet"}}}}
  /pet/{petId}:
    get:
      operationId: getPet
      parameters: [{name: petId, in: path, required: true, schema: {type: integer}}]
      responses:
        "200": {description: The pet., content: {application/json: {schema: {$ref: "#/components/schemas/Pet"}}}}
        "404": {description: Pet not found.}
components:
  schemas:
    Pet:
      type: object
      required: [name]
      properties: {id: {type: integer}, name: {type: string}}
""")
    assert client.put("/p/pet", json={"name": "Rex"}).status_code == 404  # valid, but names no pet
    pet = client.post("/p/pet", json={"name": "Rex"}).get_json()
    renamed = client.put("/p/pet", json={"id": pet["id"], "name": "Max"})
    assert renamed.status_code == 200 and client.get(f"/p/pet/{pet['id']}").get_json()["name"] == "Max"


def test_an_empty_xml_body_is_malformed_not_absent(tmp_path):
    client = mounted(tmp_path, "orders", """
openapi: 3.0.3
info: {title: Orders, version: "1"}
servers: [{url: /o}]
paths:
  /orders:
    post:
      operationId: placeOrder
      requestBody:
        content:
          application/xml:
            schema: {type: object, properties: {qty: {type: integer}}, xml: {name: order}}
      responses:
        "200": {description: Placed., content: {application/json: {schema: {type: object}}}}
        "400": {description: Invalid.}
""")
    assert client.post("/o/orders", data="", content_type="application/xml").status_code == 400
    order = client.post("/o/orders", data="<order><qty>2</qty></order>", content_type="application/xml")
    assert order.status_code == 200
    assert client.post("/o/orders").status_code == 200  # no body at all: it is optional


def test_an_api_named_with_a_dot_has_its_spec_served(tmp_path):
    client = create_app(Settings(specs=(("shop.v2", SHOP),))).test_client()
    served = client.get("/__mock/openapi/shop.v2.yaml")
    assert served.status_code == 200 and "openapi:" in served.get_data(as_text=True)
    assert client.get("/__mock/openapi/../shop.v2.yaml").status_code == 404


def test_a_required_authorization_header_parameter_is_a_credential(tmp_path):
    client = mounted(tmp_path, "auth", """
openapi: 3.0.3
info: {title: Auth, version: "1"}
servers: [{url: /a}]
paths:
  /me:
    get:
      operationId: me
      parameters: [{name: Authorization, in: header, required: true, schema: {type: string}}]
      responses:
        "200": {description: Me., content: {application/json: {schema: {type: object}}}}
        "401": {description: Who are you?}
""")
    assert client.get("/a/me").status_code == 401  # missing: not authenticated, not a 400
    assert client.get("/a/me", headers={"Authorization": "Bearer x"}).status_code == 200


def test_a_discriminator_picks_the_branch_a_value_is_checked_against(tmp_path):
    client = mounted(tmp_path, "pets", """
openapi: 3.0.3
info: {title: Pets, version: "1"}
servers: [{url: /d}]
paths:
  /pets:
    post:
      operationId: addPet
      requestBody:
        required: true
        content:
          application/json:
            schema:
              oneOf: [{$ref: "#/components/schemas/Cat"}, {$ref: "#/components/schemas/Dog"}]
              discriminator: {propertyName: kind, mapping: {kitty: "#/components/schemas/Cat"}}
      responses:
        "200":
          description: Added.
          content:
            application/json:
              schema:
                oneOf: [{$ref: "#/components/schemas/Cat"}, {$ref: "#/components/schemas/Dog"}]
                discriminator: {propertyName: kind, mapping: {kitty: "#/components/schemas/Cat"}}
        "400": {description: Invalid.}
components:
  schemas:
    Cat:
      type: object
      required: [kind]
      properties: {kind: {type: string}, lives: {type: integer}}
    Dog:
      type: object
      required: [kind]
      properties: {kind: {type: string}, good: {type: boolean}}
""")
    # both open branches accept these, so a plain oneOf would refuse them: the discriminator decides
    assert client.post("/d/pets", json={"kind": "kitty", "lives": 9}).status_code == 200
    assert client.post("/d/pets", json={"kind": "Dog", "good": True}).status_code == 200  # the schema's name
    assert client.post("/d/pets", json={"kind": "kitty", "lives": "nine"}).status_code == 400  # checked as a Cat
    assert client.post("/d/pets", json={"kind": "Cow"}).status_code == 400  # names no branch
    (entry,) = client.get("/__mock/requests?vendor=pets&limit=1").get_json()["requests"]
    assert "kind" in entry["error"] and "kitty" in entry["error"]


def test_a_value_without_the_discriminator_property_is_checked_by_the_one_of(tmp_path):
    client = mounted(tmp_path, "items", """
openapi: 3.1.0
info: {title: Items, version: "1"}
servers: [{url: /i}]
paths:
  /items:
    post:
      operationId: addItems
      requestBody:
        required: true
        content:
          application/json:
            schema:
              type: array
              items:
                oneOf: [{$ref: "#/components/schemas/Message"}, {$ref: "#/components/schemas/Reference"}]
                discriminator: {propertyName: type}
      responses:
        "200": {description: Added.}
        "400": {description: Invalid.}
components:
  schemas:
    Message:
      type: object
      required: [type, text]
      properties: {type: {type: string}, text: {type: string}}
    Reference:  # OpenAI's item reference: its `type` may be left out
      type: object
      required: [id]
      properties: {type: {type: string}, id: {type: string}}
""")
    assert client.post("/i/items", json=[{"id": "msg_1"}]).status_code == 200  # only a Reference
    assert client.post("/i/items", json=[{"type": "Message", "text": "hi"}]).status_code == 200
    assert client.post("/i/items", json=[{"text": "hi"}]).status_code == 400  # neither, without `type`
    assert client.post("/i/items", json=[{"id": "msg_1", "type": "Message"}]).status_code == 400  # named: a Message
    assert client.post("/i/items", json=[{"type": "Note", "id": "x"}]).status_code == 400  # names no branch


def test_a_read_only_property_is_not_required_of_a_request(tmp_path):
    client = mounted(tmp_path, "books", """
openapi: 3.0.3
info: {title: Books, version: "1"}
servers: [{url: /b}]
paths:
  /books:
    post:
      operationId: addBook
      requestBody:
        required: true
        content:
          application/json:
            schema: {$ref: "#/components/schemas/Book"}
      responses:
        "201":
          description: Added.
          content:
            application/json:
              schema: {$ref: "#/components/schemas/Book"}
        "400": {description: Invalid.}
  /books/{id}:
    get:
      operationId: getBook
      parameters: [{name: id, in: path, required: true, schema: {type: string}}]
      responses:
        "200":
          description: The book.
          content:
            application/json:
              schema: {$ref: "#/components/schemas/Book"}
        "404": {description: Unknown.}
    put:
      operationId: replaceBook
      parameters: [{name: id, in: path, required: true, schema: {type: string}}]
      requestBody:
        required: true
        content:
          application/json:
            schema:  # Apideck's style: the item, its id required where it is read-only
              allOf: [{$ref: "#/components/schemas/Book"}, {required: [id, title]}]
      responses:
        "200":
          description: Replaced.
          content:
            application/json:
              schema: {$ref: "#/components/schemas/Book"}
        "400": {description: Invalid.}
components:
  schemas:
    Id: {type: string, readOnly: true}
    Book:
      type: object
      required: [id, title]
      properties:
        id: {$ref: "#/components/schemas/Id"}
        title: {type: string}
""")
    made = client.post("/b/books", json={"title": "Dune"})
    assert made.status_code == 201, made.get_json()
    assert made.get_json()["id"] and client.get(f"/b/books/{made.get_json()['id']}").get_json()["title"] == "Dune"
    assert client.post("/b/books", json={}).status_code == 400  # `title` is still required
    assert client.put(f"/b/books/{made.get_json()['id']}", json={"title": "Emma"}).status_code == 200
    assert client.put(f"/b/books/{made.get_json()['id']}", json={}).status_code == 400


def test_query_arrays_are_read_as_their_style_and_explode_write_them(tmp_path):
    client = mounted(tmp_path, "styles", """
openapi: 3.0.3
info: {title: Styles, version: "1"}
servers: [{url: /s}]
paths:
  /echo:
    get:
      operationId: echo
      parameters:
        - {name: a, in: query, schema: {type: array, items: {type: integer}}}
        - {name: b, in: query, explode: false, schema: {type: array, items: {type: integer}}}
        - {name: c, in: query, style: pipeDelimited, schema: {type: array, items: {type: string}}}
      responses:
        "200": {description: ok, content: {application/json: {schema: {type: object}}}}
        "400": {description: bad}
""")
    assert client.get("/s/echo?a=1&a=2&b=3,4&c=x|y").status_code == 200
    assert client.get("/s/echo?b=3,x").status_code == 400  # `x` is no integer: each part is checked
    assert client.get("/s/echo?a=1,2").status_code == 400  # exploded: one value, `1,2`, no integer


def test_deep_object_queries_and_cookie_parameters_are_read_and_checked(tmp_path):
    client = mounted(tmp_path, "params", """
openapi: 3.0.3
info: {title: Params, version: "1"}
servers: [{url: /q}]
paths:
  /search:
    get:
      operationId: search
      parameters:
        - name: filter
          in: query
          style: deepObject
          explode: true
          schema: {type: object, properties: {size: {type: integer, maximum: 10}, name: {type: string}}}
        - {name: session, in: cookie, required: true, schema: {type: string, minLength: 3}}
        - name: metadata
          in: query
          style: deepObject
          schema: {type: object, nullable: true, additionalProperties: {type: string}}
      responses:
        "200": {description: ok, content: {application/json: {schema: {type: object}}}}
        "400": {description: bad}
""")
    client.set_cookie("session", "abcdef")
    assert client.get("/q/search?filter[size]=2&filter[name]=x").status_code == 200
    assert client.get("/q/search?filter[size]=20").status_code == 400  # over the property's maximum
    # `?filter=` is the empty object (deepObject has no pair to write for it); `null` where the schema takes it
    assert client.get("/q/search?filter=").status_code == 200
    assert client.get("/q/search?metadata=null").status_code == 200
    assert client.get("/q/search?filter=null").status_code == 400  # `filter` takes no null
    assert client.get("/q/search?filter=x").status_code == 400
    assert client.get("/q/search?filter=&filter[size]=20").status_code == 400  # the object's pairs win
    client.set_cookie("session", "ab")
    assert client.get("/q/search").status_code == 400  # the cookie is checked against its schema
    client.delete_cookie("session")
    assert client.get("/q/search").status_code == 400  # and it is required


OWNERS = """
openapi: 3.0.3
info: {title: Owners, version: "1"}
servers: [{url: /o}]
security: [{bearer: []}]
paths:
  /owners:
    post:
      operationId: addOwner
      requestBody: {required: true, content: {application/json: {schema: {$ref: "#/components/schemas/Owner"}}}}
      responses:
        "201": {description: Added., content: {application/json: {schema: {$ref: "#/components/schemas/Owner"}}}}
        "400": {description: Invalid.}
  /owners/{ownerId}:
    get:
      operationId: getOwner
      parameters: [{name: ownerId, in: path, required: true, schema: {type: integer}}]
      responses:
        "200": {description: The owner., content: {application/json: {schema: {$ref: "#/components/schemas/Owner"}}}}
        "404": {description: No such owner.}
  /owners/{ownerId}/pets:
    parameters: [{name: ownerId, in: path, required: true, schema: {type: integer}}]
    get:
      operationId: listPets
      responses:
        "200":
          description: The owner's pets.
          content: {application/json: {schema: {type: array, items: {$ref: "#/components/schemas/Pet"}}}}
        "404": {description: No such owner.}
    post:
      operationId: addPet
      requestBody: {required: true, content: {application/json: {schema: {$ref: "#/components/schemas/Pet"}}}}
      responses:
        "201": {description: Added., content: {application/json: {schema: {$ref: "#/components/schemas/Pet"}}}}
        "400": {description: Invalid.}
        "404": {description: No such owner.}
  /owners/{ownerId}/pets/{petId}:
    parameters:
      - {name: ownerId, in: path, required: true, schema: {type: integer}}
      - {name: petId, in: path, required: true, schema: {type: string}}
    get:
      operationId: getPet
      responses:
        "200": {description: The pet., content: {application/json: {schema: {$ref: "#/components/schemas/Pet"}}}}
        "404": {description: No such pet.}
  /owners/{ownerId}/pets/{petId}/toys:
    parameters:
      - {name: ownerId, in: path, required: true, schema: {type: integer}}
      - {name: petId, in: path, required: true, schema: {type: string}}
    get:
      operationId: listToys
      responses:
        "200":
          description: The pet's toys.
          content: {application/json: {schema: {type: array, items: {$ref: "#/components/schemas/Toy"}}}}
        "404": {description: No such pet.}
    post:
      operationId: addToy
      requestBody: {required: true, content: {application/json: {schema: {$ref: "#/components/schemas/Toy"}}}}
      responses:
        "201": {description: Added., content: {application/json: {schema: {$ref: "#/components/schemas/Toy"}}}}
        "400": {description: Invalid.}
        "404": {description: No such pet.}
components:
  securitySchemes:
    bearer: {type: http, scheme: bearer}
  schemas:
    Owner:
      type: object
      required: [name]
      properties: {id: {type: integer, readOnly: true}, name: {type: string}}
    Pet:
      type: object
      required: [name]
      properties: {id: {type: string, readOnly: true}, name: {type: string}, ownerId: {type: integer}}
    Toy:
      type: object
      required: [label]
      properties: {id: {type: integer, readOnly: true}, label: {type: string}}
"""


@pytest.mark.parametrize("db", [False, True], ids=["memory", "sqlite"])
def test_nested_collections_are_exported_and_imported_grouped_by_parent(tmp_path, db):
    path = tmp_path / "owners.yaml"
    path.write_text(OWNERS)
    app = create_app(Settings(specs=(("owners", path),), db=tmp_path / "state.db" if db else None))
    client, key = app.test_client(), {"Authorization": "Bearer t1"}
    ann = client.post("/o/owners", json={"name": "Ann"}, headers=key).get_json()
    bob = client.post("/o/owners", json={"name": "Bob"}, headers=key).get_json()
    rex = client.post(f"/o/owners/{ann['id']}/pets", json={"name": "Rex"}, headers=key).get_json()
    tom = client.post(f"/o/owners/{bob['id']}/pets", json={"name": "Tom"}, headers=key).get_json()
    ball = client.post(f"/o/owners/{ann['id']}/pets/{rex['id']}/toys", json={"label": "ball"}, headers=key)

    (tenant,) = client.get("/__mock/state?vendor=owners").get_json()["tenants"]
    assert tenant["owners"] == [ann, bob]
    # one group per parent, the parent named by the path's parameters, typed as in a request
    assert tenant["pets"] == [{"parent": {"ownerId": ann["id"]}, "items": [rex]},
                              {"parent": {"ownerId": bob["id"]}, "items": [tom]}]
    assert tenant["toys"] == [{"parent": {"ownerId": ann["id"], "petId": rex["id"]}, "items": [ball.get_json()]}]

    # export -> import is the identity, and a new pet after it gets a key of its own
    document = client.get("/__mock/state?vendor=owners").get_json()
    client.post("/__mock/reset")
    assert client.put("/__mock/state", json=document).status_code == 200
    assert client.get("/__mock/state?vendor=owners").get_json() == document
    assert client.get(f"/o/owners/{ann['id']}/pets/{rex['id']}", headers=key).get_json() == rex
    assert client.get(f"/o/owners/{bob['id']}/pets/{rex['id']}", headers=key).status_code == 404  # Ann's pet
    again = client.post(f"/o/owners/{ann['id']}/pets", json={"name": "Max"}, headers=key).get_json()
    assert again["id"] not in (rex["id"], tom["id"])
    assert "2 owners, 3 pets, 1 toy" in client.get("/__mock/").get_data(as_text=True)  # items, not groups
    app.extensions["mockserver"].store.close()


def test_an_imported_nested_item_needs_its_parent_and_a_well_formed_group(tmp_path):
    client = mounted(tmp_path, "owners", OWNERS)

    def refused(**collections):
        response = client.put("/__mock/state", json={"tenants": [
            {"vendor": "owners", "credential": "t1", **collections}]})
        assert response.status_code == 400, response.get_json()
        return response.get_json()["issues"][0]

    # written by hand: the keys are made as a create would make them
    written = {"owners": [{"id": 7, "name": "Ann"}],
               "pets": [{"parent": {"ownerId": 7}, "items": [{"name": "Rex"}, {"id": "p2", "name": "Tom"}]}]}
    assert client.put("/__mock/state", json={"tenants": [
        {"vendor": "owners", "credential": "t1", **written}]}).status_code == 200
    listed = client.get("/o/owners/7/pets", headers={"Authorization": "Bearer t1"}).get_json()
    assert [pet["name"] for pet in listed] == ["Rex", "Tom"] and listed[1]["id"] == "p2"

    orphan = refused(owners=[{"id": 7, "name": "Ann"}],
                     pets=[{"parent": {"ownerId": 8}, "items": [{"name": "Rex"}]}])
    assert orphan["name"] == "tenants[0].pets[0].parent" and "owners has no item '8'" in orphan["detail"]
    toy = refused(owners=[{"id": 7, "name": "Ann"}],  # a grandchild needs the pet, under that owner
                  toys=[{"parent": {"ownerId": 7, "petId": "p2"}, "items": [{"label": "ball"}]}])
    assert toy["name"] == "tenants[0].toys[0].parent" and "pets has no item 'p2'" in toy["detail"]
    assert refused(pets=[{"parent": {"ownerId": "7"}, "items": []}])["name"] == "tenants[0].pets[0].parent.ownerId"
    assert refused(pets=[{"parent": {}, "items": []}])["name"] == "tenants[0].pets[0].parent.ownerId"
    flat = refused(pets=[{"name": "Rex"}])  # an object, not a group of them
    assert flat["name"] == "tenants[0].pets[0]" and '{"parent": {"ownerId": ...}, "items": [...]}' in flat["detail"]
    bad = refused(owners=[{"id": 7, "name": "Ann"}], pets=[{"parent": {"ownerId": 7}, "items": [{"name": 5}]}])
    assert bad["name"] == "tenants[0].pets[0].items[0].name"
    # keys are unique per parent: the same key under two owners is fine, twice under one is not
    twice = refused(owners=[{"id": 7, "name": "Ann"}],
                    pets=[{"parent": {"ownerId": 7}, "items": [{"id": "p1", "name": "A"}]},
                          {"parent": {"ownerId": 7}, "items": [{"id": "p1", "name": "B"}]}])
    assert twice["name"] == "tenants[0].pets[1].items[0].id" and "pets[0].items[0]" in twice["detail"]
    assert client.put("/__mock/state", json={"tenants": [{"vendor": "owners", "credential": "t1",
        "owners": [{"id": 7, "name": "Ann"}, {"id": 8, "name": "Bob"}],
        "pets": [{"parent": {"ownerId": 7}, "items": [{"id": "p1", "name": "A"}]},
                 {"parent": {"ownerId": 8}, "items": [{"id": "p1", "name": "B"}]}]}]}).status_code == 200


def test_fixtures_seed_nested_collections(tmp_path):
    path = tmp_path / "owners.yaml"
    path.write_text(OWNERS)
    fixtures = tmp_path / "fixtures.yaml"
    fixtures.write_text("tenants:\n  - vendor: owners\n    credential: t1\n    owners: [{name: Ann}]\n"
                        "    pets:\n      - parent: {ownerId: 1}\n        items: [{name: Rex}]\n")
    client = create_app(Settings(specs=(("owners", path),), fixtures=(fixtures,))).test_client()
    (rex,) = client.get("/o/owners/1/pets", headers={"Authorization": "Bearer t1"}).get_json()
    assert rex["name"] == "Rex" and len(rex["id"]) == 21  # a plain string key, made as a create would


def test_an_api_that_asks_for_no_credential_exports_and_imports_its_one_tenant(tmp_path):
    client = mounted(tmp_path, "open", """
openapi: 3.0.3
info: {title: Open, version: "1"}
servers: [{url: /t}]
paths:
  /todos:
    post:
      operationId: addTodo
      requestBody: {required: true, content: {application/json: {schema: {$ref: "#/components/schemas/Todo"}}}}
      responses:
        "201": {description: Added., content: {application/json: {schema: {$ref: "#/components/schemas/Todo"}}}}
  /todos/{id}:
    get:
      operationId: getTodo
      parameters: [{name: id, in: path, required: true, schema: {type: integer}}]
      responses:
        "200": {description: The todo., content: {application/json: {schema: {$ref: "#/components/schemas/Todo"}}}}
        "404": {description: No such todo.}
components:
  schemas:
    Todo: {type: object, properties: {id: {type: integer, readOnly: true}, title: {type: string}}}
""")
    assert client.post("/t/todos", json={"title": "x"}).status_code == 201
    exported = client.get("/__mock/state?vendor=open")
    assert exported.status_code == 200  # was a 500: the tenant's credential is empty
    assert exported.get_json()["tenants"] == [{"vendor": "open", "credential": "", "sequence": 1,
                                               "todos": [{"id": 1, "title": "x"}]}]
    client.post("/__mock/reset")
    assert client.put("/__mock/state", json=exported.get_json()).status_code == 200
    assert client.get("/t/todos/1").get_json() == {"id": 1, "title": "x"}
    # an API that does ask for one still refuses an empty credential
    refused = client.put("/__mock/state", json={"tenants": [{"vendor": "activepieces", "credential": ""}]})
    assert refused.status_code == 400 and "would refuse this credential" in refused.get_json()["message"]


INHERITANCE = """
openapi: 3.0.3
info: {title: Zoo, version: "1"}
servers: [{url: /z}]
paths:
  /pets:
    post:
      operationId: addPet
      requestBody: {required: true, content: {application/json: {schema: {$ref: "#/components/schemas/Pet"}}}}
      responses:
        "201": {description: Added., content: {application/json: {schema: {$ref: "#/components/schemas/Pet"}}}}
        "422":
          description: Invalid.
          content: {application/json: {schema: {$ref: "#/components/schemas/Problem"}}}
  /pets/{petId}:
    get:
      operationId: getPet
      parameters: [{name: petId, in: path, required: true, schema: {type: integer}}]
      responses:
        "200": {description: The pet., content: {application/json: {schema: {$ref: "#/components/schemas/Pet"}}}}
        "404": {description: No such pet.}
  /random:
    get:
      operationId: randomPets
      responses:
        "200":
          description: Made-up pets.
          content: {application/json: {schema: {type: array, items: {$ref: "#/components/schemas/Pet"}}}}
components:
  schemas:
    Problem:
      type: object
      properties: {message: {type: string}}
    Pet:
      type: object
      required: [petType, name]
      properties:
        id: {type: integer, readOnly: true}
        name: {type: string}
        petType: {type: string}
        friend: {$ref: "#/components/schemas/Pet"}
      discriminator:
        propertyName: petType
        mapping: {kitty: "#/components/schemas/Cat"}
    Cat:
      allOf:
        - $ref: "#/components/schemas/Pet"
        - type: object
          required: [lives]
          properties: {lives: {type: integer, minimum: 1, maximum: 9}}
    Dog:
      allOf:
        - $ref: "#/components/schemas/Pet"
        - type: object
          required: [good]
          properties: {good: {type: boolean}, enemy: {$ref: "#/components/schemas/Cat"}}
    Puppy:
      allOf:
        - $ref: "#/components/schemas/Dog"
        - type: object
          properties: {age: {type: integer, maximum: 1}}
"""


def test_a_discriminator_on_a_base_schema_checks_the_subtype_it_names(tmp_path):
    client = mounted(tmp_path, "zoo", INHERITANCE)
    cat = client.post("/z/pets", json={"petType": "kitty", "name": "Tom", "lives": 9})
    assert cat.status_code == 201
    assert {name: cat.get_json().get(name) for name in ("petType", "name", "lives", "id")} == \
        {"petType": "kitty", "name": "Tom", "lives": 9, "id": 1}
    assert "good" not in cat.get_json()  # the subtype's fields kept, no other subtype's made up
    dog = client.post("/z/pets", json={"petType": "Dog", "name": "Rex", "good": True})  # by the schema's name
    assert dog.status_code == 201 and dog.get_json()["good"] is True and "lives" not in dog.get_json()
    puppy = client.post("/z/pets", json={"petType": "Puppy", "name": "Bit", "good": False, "age": 0})
    assert puppy.status_code == 201  # a subtype of a subtype names itself too
    assert client.get("/z/pets/3").get_json()["age"] == 0

    def refused(body: dict) -> str:
        response = client.post("/z/pets", json=body)
        assert response.status_code == 422, response.get_json()
        (entry,) = client.get("/__mock/requests?vendor=zoo&limit=1").get_json()["requests"]
        return entry["error"]

    assert "lives" in refused({"petType": "kitty", "name": "Tom"})  # checked as a Cat: lives is required
    assert "lives" in refused({"petType": "kitty", "name": "Tom", "lives": 10})
    assert "good" in refused({"petType": "Dog", "name": "Rex"})
    assert "age" in refused({"petType": "Puppy", "name": "Bit", "good": True, "age": 5})
    unknown = refused({"petType": "Cow", "name": "Daisy"})  # names no subtype
    assert "petType" in unknown and "kitty" in unknown and "Puppy" in unknown
    assert "Cat" not in unknown.replace("kitty", "")  # mapped: Cat is named `kitty` only
    assert "petType" in refused({"name": "Nobody"})  # the property is required
    assert "petType" in refused({"petType": "Pet", "name": "Base"})  # the base names no subtype


@pytest.mark.parametrize("mapping, kinds", [
    ("mapping: {kitty: \"#/components/schemas/Cat\"}", {"kitty"}),  # what tools that know only the mapping accept
    ("mapping: {}", {"Cat", "Dog", "Puppy"}),  # else each subtype by its name
])
def test_values_generated_for_a_discriminated_base_schema_are_one_of_its_subtypes(tmp_path, mapping, kinds):
    from mockserver.generate import generate

    document = INHERITANCE.replace("mapping: {kitty: \"#/components/schemas/Cat\"}", mapping)
    path = tmp_path / "zoo.yaml"
    path.write_text(document)
    documented = load_spec(path, "zoo").operations["randomPets"].response(200)
    seen = set()
    for seed in range(24):
        (pet,) = generate(documented.validator.schema, f"s{seed}")
        assert documented.validator.is_valid([pet]), pet  # valid by the discriminator's rules
        seen.add(pet["petType"])
        assert ("lives" in pet) == (pet["petType"] in ("kitty", "Cat"))  # only a cat's fields
        assert ("good" in pet) == (pet["petType"] in ("Dog", "Puppy"))
        # optional properties where the recursion was cut (Pet in Pet, Cat in Dog): a value made there
        # would lack what the full schema requires, so they are left out
        assert "friend" not in pet and "enemy" not in pet
    assert seen == kinds
    client = mounted(tmp_path, "zoo", document)
    answer = client.get("/z/random")  # checked against the document before it leaves
    assert answer.status_code == 200 and answer.get_json()[0]["petType"] in kinds


def test_object_query_parameters_in_form_style_are_read_exploded_or_not(tmp_path):
    client = mounted(tmp_path, "forms", """
openapi: 3.0.3
info: {title: Forms, version: "1"}
servers: [{url: /f}]
paths:
  /search:
    get:
      operationId: search
      parameters:
        - name: filter
          in: query
          schema:
            type: object
            additionalProperties: false
            properties:
              color: {type: string, enum: [red, blue]}
              size: {type: integer, maximum: 10}
              tags: {type: array, items: {type: string}}
        - name: near
          in: query
          explode: false
          schema: {type: object, properties: {lat: {type: number}, open: {type: boolean}}}
        - name: rest
          in: query
          schema: {type: object, additionalProperties: {type: integer}}
        - name: where
          in: query
          content: {application/json: {schema: {type: object, required: [a], properties: {a: {type: integer}}}}}
      responses:
        "200": {description: ok, content: {application/json: {schema: {type: object}}}}
        "400": {description: bad}
""")

    def error(query: str) -> str | None:
        client.get(f"/f/search?{query}")
        (entry,) = client.get("/__mock/requests?vendor=forms&limit=1").get_json()["requests"]
        return entry["error"]

    # exploded (the default): each declared property is its own pair, typed as its property
    assert client.get("/f/search?color=red&size=3&tags=a&tags=b").status_code == 200
    assert "filter.size" in error("size=30") and "maximum" in error("size=30")  # read as the integer 30
    assert "filter.color" in error("color=green")
    # not exploded: names and values in one list
    assert client.get("/f/search?near=lat,51.5,open,true").status_code == 200  # a number and a boolean
    assert "near.lat" in error("near=lat,north")
    assert "near" in error("near=lat")  # a name without its value is no object
    # a map (additionalProperties): every pair no other parameter reads
    assert client.get("/f/search?color=red&page=2").status_code == 200
    assert "rest.page" in error("color=red&page=two")
    # a parameter given by `content` is that media type's text
    assert client.get('/f/search?where={"a":1}').status_code == 200
    assert "where.a" in error('where={"a":"x"}')
    assert client.get("/f/search?where=" + "[" * 5000).status_code == 400  # nested too deep: refused, no 500


LOOKUP = """
openapi: 3.1.0
info: {title: Boards, version: "1"}
servers: [{url: /b}]
paths:
  /boards:
    x-mock-key: id
    x-mock-normalize: {slug: lowercase}
    x-mock-lookup: [slug]
    post:
      operationId: createBoard
      requestBody:
        required: true
        content:
          application/json:
            schema: {type: object, required: [slug], properties: {slug: {type: string}, title: {type: string}}}
      responses:
        "201": {description: Created., content: {application/json: {schema: {$ref: "#/components/schemas/Board"}}}}
  /boards/{boardIdOrSlug}:
    parameters: [{name: boardIdOrSlug, in: path, required: true, schema: {type: string}}]
    get:
      operationId: getBoard
      responses:
        "200": {description: The board., content: {application/json: {schema: {$ref: "#/components/schemas/Board"}}}}
        "404": {description: No such board.}
    patch:
      operationId: updateBoard
      requestBody:
        content: {application/json: {schema: {type: object, properties: {title: {type: string}}}}}
      responses:
        "200": {description: Updated., content: {application/json: {schema: {$ref: "#/components/schemas/Board"}}}}
        "404": {description: No such board.}
    delete:
      operationId: deleteBoard
      responses:
        "204": {description: Deleted.}
        "404": {description: No such board.}
components:
  schemas:
    Board:
      type: object
      required: [id, slug]
      properties:
        id: {type: string, format: uuid, readOnly: true}
        slug: {type: string}
        title: {type: string}
"""


def test_x_mock_lookup_names_an_item_by_another_property_as_stored(tmp_path):
    client = mounted(tmp_path, "boards", LOOKUP)
    first = client.post("/b/boards", json={"slug": "Roadmap", "title": "One"}).get_json()
    assert first["slug"] == "roadmap"
    assert client.get(f"/b/boards/{first['id']}").get_json() == first
    assert client.get("/b/boards/ROADMAP").get_json() == first  # by slug, compared as stored
    changed = client.patch("/b/boards/roadmap", json={"title": "Two"}).get_json()
    assert changed["id"] == first["id"] and changed["title"] == "Two"  # the key stays the item's own
    assert client.get("/b/boards/nope").status_code == 404
    assert client.delete("/b/boards/Roadmap").status_code == 204
    assert client.get(f"/b/boards/{first['id']}").status_code == 404


def test_x_mock_lookup_must_name_item_properties(tmp_path):
    from mockserver.inference import InferenceError

    with pytest.raises(InferenceError, match="x-mock-lookup must list item properties"):
        mounted(tmp_path, "boards", LOOKUP.replace("x-mock-lookup: [slug]", "x-mock-lookup: [colour]"))


MASKED = LOOKUP.replace("""
components:
  schemas:
""", """
components:
  responses:
    Error:
      description: Refused.
      content: {application/json: {schema: {type: object, required: [message], properties: {message: {type: string}}}}}
  schemas:
""").replace('''    patch:
      operationId: updateBoard
      requestBody:
        content: {application/json: {schema: {type: object, properties: {title: {type: string}}}}}''', '''    patch:
      operationId: updateBoard
      x-mock-update-mask: {mask: fields, values: board}
      requestBody:
        content:
          application/json:
            schema:
              type: object
              required: [fields, board]
              properties:
                fields: {type: array, items: {type: string}}
                board: {type: object, properties: {title: {type: string}, slug: {type: string}}}''').replace(
    '''        "404": {description: No such board.}
    delete:''', '''        "400": {$ref: "#/components/responses/Error"}
        "404": {description: No such board.}
        "422": {$ref: "#/components/responses/Error"}
    delete:''')


def test_x_mock_update_mask_changes_only_the_named_paths(tmp_path):
    client = mounted(tmp_path, "boards", MASKED)
    board = client.post("/b/boards", json={"slug": "plan", "title": "One"}).get_json()
    url = f"/b/boards/{board['id']}"
    changed = client.patch(url, json={"fields": ["title"], "board": {"title": "Two", "slug": "x"}})
    assert changed.status_code == 200 and changed.get_json() == {**board, "title": "Two"}  # slug not in the mask
    unknown = client.patch(url, json={"fields": ["colour"], "board": {}})
    assert unknown.status_code == 400 and "'colour'" in unknown.get_json()["message"]
    missing = client.patch(url, json={"fields": ["slug"], "board": {"title": "Three"}})
    assert missing.status_code == 422 and "'slug'" in missing.get_json()["message"]
    assert client.get(url).get_json()["title"] == "Two"  # refused updates changed nothing


def test_x_mock_update_mask_must_name_body_properties(tmp_path):
    from mockserver.inference import InferenceError

    with pytest.raises(InferenceError, match="mask 'paths' names no array property"):
        mounted(tmp_path, "boards", MASKED.replace("{mask: fields,", "{mask: paths,"))


def test_a_bundled_vendor_nobody_asked_for_gives_way_to_a_spec_it_would_shadow(tmp_path, caplog):
    # served at `/`, `/{kind}/{id}/tags` matches Ampersand's `/v1/projects/{projectIdOrName}`
    document = tmp_path / "rooted.yaml"
    document.write_text(MINIMAL_ROOTED)
    app = create_app(Settings(specs=(("rooted", document),)))
    assert app.test_client().get("/things/1/tags").status_code == 200
    names = [api["name"] for api in app.test_client().get("/__mock/health").get_json()["vendors"]]
    assert "rooted" in names and "ampersand" not in names and "activepieces" in names
    assert "ampersand is not mounted: its routes overlap rooted's" in caplog.text
    # asked for (moved, or named by --profile): an overlap still stops start-up, naming both
    with pytest.raises(SpecError, match="overlap"):
        create_app(Settings(specs=(("rooted", document),), profiles=(("ampersand", "latest"),)))
    moved = create_app(Settings(specs=(("rooted", document),), bases=(("ampersand", "/amp"),)))
    assert "ampersand" in [api["name"] for api in moved.test_client().get("/__mock/health").get_json()["vendors"]]


MINIMAL_ROOTED = """
openapi: 3.1.0
info: {title: Rooted, version: "1"}
paths:
  /{kind}/{id}/tags:
    get:
      operationId: getTags
      parameters:
        - {name: kind, in: path, required: true, schema: {type: string}}
        - {name: id, in: path, required: true, schema: {type: string}}
      responses:
        "200":
          description: The tags.
          content:
            application/json:
              schema: {type: array, items: {type: string}}
"""


def test_an_answer_documented_under_a_media_range_names_a_media_type(tmp_path):
    client = mounted(tmp_path, "files", """
openapi: 3.1.0
info: {title: Files, version: "1"}
servers: [{url: /f}]
paths:
  /download:
    get:
      operationId: download
      responses:
        "200":
          description: The file, as Apideck documents it.
          content:
            "*/*": {schema: {type: string, format: binary}}
  /picture:
    get:
      operationId: picture
      responses:
        "200":
          description: A picture.
          content:
            "image/*": {schema: {type: string, format: binary}}
  /anything:
    get:
      operationId: anything
      responses:
        "200":
          description: Some JSON.
          content:
            "*/*": {schema: {type: object, properties: {a: {type: integer}}, required: [a]}}
""")
    def content_type(url: str, **headers) -> str:
        response = client.get(url, headers=headers)
        assert response.status_code == 200
        return response.headers["Content-Type"]

    assert content_type("/f/download") == "application/octet-stream"  # `*/*` is a range, no Content-Type
    assert content_type("/f/download", Accept="application/pdf, */*;q=0.1") == "application/pdf"
    assert content_type("/f/picture") == "image/png"
    assert content_type("/f/picture", Accept="image/webp") == "image/webp"
    assert content_type("/f/anything") == "application/json"
    assert client.get("/f/anything").get_json()["a"] is not None


def test_a_required_array_of_a_recursive_schema_is_generated_whole(tmp_path):
    client = mounted(tmp_path, "rules", """
openapi: 3.1.0
info: {title: Rules, version: "1"}
servers: [{url: /r}]
paths:
  /rule:
    get:
      operationId: getRule
      responses:
        "200":
          description: A rule (PagerDuty's MatchPredicate).
          content:
            application/json:
              schema: {$ref: "#/components/schemas/Predicate"}
components:
  schemas:
    Predicate:
      type: object
      required: [type, children]
      properties:
        type: {type: string, enum: [all, any, contains]}
        children: {type: array, items: {$ref: "#/components/schemas/Predicate"}}
""")
    def whole(node: dict) -> bool:  # every predicate, at any depth, has what the schema requires
        return {"type", "children"} <= node.keys() and all(whole(child) for child in node["children"])

    rule = client.get("/r/rule").get_json()
    assert whole(rule), rule


ENVELOPED = """
openapi: 3.0.3
info: {title: Ledger, version: "1"}
servers: [{url: /l}]
paths:
  /customers:
    post:
      operationId: addCustomer
      requestBody:
        required: true
        content:
          application/json:
            schema: {$ref: "#/components/schemas/Customer"}
      responses:
        "201":
          description: Created, its id in `data` (as Apideck answers).
          content:
            application/json:
              schema:
                type: object
                required: [status_code, data]
                properties:
                  status_code: {type: integer}
                  data: {type: object, required: [id], properties: {id: {type: string}}}
    get:
      operationId: listCustomers
      parameters: [{name: limit, in: query, schema: {type: integer}}]
      responses:
        "200":
          description: A page.
          content:
            application/json:
              schema:
                type: object
                properties:
                  status_code: {type: integer}
                  data: {type: array, items: {$ref: "#/components/schemas/Customer"}}
  /customers/{id}:
    parameters: [{name: id, in: path, required: true, schema: {type: string}}]
    get:
      operationId: getCustomer
      responses:
        "200":
          description: The customer in `data`, beside the envelope's fields.
          content:
            application/json:
              schema:
                type: object
                required: [status_code, data]
                properties:
                  status_code: {type: integer}
                  status: {type: string}
                  data: {$ref: "#/components/schemas/Customer"}
        "404": {description: Unknown.}
components:
  schemas:
    Customer:
      type: object
      required: [id, name]
      properties:
        id: {type: string, readOnly: true}
        name: {type: string}
        item: {type: object, properties: {sku: {type: string}}}
"""


def test_an_item_in_an_envelope_beside_other_fields_is_stateful(tmp_path):
    client = mounted(tmp_path, "ledger", ENVELOPED)
    made = client.post("/l/customers", json={"name": "Ann"})
    assert made.status_code == 201 and made.get_json()["data"]["id"]
    key = made.get_json()["data"]["id"]
    read = client.get(f"/l/customers/{key}").get_json()
    assert isinstance(read["status_code"], int) and read["data"]["id"] == key and read["data"]["name"] == "Ann"
    assert [customer["name"] for customer in client.get("/l/customers").get_json()["data"]] == ["Ann"]
    assert client.get("/l/customers/nobody").status_code == 404
    roles = infer(load_spec(tmp_path / "ledger.yaml", "ledger"))
    assert roles["getCustomer"].collection.key_property == "id"  # the item is `data`'s, not the envelope


def test_a_read_only_key_sent_at_creation_is_ignored_not_a_clash(tmp_path):
    client = mounted(tmp_path, "books", ENVELOPED.replace("Ledger", "Books"))
    first = client.post("/l/customers", json={"id": "mine", "name": "Ann"})
    again = client.post("/l/customers", json={"id": "mine", "name": "Bob"})
    assert first.status_code == again.status_code == 201
    keys = {first.get_json()["data"]["id"], again.get_json()["data"]["id"]}
    assert len(keys) == 2 and "mine" not in keys  # the server sets it, as `readOnly` says
