"""A request body of any media type as the JSON-like value its OpenAPI schema validates.

    JSON, `+json`                      strict JSON (no NaN, UTF-8 with an optional BOM, lone surrogates
                                       repaired), as the pipeline always read it
    application/x-www-form-urlencoded  fields -> an object, each value read as its property's type
    multipart/form-data                the same; a file part's content is text (base64 when the
                                       property says `contentEncoding: base64` or `format: byte`)
    application/xml, text/xml, +xml    elements -> properties by the schema (`xml.name`, `xml.attribute`,
                                       `xml.wrapped`); no DTD, so no entity expansion of any kind
    text/*                             a string (the `charset` parameter, UTF-8 by default)
    anything else (octet-stream ...)   the bytes as they came: checked only for size

Malformed input raises `MalformedBody` naming the problem. `pick_media` chooses which declared media
type a request's Content-Type falls under. Nothing here knows a vendor or a request object."""

from __future__ import annotations

import base64
import math
import re
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

if TYPE_CHECKING:
    from xml.etree import ElementTree

    from werkzeug.datastructures import MultiDict

from mockserver import jsontext
from mockserver.errors import Issue, MalformedBody
from mockserver.spec import MediaSpec, is_json_media

_INTEGER = re.compile(r"[+-]?\d{1,100}")  # the schema bounds it (int64, maximum), not the parser
_XSI_NIL = "http://www.w3.org/2001/XMLSchema-instance}nil"


def pick_media(body_media: dict[str, MediaSpec], mimetype: str) -> MediaSpec | None:
    """The declared media type a request's falls under: exact, then `type/*`, then `*/*`. A JSON
    request (`application/x+json`) is also read by the declared JSON type, as the pipeline always did."""
    mimetype = (mimetype or "").lower()
    found = body_media.get(mimetype) or body_media.get(mimetype.split("/", 1)[0] + "/*") if mimetype else None
    if found is None and mimetype:
        found = body_media.get("*/*")
    if found is None and is_json_media(mimetype):
        found = body_media.get("application/json") or next(
            (media for key, media in body_media.items() if is_json_media(key)), None)
    return found


def kind_of(mimetype: str) -> str:
    """"json", "form", "multipart", "xml", "text" or "binary"."""
    mimetype = (mimetype or "").lower()
    if is_json_media(mimetype) or mimetype == "text/json":
        return "json"
    if mimetype == "application/x-www-form-urlencoded":
        return "form"
    if mimetype.startswith("multipart/"):
        return "multipart"
    if mimetype in ("application/xml", "text/xml") or mimetype.endswith("+xml"):
        return "xml"
    if mimetype.startswith("text/"):
        return "text"
    return "binary"


def decode_body(raw: bytes, mimetype: str, media: MediaSpec | None, content_type: str = "") -> Any:
    """The body as the value `media`'s schema validates. `content_type` is the full header (for the
    multipart boundary and the charset); `mimetype` its lower-case type without parameters."""
    schema = media.schema if media is not None else {}
    kind = kind_of(mimetype)
    if kind in ("form", "multipart", "xml") and types_of(schema) == {"string"}:
        kind = "text"  # a body whose schema is a string (`*/*: {type: string}`) is the text itself
    if kind == "json":
        return _json(raw)
    if kind == "form":
        return _form(raw, schema, media)
    if kind == "multipart":
        return _multipart(raw, _options(content_type).get("boundary"), schema, media)
    if kind == "xml":
        return _xml(raw, schema)
    if kind == "text":
        return _text(raw, _options(content_type).get("charset") or "utf-8")
    return raw


def _options(content_type: str) -> dict[str, str]:
    """The header's parameters, as werkzeug reads them (imported here: a JSON body never needs it,
    and werkzeug's import is most of a start that serves JSON alone)."""
    from werkzeug.http import parse_options_header

    return parse_options_header(content_type)[1] if content_type else {}


def size_issues(raw: bytes, schema: dict) -> list[Issue]:
    """A binary body is checked only for size: the schema's `maxLength`/`minLength`, in bytes."""
    issues = []
    for word, broken in (("maxLength", lambda limit: len(raw) > limit), ("minLength", lambda limit: len(raw) < limit)):
        limit = schema.get(word)
        if isinstance(limit, int) and broken(limit):
            issues.append(Issue("body", (), word, f"body: {len(raw)} bytes, the {word} is {limit}", len(raw), limit))
    return issues


# --- JSON and text ---------------------------------------------------------------------------------

def _json(raw: bytes) -> Any:
    try:
        return jsontext.loads(raw)
    except UnicodeDecodeError:
        raise MalformedBody("the request body is not valid UTF-8") from None
    except RecursionError:
        raise MalformedBody("the request body is nested too deeply") from None
    except ValueError as error:
        raise MalformedBody(f"the request body is not valid JSON: {error}") from None


def _text(raw: bytes, charset: str) -> str:
    try:  # `charset=unicode_escape` can make lone surrogates, which no answer could encode later
        return jsontext.repair_surrogates(raw.decode(charset))
    except LookupError:
        raise MalformedBody(f"the request body's charset {charset!r} is unknown") from None
    except UnicodeDecodeError as error:
        raise MalformedBody(f"the request body is not valid {charset} text: byte {error.start}") from None


# --- forms -----------------------------------------------------------------------------------------

def _form(raw: bytes, schema: dict, media: MediaSpec | None) -> dict:
    try:
        text = raw.decode("ascii")
        pairs = parse_qsl(text, keep_blank_values=True, encoding="utf-8", errors="strict")
    except UnicodeDecodeError:
        raise MalformedBody("the form body is not percent-encoded UTF-8 text") from None
    except ValueError as error:
        raise MalformedBody(f"the form body is malformed: {error}") from None
    from werkzeug.datastructures import MultiDict

    fields: MultiDict = MultiDict(pairs)
    return _fields(fields, schema, media.encoding if media is not None else {})


def _multipart(raw: bytes, boundary: str | None, schema: dict, media: MediaSpec | None) -> dict:
    if not boundary:
        raise MalformedBody("the multipart body has no boundary in its Content-Type")
    from werkzeug.datastructures import MultiDict
    from werkzeug.sansio.multipart import Data, Epilogue, Field, File, MultipartDecoder, NeedData

    decoder = MultipartDecoder(boundary.encode("latin-1", "replace"))
    decoder.receive_data(raw)
    decoder.receive_data(None)
    parts: list[tuple[str, str, bool, bytearray]] = []  # name, content type, a file, content
    try:
        while True:
            event = decoder.next_event()
            if isinstance(event, (Field, File)):
                if event.name is None:  # `name=""` is a name: the property "" (additionalProperties may take it)
                    raise MalformedBody("the multipart body has a part without a name")
                part_type = event.headers.get("Content-Type", "").split(";", 1)[0].strip().lower()
                parts.append((event.name, part_type, isinstance(event, File), bytearray()))
            elif isinstance(event, Data) and parts:
                parts[-1][3].extend(event.data)
            elif isinstance(event, (Epilogue, NeedData)):
                break
    except ValueError as error:
        raise MalformedBody(f"the multipart body is malformed: {error}") from None
    if isinstance(event, NeedData):
        raise MalformedBody("the multipart body is malformed: it ends before its closing boundary")
    properties = _properties(schema)
    fields: MultiDict = MultiDict()
    for name, part_type, is_file, content in parts:
        prop = properties.get(name, {})
        prop = _items(prop) if "array" in types_of(prop) else prop
        data = bytes(content)
        if is_file or (kind_of(part_type) == "binary" and part_type) or _binary(properties.get(name, {})):
            fields.add(name, _file_text(data, prop))
        elif kind_of(part_type) == "json":
            fields.add(name, _Parsed(_json(data)))
        else:  # text; an object or array property may come as JSON text, read by its schema
            fields.add(name, _text(data, "utf-8"))
    return _fields(fields, schema, media.encoding if media is not None else {})


def _binary(schema: Any, depth: int = 0) -> bool:
    """Whether a property holds file content (`format: binary`, a `contentMediaType`), itself, as its
    items or in a oneOf/anyOf branch: a part sent without a filename is still a file then, its bytes
    not text."""
    if not isinstance(schema, dict) or depth > 8:
        return False
    if schema.get("format") == "binary" or "contentMediaType" in schema:
        return True
    branches = [schema.get("items"), *(schema.get("oneOf") or ()), *(schema.get("anyOf") or ())]
    return any(_binary(branch, depth + 1) for branch in branches)


class _Parsed:
    """A part already read as JSON (its Content-Type said so): taken as it is, never coerced."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value


def _file_text(data: bytes, schema: dict) -> str:
    """A file's content as a string: base64 where the schema asks for it, else its UTF-8 text (bytes
    that are not UTF-8 become U+FFFD)."""
    if schema.get("contentEncoding") == "base64" or schema.get("format") == "byte":
        return base64.b64encode(data).decode("ascii")
    return data.decode("utf-8", errors="replace")


def _fields(fields: MultiDict, schema: dict, encoding: dict) -> dict:
    """Form fields as an object: repeated keys an array, `a[b]=1` an object, each value as its
    property's type (a nested object may also come as JSON text)."""
    properties = _properties(schema)
    result: dict[str, Any] = {}
    for name in fields:
        values = fields.getlist(name)
        root, path = _bracketed(name)
        if name not in properties and path and "object" in types_of(properties.get(root, {})):
            target = result.get(root)
            if not isinstance(target, dict):
                target = result[root] = {}  # `a[b]=1` wins over a plain `a=...`
            prop = properties[root]
            for part in path[:-1]:
                prop = _properties(prop).get(part, {})
                inner = target.get(part)
                if not isinstance(inner, dict):
                    inner = target[part] = {}
                target = inner
            target[path[-1]] = _field_value(values, _properties(prop).get(path[-1], {}), {})
            continue
        result[name] = _field_value(values, properties.get(name, {}), _mapping(encoding.get(name)))
    # A required array the form leaves out is missing, as in the same JSON (a 422 naming it): a form
    # cannot tell an empty array from none, and the mock is never more permissive than the API.
    return result


def _field_value(values: list, schema: dict, encoding: dict) -> Any:
    if "array" in types_of(schema):
        items = _items(schema)
        if len(values) == 1 and isinstance(values[0], str):
            separator = {"spaceDelimited": " ", "pipeDelimited": "|"}.get(encoding.get("style", ""), ",")
            if encoding.get("explode") is False or encoding.get("style") in ("spaceDelimited", "pipeDelimited"):
                values = values[0].split(separator) if values[0] else []
            elif values[0].startswith("["):
                parsed = _maybe_json(values[0])
                if isinstance(parsed, list):
                    return parsed
        return [_coerce(value, items) for value in values]
    return _coerce(values[-1], schema)


def _bracketed(name: str) -> tuple[str, list[str]]:
    """`owner[address][city]` -> ("owner", ["address", "city"]); a plain name has no path."""
    match = re.fullmatch(r"([^\[\]]+)((?:\[[^\[\]]*\])+)", name)
    if not match:
        return name, []
    return match.group(1), re.findall(r"\[([^\[\]]*)\]", match.group(2))


def _coerce(value: Any, schema: dict) -> Any:
    """A text value as its schema's type when it reads as one; else left as text for the validator to
    refuse with a message naming the type."""
    if isinstance(value, _Parsed):
        return value.value
    if not isinstance(value, str):
        return value
    kinds = types_of(schema)
    if value == "" and "null" in kinds and "" not in (schema.get("enum") or [""]):
        return None  # an empty field for a nullable enum without "": null
    if value == "null" and "null" in kinds and _listed_strings_only(schema, value):
        return None  # `anyOf: [{enum: [high, low]}, {type: "null"}]`: the text null is the null
    text = value.strip()
    if "string" in kinds and kinds & {"object", "array"} and text[:1] in ("{", "["):
        # `anyOf: [{enum: [auto]}, {type: object}]`: JSON text of an object is the object
        parsed = _maybe_json(text)
        if isinstance(parsed, dict | list):
            return parsed
    if not kinds or "string" in kinds:
        return value
    if "integer" in kinds and _INTEGER.fullmatch(text):
        return int(text)
    if "number" in kinds:
        if _INTEGER.fullmatch(text):
            return int(text)
        try:
            number = float(text)
        except ValueError:
            number = math.nan
        if math.isfinite(number):
            return number
    if "boolean" in kinds and text in ("true", "false"):
        return text == "true"
    if "null" in kinds and text in ("", "null"):
        return None
    if kinds & {"object", "array"}:
        parsed = _maybe_json(text)
        if parsed is not None:
            return parsed
    return value


def _listed_strings_only(schema: Any, text: str) -> bool:
    """Whether every part of the schema that takes a string takes only those its `enum` or `const`
    lists, and this text is not one of them."""
    if not isinstance(schema, dict):
        return True
    kind = schema.get("type")
    if kind == "string" or isinstance(kind, list) and "string" in kind or kind is None and (
            "enum" in schema or "const" in schema):
        listed = schema.get("enum") if isinstance(schema.get("enum"), list) \
            else [schema["const"]] if "const" in schema else None
        if listed is None or text in listed:
            return False
    return all(_listed_strings_only(sub, text)
               for word in ("allOf", "anyOf", "oneOf") for sub in schema.get(word) or ())


def _maybe_json(text: str) -> Any:
    try:
        return jsontext.loads(text.encode("utf-8"))
    except (ValueError, RecursionError):
        return None


# --- XML -------------------------------------------------------------------------------------------

class _Refused(Exception):
    pass


def _xml(raw: bytes, schema: dict) -> Any:
    try:
        root = _parse_xml(raw)
        return _xml_value(root, schema)
    except RecursionError:
        raise MalformedBody("the XML body is nested too deeply") from None


def _parse_xml(raw: bytes) -> ElementTree.Element:
    """Well-formed XML without a DTD: a document type declaration (and so any entity, internal or
    external: the billion laughs, XXE) is refused. Namespaces are dropped from names. (XML is
    imported here: most mocks never read an XML body.)"""
    from xml.etree import ElementTree
    from xml.parsers import expat

    builder = ElementTree.TreeBuilder()
    parser = expat.ParserCreate(namespace_separator="}")

    def local(name: str) -> str:
        return name.rsplit("}", 1)[-1]

    def start(tag: str, attributes: dict) -> None:
        nil = attributes.get(_XSI_NIL)
        kept = {local(key): value for key, value in attributes.items()}
        if nil is not None:
            kept[_XSI_NIL] = nil
        builder.start(local(tag), kept)

    def refuse(*_args: Any) -> None:
        raise _Refused

    parser.StartElementHandler = start
    parser.EndElementHandler = lambda tag: builder.end(local(tag))
    parser.CharacterDataHandler = builder.data
    parser.StartDoctypeDeclHandler = refuse
    parser.EntityDeclHandler = refuse
    parser.ExternalEntityRefHandler = refuse
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    parser.buffer_text = True
    try:
        parser.Parse(raw, True)
    except _Refused:
        raise MalformedBody("the XML body declares a document type (DTD): not accepted") from None
    except expat.ExpatError as error:
        raise MalformedBody(f"the request body is not well-formed XML: {expat.ErrorString(error.code)} "
                            f"at line {error.lineno}, column {error.offset}") from None
    return builder.close()


def _xml_value(element: ElementTree.Element, schema: dict) -> Any:
    if element.get(_XSI_NIL) in ("true", "1"):
        return None
    kinds = types_of(schema)
    children = list(element)
    if not children and (element.text or "").strip() and kinds & {"object", "array"} \
            and not kinds & {"string", "number", "integer", "boolean"}:
        return _coerce(element.text, {})  # text where elements belong: left for the validator to refuse
    if "object" in kinds or (not kinds and _properties(schema)):
        return _xml_object(element, schema)
    if "array" in kinds:
        items = _items(schema)
        return [_xml_value(child, items) for child in children]
    if not kinds and children:  # a schema that allows anything: the elements as they are
        return _xml_object(element, {})
    return _coerce(element.text or "", schema)


def _xml_object(element: ElementTree.Element, schema: dict) -> dict:
    properties = _properties(schema)
    result: dict[str, Any] = {}
    used: set[int] = set()
    children = list(element)
    for name, prop in properties.items():
        hints = _mapping(prop.get("xml"))
        # The property's own `xml.name`, else its name; an inlined $ref's `xml.name` (meant for the
        # schema as a root or an item) cannot be told apart from the property's, so both are accepted.
        tags = (hints.get("name") or name, name)
        if hints.get("attribute"):
            tag = next((tag for tag in tags if tag in element.attrib), None)
            if tag is not None:
                result[name] = _coerce(element.attrib[tag], prop)
            continue
        if "array" in types_of(prop):
            items = _items(prop)
            item_tags = (_mapping(items.get("xml")).get("name") or tags[0], *tags)
            if hints.get("wrapped"):
                wrapper = next((child for child in children if child.tag in tags and id(child) not in used), None)
                if wrapper is not None:
                    used.add(id(wrapper))
                    result[name] = [_xml_value(child, items) for child in wrapper]
            else:
                found = [child for child in children if child.tag in item_tags and id(child) not in used]
                if found:
                    used.update(id(child) for child in found)
                    result[name] = [_xml_value(child, items) for child in found]
            continue
        child = next((child for child in children if child.tag in tags and id(child) not in used), None)
        if child is not None:
            used.add(id(child))
            result[name] = _xml_value(child, prop)
    for child in children:  # elements the schema does not name: kept (the pipeline drops and reports them)
        if id(child) not in used and child.tag not in result:
            result[child.tag] = _xml_value(child, {})
    return result


# --- schema reading --------------------------------------------------------------------------------

def _mapping(node: Any) -> dict:
    return node if isinstance(node, dict) else {}


def types_of(schema: Any) -> set[str]:
    """The types a schema names, looking through allOf/anyOf/oneOf (a 3.0 `nullable` became one)."""
    if not isinstance(schema, dict):
        return set()
    kind = schema.get("type")
    if isinstance(kind, str):
        return {kind}
    if isinstance(kind, list):
        return {k for k in kind if isinstance(k, str)}
    found: set[str] = set()
    for word in ("allOf", "anyOf", "oneOf"):
        for sub in schema.get(word) or ():
            found |= types_of(sub)
    if not found and isinstance(schema.get("properties"), dict):
        found.add("object")
    return found


def _properties(schema: Any) -> dict:
    """The properties a schema names, its allOf/anyOf/oneOf branches' included."""
    if not isinstance(schema, dict):
        return {}
    found = dict(_mapping(schema.get("properties")))
    for word in ("allOf", "anyOf", "oneOf"):
        for sub in schema.get(word) or ():
            for name, prop in _properties(sub).items():
                found.setdefault(name, prop)
    return found


def _items(schema: Any) -> dict:
    if not isinstance(schema, dict):
        return {}
    items = schema.get("items")
    if isinstance(items, dict):
        return items
    for word in ("allOf", "anyOf", "oneOf"):
        for sub in schema.get(word) or ():
            if "array" in types_of(sub):
                return _items(sub)
    return {}

