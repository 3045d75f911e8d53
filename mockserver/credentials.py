"""Where a request carries the credential each OpenAPI security scheme names, and how to ask for it.

`read_credential` returns the credential's value, or None when the request does not present one. A
credential presented in a form no key can have (HTTP basic that is not base64 of `user:password`)
returns the raw header: the caller then refuses it as it refuses any unknown key (401), never as
"no credential". One sent empty (`X-Api-Key:`, `Authorization:`, `Bearer` without a token,
`?api_key=`) returns "": alone it is no credential (services read an empty header as a missing one),
beside an accepted one it is refused. Nothing here knows a vendor."""

from __future__ import annotations

import base64
import binascii
from typing import Any


def read_credential(scheme: dict, request: Any) -> str | None:
    """The credential `scheme` reads from `request` (a Flask or werkzeug request), or None."""
    kind = scheme.get("type")
    if kind == "apiKey":
        name, where = scheme.get("name", ""), scheme.get("in")
        # Sent empty, the value is "" (presented, and no key is empty); absent, None.
        if where == "header":
            return request.headers.get(name)
        if where == "query":
            return request.args.get(name)
        if where == "cookie":
            return request.cookies.get(name)
        return None
    header = request.headers.get("Authorization")
    if kind not in ("http", "oauth2", "openIdConnect") or header is None:
        return None  # absent; or mutualTLS, a TLS client certificate a mock over plain HTTP never sees
    if not header.strip():
        return ""  # `Authorization:` sent empty: every scheme that reads it is presented nothing
    auth = str(scheme.get("scheme", "")).lower() if kind == "http" else "bearer"  # OAuth: a bearer token
    if auth == "bearer":
        return _bearer(header)
    if auth == "basic":
        return _basic(header)
    # Any other HTTP scheme (digest, a service's own): what follows "<scheme> ", compared as given.
    if auth and header.strip().lower() == auth:
        return ""
    if auth and header[:len(auth) + 1].lower() == auth + " ":
        return header[len(auth) + 1:].strip()
    return None  # another scheme's credential


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
    # The token is taken verbatim after a case-sensitive "Bearer ", as the vendors read it; the
    # scheme's name alone is a bearer credential presented empty.
    if header.rstrip() == "Bearer":
        return ""
    return header[len("Bearer "):] if header.startswith("Bearer ") else None


def _basic(header: str) -> str | None:
    """`user:password` from `Basic <base64>` (the scheme's name in any case, RFC 7617). Anything else
    after "Basic " is presented but invalid: the raw header, which no `user:password` key equals."""
    if header.strip().lower() == "basic":
        return ""
    if header[:6].lower() != "basic ":
        return None
    token = header[6:].strip()
    try:
        decoded = base64.b64decode(token, validate=True).decode("utf-8")
    except (binascii.Error, ValueError):  # not base64, or not UTF-8 text
        return header
    return decoded if ":" in decoded else header
