"""Where a request carries the credential each OpenAPI security scheme names, and how to ask for it.

`read_credential` returns the credential's value, or None when the request does not present one. A
credential presented in a form no key can have (HTTP basic that is not base64 of `user:password`)
returns the raw header: the caller then refuses it as it refuses any unknown key (401), never as
"no credential". Nothing here knows a vendor."""

from __future__ import annotations

import base64
import binascii
from typing import Any


def read_credential(scheme: dict, request: Any) -> str | None:
    """The credential `scheme` reads from `request` (a Flask or werkzeug request), or None."""
    kind = scheme.get("type")
    if kind == "apiKey":
        name, where = scheme.get("name", ""), scheme.get("in")
        if where == "header":
            return request.headers.get(name) or None
        if where == "query":
            return request.args.get(name) or None
        if where == "cookie":
            return request.cookies.get(name) or None
        return None
    if kind == "http":
        auth = str(scheme.get("scheme", "")).lower()
        header = request.headers.get("Authorization", "")
        if auth == "bearer":
            return _bearer(header)
        if auth == "basic":
            return _basic(header)
        # Any other HTTP scheme (digest, a service's own): what follows "<scheme> ", compared as given.
        if auth and header[:len(auth) + 1].lower() == auth + " ":
            return header[len(auth) + 1:].strip() or None
        return None
    if kind in ("oauth2", "openIdConnect"):  # the access token, sent as a bearer token
        return _bearer(request.headers.get("Authorization", ""))
    return None  # mutualTLS: a TLS client certificate, which a mock over plain HTTP never sees


def describe_scheme(scheme: dict) -> str:
    """What to send, for an error message: `the X-Api-Key header`, `Authorization: Bearer <token>`."""
    kind = scheme.get("type")
    if kind == "apiKey":
        return f"the {scheme.get('name', '?')} {scheme.get('in', 'header')}"
    if kind == "http":
        auth = str(scheme.get("scheme", ""))
        if auth.lower() == "bearer":
            return "Authorization: Bearer <token>"
        if auth.lower() == "basic":
            return "Authorization: Basic <base64 of user:password>"
        return f"Authorization: {auth or '<scheme>'} <credentials>"
    if kind == "oauth2":
        return "Authorization: Bearer <OAuth 2 access token>"
    if kind == "openIdConnect":
        return "Authorization: Bearer <OpenID Connect token>"
    if kind == "mutualTLS":
        return "a TLS client certificate"
    return "a credential"


def _bearer(header: str) -> str | None:
    # The token is taken verbatim after a case-sensitive "Bearer ", as the vendors read it.
    return (header[len("Bearer "):] or None) if header.startswith("Bearer ") else None


def _basic(header: str) -> str | None:
    """`user:password` from `Basic <base64>` (the scheme's name in any case, RFC 7617). Anything else
    after "Basic " is presented but invalid: the raw header, which no `user:password` key equals."""
    if header[:6].lower() != "basic ":
        return None
    token = header[6:].strip()
    try:
        decoded = base64.b64decode(token, validate=True).decode("utf-8")
    except (binascii.Error, ValueError):  # not base64, or not UTF-8 text
        return header
    return decoded if ":" in decoded else header
