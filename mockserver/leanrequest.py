"""The request as the pipeline reads it, straight from the WSGI environ: what werkzeug's `Request`
gives for the same environ (the same values, names and types), without importing werkzeug, which
is most of a start that serves JSON. What is read rarely (cookies, `base_url`, a body the server did
not buffer, a query with an invalid escape) is werkzeug's request's, made on first use."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl

from mockserver.connection import RAW_BODY


class Args(dict):
    """The query's pairs as werkzeug's `MultiDict` reads them: a name's first value, or all of them."""

    def __getitem__(self, name: str) -> str:
        return dict.__getitem__(self, name)[0]

    def get(self, name: str, default: Any = None) -> Any:
        values = dict.get(self, name)
        return values[0] if values else default

    def getlist(self, name: str) -> list[str]:
        return list(dict.get(self, name, ()))

    def items(self):  # (name, first value), as MultiDict.items()
        return ((name, values[0]) for name, values in dict.items(self))

    def to_dict(self, flat: bool = True) -> dict:
        return {name: values[0] if flat else list(values) for name, values in dict.items(self)}


class Headers:
    """The request's headers as werkzeug's `EnvironHeaders` reads them from the environ: any case,
    `-` or `_`; `Content-Type` and `Content-Length` from their own variables."""

    __slots__ = ("environ",)

    def __init__(self, environ: dict) -> None:
        self.environ = environ

    def __getitem__(self, name: str) -> str:
        key = name.upper().replace("-", "_")
        return self.environ[key if key in ("CONTENT_TYPE", "CONTENT_LENGTH") else "HTTP_" + key]

    def get(self, name: str, default: Any = None) -> Any:
        try:
            return self[name]
        except KeyError:
            return default

    def getlist(self, name: str) -> list[str]:
        wanted = name.lower()  # by the names as iterated (werkzeug's way: `x_api_key` is not `X-Api-Key` here)
        return [value for key, value in self if key.lower() == wanted]

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self.get(name) is not None

    def __iter__(self):
        for key, value in self.environ.items():
            if key.startswith("HTTP_") and key not in ("HTTP_CONTENT_TYPE", "HTTP_CONTENT_LENGTH"):
                yield key[5:].replace("_", "-").title(), value
            elif key in ("CONTENT_TYPE", "CONTENT_LENGTH") and value:
                yield key.replace("_", "-").title(), value

    def keys(self) -> list[str]:
        return [name for name, _ in self]

    def items(self) -> list[tuple[str, str]]:
        return list(self)


def path_of(environ: dict) -> str:
    """The request's path as werkzeug reads `PATH_INFO` (and routes by it): UTF-8, one leading slash."""
    return "/" + environ.get("PATH_INFO", "").encode("latin1").decode(errors="replace").lstrip("/")


class LeanRequest:
    __slots__ = ("environ", "method", "path", "headers", "max_content_length", "_args", "_full")

    def __init__(self, environ: dict, max_content_length: int | None = None) -> None:
        self.environ = environ
        self.method = environ.get("REQUEST_METHOD", "GET").upper()
        self.path = path_of(environ)
        self.headers = Headers(environ)
        self.max_content_length = max_content_length
        self._args: Any = None
        self._full: Any = None

    @property
    def args(self) -> Any:
        if self._args is None:
            text = self.environ.get("QUERY_STRING", "")
            if not text.isascii():  # raw bytes a server let through (llhttp refuses them; werkzeug fails)
                pairs = parse_qsl(text.encode("latin1").decode(errors="replace"), keep_blank_values=True,
                                  errors="replace")
            else:
                try:
                    pairs = parse_qsl(text, keep_blank_values=True, errors="strict")
                except UnicodeDecodeError:  # an escape that is not UTF-8: werkzeug keeps it escaped
                    self._args = self.werkzeug().args
                    return self._args
            args = Args()
            for name, value in pairs:
                args.setdefault(name, []).append(value)
            self._args = args
        return self._args

    @property
    def content_type(self) -> str | None:
        return self.environ.get("CONTENT_TYPE")

    @property
    def mimetype(self) -> str:
        return (self.environ.get("CONTENT_TYPE") or "").partition(";")[0].strip(" \t").lower()

    @property
    def content_length(self) -> int | None:
        length = self.environ.get("CONTENT_LENGTH")
        coding = self.environ.get("HTTP_TRANSFER_ENCODING")
        if coding is None:
            if length is None:
                return None
            if length.isascii() and length.isdigit():
                return int(length)
        elif coding.strip().lower() == "chunked":
            return None  # a streamed body, as werkzeug says
        return self.werkzeug().content_length  # a length or coding werkzeug reads its own way

    def get_data(self, cache: bool = True) -> bytes:
        raw = self.environ.get(RAW_BODY)
        return raw if raw is not None else self.werkzeug().get_data(cache=cache)

    def werkzeug(self) -> Any:
        """werkzeug's request for the same environ (its body limit this one's)."""
        if self._full is None:
            from werkzeug.wrappers import Request

            self._full = Request(self.environ, populate_request=False)
            self._full.max_content_length = self.max_content_length
        return self._full

    def __getattr__(self, name: str) -> Any:  # cookies, base_url, anything else: werkzeug's
        return getattr(self.werkzeug(), name)
