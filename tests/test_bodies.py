"""Request bodies of every media type a document declares, and credentials of every security scheme:
decoded into the value the schema validates, refused with a clear message when malformed. The
documents are the project's own (tests/specs/); the last tests serve one through the whole pipeline."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from mockserver import Settings, create_app
from mockserver.bodies import decode_body, kind_of, pick_media
from mockserver.credentials import describe_scheme, read_credential
from mockserver.errors import MalformedBody
from mockserver.spec import load_spec
from mockserver.vendors.base import Reply, Vendor

SPECS = Path(__file__).parent / "specs"
SHOP = load_spec(SPECS / "shop-3.0.yaml", "shop")
ADD = SHOP.operations["addPet"].body_media
OWNER = SHOP.operations["addOwner"].body_media


def decode(raw: bytes | str, content_type: str, media=None):
    raw = raw.encode() if isinstance(raw, str) else raw
    mimetype = content_type.split(";", 1)[0].strip().lower()
    return decode_body(raw, mimetype, media if media is not None else ADD.get(mimetype), content_type)


# --- choosing the media type -----------------------------------------------------------------------

def test_a_request_media_type_is_matched_exactly_then_by_wildcards():
    notes = load_spec(SPECS / "notes-3.1.json", "notes").operations["createNote"].body_media
    assert pick_media(ADD, "application/xml").media_type == "application/xml"
    assert pick_media(ADD, "text/csv") is None
    assert pick_media(ADD, "") is None
    assert pick_media(ADD, "application/merge-patch+json").media_type == "application/json"  # as always
    assert pick_media(notes, "text/csv").media_type == "*/*"
    assert pick_media(notes, "application/merge-patch+json").media_type == "application/merge-patch+json"
    image = {"image/*": ADD["application/json"]}
    assert pick_media(image, "image/png") is ADD["application/json"]


@pytest.mark.parametrize("mimetype, kind", [
    ("application/json", "json"), ("application/problem+json", "json"), ("application/x-www-form-urlencoded", "form"),
    ("multipart/form-data", "multipart"), ("application/xml", "xml"), ("text/xml", "xml"),
    ("application/atom+xml", "xml"), ("text/plain", "text"), ("application/octet-stream", "binary"),
    ("image/png", "binary"),
])
def test_kinds(mimetype, kind):
    assert kind_of(mimetype) == kind


# --- JSON ------------------------------------------------------------------------------------------

def test_json_is_read_strictly():
    assert decode(b'\xef\xbb\xbf{"name": "Rex"}', "application/json") == {"name": "Rex"}
    assert decode('{"name": "\\ud800"}', "application/json") == {"name": "\ufffd"}
    for raw, message in ((b'{"a": NaN}', "not valid JSON"), (b'{"a": 1e999}', "not valid JSON"),
                         (b'{"a": "\xff"}', "not valid UTF-8"), (b"[" * 100000, "nested too deeply")):
        with pytest.raises(MalformedBody, match=message):
            decode(raw, "application/json")


# --- forms -----------------------------------------------------------------------------------------

def test_a_form_becomes_an_object_typed_by_the_schema():
    form = ADD["application/x-www-form-urlencoded"]
    value = decode("name=Rex+the+dog&price=3.5&vaccinated=true&tags=a&tags=b&kind=&nickname=&id=7"
                   "&owner=%7B%22name%22%3A%22Ann%22%7D&born=2020-01-31", "application/x-www-form-urlencoded")
    assert value == {"name": "Rex the dog", "price": 3.5, "vaccinated": True, "tags": ["a", "b"], "kind": None,
                     "nickname": "", "id": 7, "owner": {"name": "Ann"}, "born": "2020-01-31"}
    assert form.validator.is_valid(value)
    assert decode("name=R&tags=one", "application/x-www-form-urlencoded")["tags"] == ["one"]


def test_a_required_array_a_form_leaves_out_is_missing():
    from mockserver.spec import MediaSpec

    schema = {"type": "object", "required": ["name", "photoUrls"],
              "properties": {"name": {"type": "string"}, "photoUrls": {"type": "array", "items": {"type": "string"}},
                             "tags": {"type": "array", "items": {"type": "string"}}}}
    media = MediaSpec("application/x-www-form-urlencoded", schema, None)
    # left out is missing, as in JSON (the validator then names it), never made up as `[]`
    assert decode("name=Rex", "application/x-www-form-urlencoded", media) == {"name": "Rex"}
    assert decode("name=Rex&photoUrls=a", "application/x-www-form-urlencoded", media)["photoUrls"] == ["a"]


def test_text_where_xml_elements_belong_is_left_for_the_validator():
    from mockserver.spec import MediaSpec

    schema = {"type": "object", "properties": {"id": {"type": "integer"}}}
    media = MediaSpec("application/xml", schema, None)
    assert decode("<order>true</order>", "application/xml", media) == "true"  # not an object: refused
    assert decode("<order><id>3</id></order>", "application/xml", media) == {"id": 3}


def test_a_form_value_that_is_not_its_type_is_left_for_the_validator():
    value = decode("name=R&price=cheap&vaccinated=yes", "application/x-www-form-urlencoded")
    assert value == {"name": "R", "price": "cheap", "vaccinated": "yes"}
    assert not ADD["application/x-www-form-urlencoded"].validator.is_valid(value)


def test_bracketed_form_keys_fill_a_nested_object():
    value = decode("name=R&owner[name]=Ann&owner[address][city]=Oslo&owner[pets]=1&owner[pets]=2",
                   "application/x-www-form-urlencoded")
    assert value["owner"] == {"name": "Ann", "address": {"city": "Oslo"}, "pets": [1, 2]}
    mixed = decode("owner=Ann&owner[address]=x&owner[address][city]=Oslo", "application/x-www-form-urlencoded")
    assert mixed["owner"] == {"address": {"city": "Oslo"}}  # the bracketed keys win, never a crash


def test_a_malformed_form_is_refused():
    with pytest.raises(MalformedBody, match="not percent-encoded UTF-8"):
        decode("name=%FF", "application/x-www-form-urlencoded")
    with pytest.raises(MalformedBody, match="not percent-encoded UTF-8"):
        decode("name=R\xe9".encode("latin-1"), "application/x-www-form-urlencoded")


def multipart(*parts: tuple[str, str | None, str | None, bytes], boundary: str = "b0undary") -> bytes:
    out = b""
    for name, filename, content_type, content in parts:
        out += f"--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"".encode()
        out += f"; filename=\"{filename}\"".encode() if filename else b""
        out += f"\r\nContent-Type: {content_type}".encode() if content_type else b""
        out += b"\r\n\r\n" + content + b"\r\n"
    return out + f"--{boundary}--\r\n".encode()


def test_a_part_named_empty_is_the_property_named_empty():
    # `name=""` is a name (schemathesis sends one for additionalProperties' key ""); no name at all is refused
    value = decode(multipart(("", None, None, b"x"), ("name", None, None, b"Rex")),
                   "multipart/form-data; boundary=b0undary", ADD["multipart/form-data"])
    assert value == {"": "x", "name": "Rex"}


def test_multipart_fields_and_files():
    raw = multipart(("name", None, None, "Rex é".encode()), ("age", None, None, b"4"),
                    ("tags", None, None, b"a"), ("tags", None, None, b"b"),
                    ("photo", "p.png", "image/png", b"\x89PNG\r\n--not a boundary"),
                    ("extra", None, "application/json", b'{"x": [1]}'))
    value = decode(raw, "multipart/form-data; boundary=b0undary")
    assert value == {"name": "Rex é", "age": 4, "tags": ["a", "b"], "photo": "\ufffdPNG\r\n--not a boundary",
                     "extra": {"x": [1]}}
    assert ADD["multipart/form-data"].validator.is_valid(value)


@pytest.mark.parametrize("content_type, raw, message", [
    ("multipart/form-data", multipart(("name", None, None, b"R")), "no boundary"),
    ("multipart/form-data; boundary=b0undary", b"just text", "malformed"),
    ("multipart/form-data; boundary=b0undary", multipart(("name", None, None, b"R"))[:-14], "malformed"),
    ("multipart/form-data; boundary=b0undary", multipart(("extra", None, "application/json", b"{")), "not valid JSON"),
    ("multipart/form-data; boundary=b0undary",
     b'--b0undary\r\nContent-Disposition: form-data\r\n\r\nx\r\n--b0undary--\r\n', "a part without a name"),
])
def test_a_malformed_multipart_body_is_refused(content_type, raw, message):
    with pytest.raises(MalformedBody, match=message):
        decode(raw, content_type, ADD["multipart/form-data"])


# --- XML -------------------------------------------------------------------------------------------

PET_XML = """<?xml version="1.0" encoding="UTF-8"?>
<pet xmlns="urn:shop" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
  <id>10</id><name> Rex </name><price>3.5</price><vaccinated>false</vaccinated>
  <nickname xsi:nil="true"/>
  <tags><tag>good</tag><tag>small</tag></tags>
  <toy><name>ball</name><squeaks>true</squeaks></toy>
  <toy><name>rope</name></toy>
  <owner><name>Ann</name><address><city>Oslo</city></address><pets>1</pets><pets>2</pets></owner>
  <colour>brown</colour>
</pet>"""


def test_xml_elements_become_properties_by_the_schema():
    value = decode(PET_XML, "application/xml")
    assert value == {"id": 10, "name": " Rex ", "price": 3.5, "vaccinated": False, "nickname": None,
                     "tags": ["good", "small"], "toys": [{"name": "ball", "squeaks": True}, {"name": "rope"}],
                     "owner": {"name": "Ann", "address": {"city": "Oslo"}, "pets": [1, 2]},
                     "colour": "brown"}  # an element the schema does not name is kept for the pipeline to drop
    assert ADD["application/xml"].validator.is_valid(value)


def test_xml_attributes_and_text_xml():
    schema = {"type": "object", "properties": {"id": {"type": "integer", "xml": {"attribute": True}},
                                               "label": {"type": "string", "xml": {"name": "Label"}}}}
    media = OWNER["text/xml"].__class__("text/xml", schema, OWNER["text/xml"].validator)
    assert decode('<a id="3"><Label>x</Label></a>', "text/xml", media) == {"id": 3, "label": "x"}
    assert decode("<owner><name>Ann</name></owner>", "text/xml", OWNER["text/xml"]) == {"name": "Ann"}


BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>
<pet><name>&lol2;</name></pet>"""
XXE = """<?xml version="1.0"?><!DOCTYPE pet [<!ENTITY x SYSTEM "file:///etc/passwd">]><pet><name>&x;</name></pet>"""


@pytest.mark.parametrize("raw, message", [
    (BILLION_LAUGHS, "declares a document type"),
    (XXE, "declares a document type"),
    ("<pet><name>&undefined;</name></pet>", "undefined entity"),
    ("<pet><name>Rex</pet>", "not well-formed XML: mismatched tag at line 1"),
    ("", "not well-formed XML"),
    ("<" * 3, "not well-formed XML"),
])
def test_dangerous_or_malformed_xml_is_refused(raw, message):
    with pytest.raises(MalformedBody, match=message):
        decode(raw, "application/xml")


# --- text and binary -------------------------------------------------------------------------------

def test_a_body_whose_schema_is_a_string_is_its_text():
    anything = load_spec(SPECS / "notes-3.1.json", "notes").operations["createNote"].body_media["*/*"]
    assert decode("<a>x</a>", "application/xml", anything) == "<a>x</a>"
    assert decode("a=1&b=2", "application/x-www-form-urlencoded", anything) == "a=1&b=2"
    assert decode('"quoted"', "application/json", anything) == "quoted"


def test_deeply_nested_xml_is_refused_not_a_crash():
    anything = load_spec(SPECS / "notes-3.1.json", "notes").operations["createNote"].body_media["*/*"]
    permissive = anything.__class__("application/xml", {}, anything.validator)
    with pytest.raises(MalformedBody, match="nested too deeply"):
        decode("<a>" * 50000 + "</a>" * 50000, "application/xml", permissive)


def test_text_and_binary_bodies():
    notes = SHOP.operations["addNote"].body_media["text/plain"]
    assert decode("héllo", "text/plain", notes) == "héllo"
    assert decode("h\xe9llo".encode("latin-1"), "text/plain; charset=ISO-8859-1", notes) == "héllo"
    photo = SHOP.operations["putPhoto"].body_media["application/octet-stream"]
    assert decode(b"\x00\xff\x10", "application/octet-stream", photo) == b"\x00\xff\x10"
    with pytest.raises(MalformedBody, match="not valid utf-8 text"):
        decode(b"\xff", "text/plain", notes)
    with pytest.raises(MalformedBody, match="charset 'klingon' is unknown"):
        decode(b"x", "text/plain; charset=klingon", notes)


# --- credentials -----------------------------------------------------------------------------------

def req(headers=None, query="", cookie=None) -> Request:
    headers = dict(headers or {})
    if cookie:
        headers["Cookie"] = cookie
    return Request(EnvironBuilder(headers=headers, query_string=query).get_environ())


def basic(text: str) -> dict:
    return {"Authorization": "Basic " + base64.b64encode(text.encode()).decode()}


@pytest.mark.parametrize("scheme, request_, expected", [
    ({"type": "apiKey", "in": "header", "name": "X-Key"}, req({"X-Key": "k1"}), "k1"),
    ({"type": "apiKey", "in": "header", "name": "X-Key"}, req({"X-Key": ""}), ""),  # presented empty: refused
    ({"type": "apiKey", "in": "header", "name": "X-Key"}, req(), None),
    ({"type": "apiKey", "in": "query", "name": "key"}, req(query="key="), ""),
    ({"type": "http", "scheme": "bearer"}, req({"Authorization": ""}), ""),
    ({"type": "http", "scheme": "bearer"}, req({"Authorization": "Bearer"}), ""),
    ({"type": "http", "scheme": "basic"}, req({"Authorization": "Basic "}), ""),
    ({"type": "http", "scheme": "digest"}, req({"Authorization": "Digest"}), ""),
    ({"type": "apiKey", "in": "query", "name": "key"}, req(query="key=k2"), "k2"),
    ({"type": "apiKey", "in": "cookie", "name": "sid"}, req(cookie="sid=k3; other=x"), "k3"),
    ({"type": "apiKey", "in": "cookie", "name": "sid"}, req(), None),
    ({"type": "http", "scheme": "bearer"}, req({"Authorization": "Bearer t1"}), "t1"),
    ({"type": "http", "scheme": "bearer"}, req({"Authorization": "bearer t1"}), None),  # case-sensitive, as ever
    ({"type": "http", "scheme": "Basic"}, req(basic("ann:sécret")), "ann:sécret"),
    ({"type": "http", "scheme": "basic"}, req({"Authorization": "BASIC " + basic("a:b")["Authorization"][6:]}), "a:b"),
    ({"type": "http", "scheme": "basic"}, req({"Authorization": "Basic !!notbase64"}), "Basic !!notbase64"),
    ({"type": "http", "scheme": "basic"}, req(basic("no colon")), basic("no colon")["Authorization"]),
    ({"type": "http", "scheme": "basic"}, req({"Authorization": "Bearer t1"}), None),
    ({"type": "http", "scheme": "digest"}, req({"Authorization": "Digest username=a"}), "username=a"),
    ({"type": "oauth2", "flows": {}}, req({"Authorization": "Bearer t2"}), "t2"),
    ({"type": "openIdConnect", "openIdConnectUrl": "x"}, req({"Authorization": "Bearer t3"}), "t3"),
    ({"type": "mutualTLS"}, req({"Authorization": "Bearer t4"}), None),
])
def test_every_scheme_reads_its_credential(scheme, request_, expected):
    assert read_credential(scheme, request_) == expected


def test_every_scheme_says_what_to_send():
    assert describe_scheme({"type": "apiKey", "in": "cookie", "name": "sid"}) == "the sid cookie"
    assert describe_scheme({"type": "http", "scheme": "bearer"}) == "Authorization: Bearer <token>"
    assert "Basic" in describe_scheme({"type": "http", "scheme": "basic"})
    assert "OAuth 2" in describe_scheme({"type": "oauth2"})
    assert "OpenID" in describe_scheme({"type": "openIdConnect"})
    assert "certificate" in describe_scheme({"type": "mutualTLS"})


# --- through the pipeline --------------------------------------------------------------------------

def shop_app(**settings):
    """The shop document mounted with handlers that record what they were given."""
    seen: list = []

    def record(status, body=None):
        def handler(call):
            seen.append((call.tenant.credential, call.body))
            return Reply(status, body(call) if callable(body) else body)
        return handler

    handlers = {
        "getPets": record(200, []), "addPet": record(201, lambda call: {"id": 1, "name": "x"}),
        "getPetsPetId": record(200, {"name": "x"}), "deletePetsPetId": record(204), "putPhoto": record(204),
        "addNote": record(204), "getTree": record(200, {}), "addOwner": record(201, {"name": "x"}),
    }

    def render_error(error, context):
        return Reply(error.status, {"title": error.message})

    vendor = Vendor("shop", str(SPECS / "shop-3.0.yaml"), handlers, render_error)
    # Errors of operations that document none would be a 500 "not documented": that check is not tested here.
    app = create_app(Settings(vendors=("shop",), validate_responses=False, **settings), vendors={"shop": vendor})
    return app.test_client(), seen


AUTH = basic("ann:secret")


def test_each_declared_media_type_reaches_the_handler_decoded():
    client, seen = shop_app()
    form = client.post("/shop/v1/pets", data="name=Rex&price=2&colour=red", headers={
        **AUTH, "Content-Type": "application/x-www-form-urlencoded"})
    assert form.status_code == 201, form.json
    assert seen[-1] == ("ann:secret", {"name": "Rex", "price": 2})  # unknown `colour` dropped
    xml = client.post("/shop/v1/pets", data="<pet><name>Rex</name><tags><tag>a</tag></tags></pet>",
                      headers={**AUTH, "Content-Type": "application/xml"})
    assert xml.status_code == 201 and seen[-1][1] == {"name": "Rex", "tags": ["a"]}
    photo = client.put("/shop/v1/pets/3/photo", data=b"\x00\x01", headers={
        **AUTH, "Content-Type": "application/octet-stream"})
    assert photo.status_code == 204 and seen[-1][1] == b"\x00\x01"
    owner = client.post("/shop/v1/owners", data='{"name": "Ann"}', headers={
        **AUTH, "Content-Type": "application/vnd.shop+json"})
    assert owner.status_code == 201 and seen[-1][1] == {"name": "Ann"}


def test_bodies_are_validated_against_their_media_types_schema():
    client, _ = shop_app()
    missing = client.post("/shop/v1/pets", data="price=2", headers={
        **AUTH, "Content-Type": "application/x-www-form-urlencoded"})
    assert missing.status_code == 422 and "name" in missing.json["title"]
    typed = client.post("/shop/v1/pets", data="name=R&price=0", headers={
        **AUTH, "Content-Type": "application/x-www-form-urlencoded"})
    assert typed.status_code == 422 and "price" in typed.json["title"]  # 3.0's exclusiveMinimum: true
    long_note = client.post("/shop/v1/notes?key=k", data="x" * 21, headers={"Content-Type": "text/plain"})
    assert long_note.status_code == 422


def test_an_undeclared_media_type_is_a_415_naming_the_declared_ones():
    client, _ = shop_app()
    answer = client.post("/shop/v1/pets", data="a,b", headers={**AUTH, "Content-Type": "text/csv"})
    assert answer.status_code == 415
    assert "application/xml" in answer.json["title"] and "multipart/form-data" in answer.json["title"]


def test_malformed_xml_is_a_400():
    client, _ = shop_app()
    answer = client.post("/shop/v1/pets", data=BILLION_LAUGHS, headers={**AUTH, "Content-Type": "application/xml"})
    assert answer.status_code == 400 and "document type" in answer.json["title"]


def test_security_schemes_of_every_type_through_the_pipeline():
    client, seen = shop_app()
    assert client.get("/shop/v1/pets", headers=AUTH).status_code == 200
    assert client.get("/shop/v1/pets", headers={"Authorization": "Bearer tok"}).status_code == 200  # oauth2
    assert seen[-1][0] == "tok"
    assert client.get("/shop/v1/pets").status_code == 401
    refused = client.get("/shop/v1/pets", headers={"Authorization": "Basic %%%"})
    assert refused.status_code == 200  # no --api-key: any credential presented is a tenant
    assert client.get("/shop/v1/pets/1").status_code == 200  # `security: [{}, ...]`: none needed
    client.set_cookie("sid", "cookie-key")
    assert client.get("/shop/v1/pets/1").status_code == 200 and seen[-1][0] == "cookie-key"
    assert client.delete("/shop/v1/pets/1").status_code == 204  # mutualTLS only: nothing to ask for


def test_api_key_for_basic_is_user_colon_password():
    client, _ = shop_app(api_keys=(("shop", "ann:secret"),))
    assert client.get("/shop/v1/pets", headers=AUTH).status_code == 200
    wrong = client.get("/shop/v1/pets", headers=basic("ann:guess"))
    assert wrong.status_code == 401 and "refused" in wrong.json["title"]
    malformed = client.get("/shop/v1/pets", headers={"Authorization": "Basic %%%"})
    assert malformed.status_code == 401 and "refused" in malformed.json["title"]
    missing = client.get("/shop/v1/pets")
    assert missing.status_code == 401 and "Basic" in missing.json["title"]


def test_a_binary_part_without_a_filename_is_a_file_and_json_text_fills_an_object_branch():
    from mockserver.spec import MediaSpec

    schema = {"type": "object", "properties": {
        "files": {"oneOf": [{"type": "array", "items": {"type": "string", "format": "binary"}},
                            {"type": "string", "format": "binary"}]},
        "chunking": {"anyOf": [{"type": "string", "enum": ["auto"]},
                               {"type": "object", "properties": {"type": {"type": "string"}}}]}}}
    media = MediaSpec("multipart/form-data", schema, None)
    raw = (b'--XX\r\nContent-Disposition: form-data; name="files"\r\n\r\n\xff\x00\x01\r\n'
           b'--XX\r\nContent-Disposition: form-data; name="chunking"\r\n\r\n{"type": "server_vad"}\r\n--XX--\r\n')
    value = decode(raw, "multipart/form-data; boundary=XX", media)
    assert value["files"] == ["\ufffd\x00\x01"]  # bytes, not a 400 for text that is not UTF-8
    assert value["chunking"] == {"type": "server_vad"}
    raw = b'--XX\r\nContent-Disposition: form-data; name="chunking"\r\n\r\nauto\r\n--XX--\r\n'
    assert decode(raw, "multipart/form-data; boundary=XX", media)["chunking"] == "auto"


def test_the_text_null_is_null_where_only_listed_strings_or_null_are_taken():
    from mockserver.spec import MediaSpec

    schema = {"type": "object", "properties": {
        "fidelity": {"anyOf": [{"type": "string", "enum": ["high", "low"]}, {"type": "null"}]},  # OpenAI's
        "label": {"anyOf": [{"type": "string"}, {"type": "null"}]},
        "mode": {"anyOf": [{"type": "string", "enum": ["null", "auto"]}, {"type": "null"}]}}}
    media = MediaSpec("multipart/form-data", schema, None)
    raw = b"".join(b'--XX\r\nContent-Disposition: form-data; name="%s"\r\n\r\nnull\r\n' % name
                   for name in (b"fidelity", b"label", b"mode")) + b"--XX--\r\n"
    value = decode(raw, "multipart/form-data; boundary=XX", media)
    assert value == {"fidelity": None, "label": "null", "mode": "null"}  # a free string, or a listed "null": text
    form = decode("name=R&kind=null&nickname=null", "application/x-www-form-urlencoded")
    assert (form["kind"], form["nickname"]) == (None, "null")
