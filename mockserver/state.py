"""State export and import, in API-shaped projects per tenant, and the `--fixtures` files that use
the same format:

    {"tenants": [{"vendor": "shop", "credential": "sk-test", "sequence": 3,
                  "projects": [{"displayName": "Acme", "externalId": "acme-1"}, ...]}]}

A collection nested under a parent (`/owners/{ownerId}/pets`) is a list of groups, one per parent:
`"pets": [{"parent": {"ownerId": 1}, "items": [{"name": "Rex"}, ...]}]`; the parent must be in
the same tenant's state when it is an item of a collection too.

An import is checked whole before anything is stored: the shape (admin.yaml's `State`), each
project against the vendor spec's `Project` schema (only the create request's required fields are
mandatory), uniqueness within the tenant and the credential. Then the named tenants are replaced
in one `Store.load` (all or nothing). Vendor specifics are the vendor's `StateFormat`.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mockserver.errors import Issue
from mockserver.inference import without_required
from mockserver.pipeline import schema_issues
from mockserver.spec import compile_schema, load_spec, specs_dir
from mockserver.store import Tenant
from mockserver.vendors.base import Call, StateFormat

if TYPE_CHECKING:
    from mockserver.exchange import Mount
    from mockserver.runtime import Runtime

MAX_ISSUES = 20


class StateError(ValueError):
    """A state document the mock refuses; `issues` are (field path, reason), the first is the message."""

    def __init__(self, issues: list[tuple[str, str]], source: str = "") -> None:
        self.issues = issues
        self.source = source
        name, detail = issues[0]
        more = f" (and {len(issues) - 1} more)" if len(issues) > 1 else ""
        super().__init__(f"{source + ': ' if source else ''}{name}: {detail}{more}")


# --- export --------------------------------------------------------------------------------------

def export_state(runtime: Runtime, vendor: str | None = None, credential: str | None = None) -> dict:
    tenants = []
    for data in runtime.store.export():
        mount = runtime.mounts.get(data["vendor"])
        if (mount is None or not mount.vendor.formats or (vendor is not None and data["vendor"] != vendor)
                or (credential is not None and data["credential"] != credential)):
            continue
        tenant = {"vendor": data["vendor"], "credential": data["credential"], "sequence": data["seq"]}
        for form in mount.vendor.formats:
            call = _call(runtime, mount, form, Tenant(data["vendor"], data["credential"]))
            if form.scope is None:
                rows = data["collections"].get(form.collection, [])
                tenant[form.collection] = [form.export(row["record"], call) for row in rows]
            else:
                tenant[form.collection] = _groups(form, data["collections"], call)
        tenants.append(tenant)
    return {"tenants": tenants}


def _groups(form: StateFormat, collections: dict[str, list[dict]], call: Call) -> list[dict]:
    """A nested collection's objects, one group per parent that has any, oldest group first."""
    found = []
    for name, rows in collections.items():
        parent = form.scope.parent_of(name) if form.scope else None
        if parent is not None and rows:
            found.append((rows[0]["seq"], {"parent": parent,
                                           "items": [form.export(row["record"], call) for row in rows]}))
    return [group for _, group in sorted(found, key=lambda pair: pair[0])]


# --- import --------------------------------------------------------------------------------------

def import_state(runtime: Runtime, document: Any) -> list[Tenant]:
    """Replace the tenants the document names; `StateError` (nothing stored) if any record is bad."""
    shape = [(issue.dotted or "(the document)", _reason(issue.message))
             for issue in schema_issues(_document_validator(), document, "body", ())]
    if shape:
        raise StateError(shape[:MAX_ISSUES])
    issues: list[tuple[str, str]] = []
    loads, seen = [], {}
    for index, item in enumerate(document["tenants"]):
        where = f"tenants[{index}]"
        tenant = Tenant(item["vendor"], item["credential"])
        if tenant in seen:
            issues.append((where, f"the same tenant as tenants[{seen[tenant]}]"))
            continue
        seen[tenant] = index
        loaded = _tenant(runtime, tenant, item, where, issues)
        if loaded is not None:
            loads.append(loaded)
        if len(issues) >= MAX_ISSUES:
            break
    if issues:
        raise StateError(issues[:MAX_ISSUES])
    runtime.store.load(loads)
    return list(seen)


def _tenant(runtime: Runtime, tenant: Tenant, item: dict, where: str,
            issues: list[tuple[str, str]]) -> dict | None:
    """One tenant as `Store.load` takes it, or None after adding its issues."""
    mount = runtime.mounts.get(tenant.vendor)
    formats = mount.vendor.formats if mount is not None else ()
    if not formats:
        served = ", ".join(name for name, m in runtime.mounts.items() if m.vendor.formats)
        issues.append((f"{where}.vendor", f"{tenant.vendor!r} is not a vendor with state here (served: {served})"))
        return None
    known = {form.collection for form in formats}
    unknown = sorted(set(item) - {"vendor", "credential", "sequence"} - known)
    if unknown:
        issues.append((f"{where}.{unknown[0]}", f"{tenant.vendor} has no collection {unknown[0]!r} "
                                                f"(its collections: {', '.join(sorted(known))})"))
        return None
    if not _accepted(runtime, mount, formats[0], tenant.credential):
        issues.append((f"{where}.credential", f"{tenant.vendor} would refuse this credential, so no request "
                                              f"could reach these {formats[0].collection}"))
        return None
    before = len(issues)
    members = {form.collection: _members(form, item.get(form.collection, []), where, issues) for form in formats}
    for form in formats:
        validator = _object_validator(mount, form)
        for prefix, _, obj in members[form.collection]:
            found = schema_issues(validator, obj, "body", prefix)
            issues.extend((f"{where}.{issue.dotted}", _reason(issue.message)) for issue in found[:3])
    if len(issues) > before:
        return None
    base = item.get("sequence", 0)
    taken: set[int] = set()
    last = base
    collections = {}
    for form in formats:
        objects = [obj for _, _, obj in members[form.collection]]
        call = _call(runtime, mount, form, tenant)
        recognized = form.sequence_of(objects, call, base) if form.sequence_of else [None] * len(objects)
        seqs, last = _numbers(recognized, base, taken, last)
        owners: dict[tuple[str, str, str], str] = {}  # unique per store collection: per parent when nested
        if form.scope is None:
            collections.setdefault(form.collection, [])  # kept when empty, as before
        for (prefix, store, obj), seq in zip(members[form.collection], seqs, strict=True):
            name = Issue("body", prefix, "", "").dotted
            record, unique = form.restore(obj, call, seq)
            for index, key in {"id": record["id"], **unique}.items():
                if key is None:
                    continue
                if (store, index, key) in owners:
                    shown = obj.get(index, key)  # the field's value, not the index key built from it
                    issues.append((f"{where}.{name}.{index}",
                                   f"{shown!r} is already used by {owners[store, index, key]}"))
                owners[store, index, key] = name
            collections.setdefault(store, []).append(
                {"seq": seq, "record": record, "unique": {k: v for k, v in unique.items() if v is not None}})
    issues.extend(_orphans(formats, item, collections, where))
    if len(issues) > before:
        return None
    return {"vendor": tenant.vendor, "credential": tenant.credential, "seq": last, "collections": collections}


def _members(form: StateFormat, value: list, where: str,
             issues: list[tuple[str, str]]) -> list[tuple[tuple, str, dict]]:
    """The objects of a collection in a tenant's state: (where it is, its store collection, object).
    A nested collection's are in groups, `{"parent": {...}, "items": [...]}`; a bad group adds issues."""
    if form.scope is None:
        return [((form.collection, position), form.collection, obj) for position, obj in enumerate(value)]
    validator = compile_schema({"type": "object", "additionalProperties": False, "required": ["parent", "items"],
                                "properties": {"parent": form.scope.schema,
                                               "items": {"type": "array", "items": {"type": "object"}}}},
                               f"{form.collection} (state import)")
    members = []
    for number, group in enumerate(value):
        if not isinstance(group, dict) or not {"parent", "items"} <= group.keys():
            shown = ", ".join(f'"{name}": ...' for name in form.scope.params)
            issues.append((f"{where}.{form.collection}[{number}]",
                           f'{form.collection} is a nested collection: give groups, {{"parent": {{{shown}}}, '
                           f'"items": [...]}}'))
            continue
        found = schema_issues(validator, group, "body", (form.collection, number))
        if found:
            issues.extend((f"{where}.{issue.dotted}", _reason(issue.message)) for issue in found[:3])
            continue
        store = form.scope.store_name(group["parent"])
        members.extend(((form.collection, number, "items", position), store, obj)
                       for position, obj in enumerate(group["items"]))
    return members


def _orphans(formats: tuple[StateFormat, ...], item: dict, collections: dict[str, list[dict]],
             where: str) -> list[tuple[str, str]]:
    """Groups whose parent is an item of a collection this tenant's state does not hold: no request
    could reach them (the parent is a 404)."""
    known = {form.collection for form in formats}
    ids = {name: {row["record"]["id"] for row in rows} for name, rows in collections.items()}
    issues = []
    for form in formats:
        if form.scope is None:
            continue
        for number, group in enumerate(item.get(form.collection, [])):
            owner = form.scope.owner(group["parent"])
            if owner is None or owner[0] not in known:
                continue
            parent, store, record_id = owner
            if record_id not in ids.get(store, ()):
                issues.append((f"{where}.{form.collection}[{number}].parent",
                               f"{parent} has no item {record_id!r} in this tenant's state, "
                                              f"and {form.collection} need their parent"))
    return issues


def _numbers(originals: list[int | None], base: int, taken: set[int], last: int) -> tuple[list[int], int]:
    """Each object's sequence number: the one it was made with when the vendor recognizes it (and
    it is free and not after `base`), else the next free ones after `last`, in document order.
    `taken` is shared by the tenant's collections; the new last number comes back."""
    numbers: list[int | None] = []
    for seq in originals:
        fits = seq is not None and 1 <= seq <= base and seq not in taken
        numbers.append(seq if fits else None)
        if fits:
            taken.add(seq)
    following = iter(range(last + 1, last + 1 + numbers.count(None)))
    result = [seq if seq is not None else next(following) for seq in numbers]
    taken.update(result)
    return result, max([last, *result])


def _accepted(runtime: Runtime, mount: Mount, form: StateFormat, credential: str) -> bool:
    """Whether a request with this credential would reach the tenant (`--api-key` included)."""
    allowed = runtime.allowed_keys.get(mount.vendor.name)
    if allowed is not None and credential not in allowed:
        return False
    security = mount.spec.operations[form.read].security
    return not security or any(mount.vendor.accept_credential(name, scheme, credential) for name, scheme in security)


def _object_validator(mount: Mount, form: StateFormat):
    """The read operation's 200 schema with every `required` dropped, then requiring what the create
    operation's body requires: any field given must be valid, the rest is filled in. A format may
    give the schema itself."""
    if form.schema is not None:
        return compile_schema(form.schema, f"{mount.vendor.name} {form.collection} (state import)")
    read = mount.spec.operations[form.read].response(200).validator.schema
    create = (mount.spec.operations[form.create].body_schema if form.create else None) or {}
    schema = {**without_required(read), "required": list(create.get("required", []))}
    return compile_schema(schema, f"{mount.vendor.name} {form.read} (state import)")


def _call(runtime: Runtime, mount: Mount, form: StateFormat, tenant: Tenant) -> Call:
    operation = mount.spec.operations[form.read]
    return Call(operation, tenant, None, {}, {}, runtime.store, runtime.determinism)


def _reason(message: str) -> str:
    """The schema message without the location `schema_issues` puts in front (we name it ourselves)."""
    return message.split(": ", 1)[-1]


def _document_validator():
    """The shape of a state document: admin.yaml's `State` (importState's body)."""
    return load_spec(specs_dir() / "admin.yaml", "admin").operations["importState"].body_validator


# --- fixture files -------------------------------------------------------------------------------

@functools.cache
def _yaml_loader() -> type:
    """Safe YAML that keeps unquoted times as strings, as the API has them (`created: 2025-01-01T...Z`).
    Made on first use: a start without fixtures imports no YAML."""
    import yaml

    class YamlLoader(yaml.SafeLoader):
        pass

    YamlLoader.yaml_implicit_resolvers = {
        first: [(tag, pattern) for tag, pattern in resolvers if tag != "tag:yaml.org,2002:timestamp"]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }
    return YamlLoader


def read_document(path: Path) -> Any:
    """A state document from a YAML or JSON file (`.json` is read as JSON, anything else as YAML)."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as error:
        raise StateError([("(the file)", f"cannot read it: {error.strerror}")], str(path)) from None
    except UnicodeDecodeError:
        raise StateError([("(the file)", "is not UTF-8 text")], str(path)) from None
    import yaml

    try:
        return json.loads(text) if Path(path).suffix.lower() == ".json" else yaml.load(text, Loader=_yaml_loader())
    except (ValueError, yaml.YAMLError) as error:
        raise StateError([("(the file)", f"cannot parse it: {' '.join(str(error).split())}")], str(path)) from None


def load_fixtures(runtime: Runtime, path: Path) -> list[Tenant]:
    """Import one fixtures file; a bad one raises `StateError` naming the file, record and field."""
    try:
        return import_state(runtime, read_document(path))
    except StateError as error:
        if error.source:
            raise
        raise StateError(error.issues, str(path)) from None
