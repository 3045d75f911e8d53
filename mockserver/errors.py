"""Vendor-neutral errors. The pipeline and the handlers raise them; each vendor renders them in its
own shape (`Vendor.render_error`), so one `NotFound` is one vendor's JSON under one prefix and
problem+json under another."""

from __future__ import annotations

from typing import Any

from mockserver.records import dataclass


class Missing:
    """The value of a property that is absent (distinct from JSON null)."""

    def __repr__(self) -> str:
        return "MISSING"

    def __reduce__(self) -> str:
        return "MISSING"  # unpickled (a cached spec's examples) as the one MISSING, which is compared by identity


MISSING = Missing()


@dataclass(frozen=True)
class Issue:
    """One validation failure at one place of the request."""

    location: str  # "body", "query", "path" or "header"
    path: tuple[str | int, ...]  # where in that location; for "required", the missing property's path
    keyword: str  # the JSON Schema keyword that failed ("required", "type", ...) or a vendor's own
    message: str  # a plain English sentence, usable as is
    value: Any = MISSING
    expected: Any = None  # the keyword's argument: the type, pattern, limit, enum ...

    @property
    def dotted(self) -> str:
        """`plan.tasks`, `items[0].foo`."""
        text = ""
        for part in self.path:
            text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
        return text


class MockError(Exception):
    """An answer other than success. `status` is the default; vendors may map it."""

    status = 500

    def __init__(self, message: str = "") -> None:
        super().__init__(message)
        self.message = message


class Unauthorized(MockError):
    status = 401

    def __init__(self, message: str = "", presented: bool = False) -> None:
        super().__init__(message)
        self.presented = presented  # a credential came and was refused (else none came)


class MalformedBody(MockError):
    """The body is not JSON at all (or empty where one is needed)."""

    status = 400

    def __init__(self, message: str, empty: bool = False) -> None:
        super().__init__(message)
        self.empty = empty


class ValidationFailed(MockError):
    """The request breaks the spec: the issues say where and why."""

    status = 422

    def __init__(self, issues: list[Issue]) -> None:
        super().__init__("; ".join(issue.message for issue in issues))
        self.issues = issues


class BadRequest(MockError):
    """A request the vendor refuses for a reason outside the schema (an unknown update mask)."""

    status = 400

    def __init__(self, message: str, remedy: str | None = None) -> None:
        super().__init__(message)
        self.remedy = remedy


class EntityNotFound(MockError):
    status = 404

    def __init__(self, entity_type: str, entity_id: str) -> None:
        super().__init__(f"{entity_type} {entity_id!r} not found")
        self.entity_type = entity_type
        self.entity_id = entity_id


class RouteNotFound(MockError):
    status = 404


class MethodNotAllowed(MockError):
    status = 405

    def __init__(self, method: str, path: str, allowed: list[str]) -> None:
        super().__init__(f"method {method} is not allowed on {path}; allowed: {', '.join(allowed)}")
        self.method = method
        self.allowed = allowed


class UnsupportedMediaType(MockError):
    status = 415

    def __init__(self, content_type: str, accepted: tuple[str, ...] = ("application/json",)) -> None:
        super().__init__(f"unsupported media type {content_type or '(none)'}: send {' or '.join(accepted)}")
        self.content_type = content_type
        self.accepted = accepted


class NotAcceptable(MockError):
    """The request's Accept names none of the media types the operation answers."""

    status = 406

    def __init__(self, accept: str, offered: tuple[str, ...]) -> None:
        super().__init__(f"Accept: {accept} names none of the media types this operation answers: "
                         f"{', '.join(offered)}")
        self.offered = offered


class PayloadTooLarge(MockError):
    status = 413

    def __init__(self, limit: int) -> None:
        super().__init__(f"request body is too large: the limit is {limit} bytes")
        self.limit = limit


class Conflict(MockError):
    """A unique value is taken. `index` names the store index (a vendor knows its own)."""

    status = 409

    def __init__(self, index: str, value: Any, message: str = "") -> None:
        super().__init__(message or f"{index} {value!r} already exists")
        self.index = index
        self.value = value


class InjectedFault(MockError):
    """An error asked for by a fault rule or a `Prefer: code=` header."""

    def __init__(self, status: int) -> None:
        super().__init__(f"injected {status}")
        self.status = status


class ResponseMismatch(MockError):
    """The mock built a response its own spec forbids: a bug in the mock, never the client's fault."""

    status = 500


class Refusal(Exception):
    """A request the mock itself refuses, not its vendor (a `Prefer` it cannot honour, too many
    delays at once): answered with the mock's plain JSON error, as a routing error is, never dressed
    up as a vendor answer the spec does not document. `code`, `name` and `description` as werkzeug's
    HTTP errors have them, so that one handler answers both."""

    def __init__(self, code: int, description: str, exchange: Any = None) -> None:
        from http import HTTPStatus

        super().__init__(description)
        self.code, self.name, self.description = code, HTTPStatus(code).phrase, description
        self.exchange = exchange  # journaled by the app's error handler
