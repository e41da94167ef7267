"""The body of ``POST /api/v2/batch`` read into sub-requests, every problem reported at once.

Deskpro's format (shared/spec §1.7, its ``BatchController``): ``{"requests": {NAME: REQUEST}}``,
a REQUEST being a URL (a GET) or ``{"url", "method", "payload" | "data", "params", "headers"}``.
A URL is relative to ``/api/v2`` (``/me``, ``people?page=2``) or starts with it. Here each one
must also stay inside the API (no scheme, host, ``..`` or fragment), not be a batch itself, and
carry no credential of its own: every sub-request is made with the batch's.
"""

import json
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, unquote, urlencode

from tessera.core.errors import INVALID, REQUIRED, FieldError, FieldErrors, InvalidInput
from tessera.web.field_rules import merge_into

#: Deskpro's clients send a screenful of requests at once; this bounds what one batch costs.
MAX_REQUESTS = 50
MAX_URL_LENGTH = 2000
METHODS = frozenset({"GET", "POST", "PUT", "DELETE", "PATCH"})

TOO_MANY_REQUESTS = FieldError(
    "too_many_elements", f"This collection should contain {MAX_REQUESTS} elements or less."
)
NOT_AN_API_URL = FieldError(
    "invalid_url", "A sub-request's URL is a path of this API, such as /me or /people?page=2."
)
NESTED_BATCH = FieldError("nested_batch", "A batch cannot contain a batch.")
OWN_CREDENTIAL = FieldError(
    "own_credential", "A sub-request is made with the batch's credential; it cannot bring its own."
)
NOT_A_REQUEST = FieldError("invalid", "A request is a URL or an object with a url.")

#: Headers a sub-request may not set: a credential, or what vouches for one (the browser's
#: ``Origin`` and ``Sec-*``, a proxy's ``Forwarded``): the batch's own are used.
_CREDENTIAL_HEADERS = frozenset(
    {
        "authorization",
        "cookie",
        "x-deskpro-api-key",
        "x-deskpro-api-token",
        "x-deskpro-request-token",
        "origin",
        "forwarded",
    }
)
_CREDENTIAL_PREFIXES = ("sec-", "x-forwarded-")
#: Headers the batch writes itself for each sub-request.
_MESSAGE_HEADERS = frozenset({"host", "content-type", "content-length", "transfer-encoding"})
SET_BY_THE_BATCH = FieldError("set_by_the_batch", "The batch sets this header itself.")
_CREDENTIAL_PARAMS = frozenset({"api-key", "api-token"})
_HEADER_NAME = re.compile(r"[A-Za-z0-9-]{1,64}")
_HEADER_VALUE = re.compile(r"[\x20-\x7e\t]{0,4096}")
_DATED = re.compile(r"^/api/v2/\d{8}(?=/|$)")


@dataclass(frozen=True, slots=True)
class SubRequest:
    name: str
    method: str
    #: The path as sent (percent-escapes kept), always under ``/api/v2/``.
    raw_path: str
    query: str
    #: The JSON body, or None.
    body: bytes | None
    headers: tuple[tuple[str, str], ...]


def read_batch(document: Any) -> list[SubRequest]:
    """The sub-requests of a batch, in the order sent.

    Raises:
        InvalidInput: what is wrong, per request and field (``requests.NAME.url`` …).
    """
    problems = FieldErrors()
    requests = document.get("requests") if isinstance(document, dict) else None
    if not isinstance(requests, dict):
        problems.add(("requests",), REQUIRED if requests is None else INVALID)
    elif len(requests) > MAX_REQUESTS:
        problems.add(("requests",), TOO_MANY_REQUESTS)
    else:
        subrequests = [_read(problems, str(name), spec) for name, spec in requests.items()]
        if not problems:
            return [sub for sub in subrequests if sub is not None]
    raise InvalidInput(problems)


def _read(problems: FieldErrors, name: str, spec: Any) -> SubRequest | None:
    """One request, or None with its problems added under ``requests.NAME``."""
    if isinstance(spec, str):
        spec = {"url": spec}
    found = FieldErrors()
    if not isinstance(spec, dict):
        found.add((), NOT_A_REQUEST)
        merge_into(problems, found, ("requests", name))
        return None
    method = spec.get("method", "GET")
    if not (isinstance(method, str) and method.upper() in METHODS):
        found.add(("method",), INVALID)
    path, query = _url(found, spec.get("url"))
    query = _with_params(found, query, spec.get("params"))
    body = _body(found, spec)
    headers = _headers(found, spec.get("headers"))
    if found or path is None or not isinstance(method, str):
        merge_into(problems, found, ("requests", name))
        return None
    return SubRequest(name, method.upper(), path, query, body, headers)


def _url(problems: FieldErrors, url: Any) -> tuple[str | None, str]:
    at = ("url",)
    if url is None or url == "":
        problems.add(at, REQUIRED)
        return None, ""
    if not isinstance(url, str) or len(url) > MAX_URL_LENGTH or not url.isascii():
        problems.add(at, NOT_AN_API_URL)
        return None, ""
    given, _, query = url.partition("?")
    relative = given.lstrip("/")
    if not (relative == "api/v2" or relative.startswith("api/v2/")):
        relative = "api/v2/" + relative
    path = "/" + relative
    if (
        "#" in url
        or ":" in given  # a scheme (https://…), or a port: somewhere else
        or given.startswith("//")
        or "\\" in unquote(given)
        or any(c.isspace() or ord(c) < 0x20 for c in url)
        or any(segment in (".", "..") for segment in unquote(path).split("/"))
    ):
        problems.add(at, NOT_AN_API_URL)
        return None, ""
    if _DATED.sub("/api/v2", unquote(path)).rstrip("/") == "/api/v2/batch":
        problems.add(at, NESTED_BATCH)
        return None, ""
    if any(name.lower() in _CREDENTIAL_PARAMS for name in _query_names(query)):
        problems.add(at, OWN_CREDENTIAL)
        return None, ""
    return path, query


def _query_names(query: str) -> list[str]:
    return [unquote(pair.partition("=")[0]) for pair in query.split("&") if pair]


def _with_params(problems: FieldErrors, query: str, params: Any) -> str:
    at = ("params",)
    if params is None:
        return query
    scalar = (str, int, float, bool)
    if not isinstance(params, dict) or not all(isinstance(v, scalar) for v in params.values()):
        problems.add(at, INVALID)
        return query
    if any(str(name).lower() in _CREDENTIAL_PARAMS for name in params):
        problems.add(at, OWN_CREDENTIAL)
        return query
    values = {
        str(k): (str(v).lower() if isinstance(v, bool) else str(v)) for k, v in params.items()
    }
    extra = urlencode(values, quote_via=quote)
    return f"{query}&{extra}" if query and extra else query or extra


def _body(problems: FieldErrors, spec: dict[str, Any]) -> bytes | None:
    # Deskpro's documentation says "payload", its server reads "data": either, not both.
    if "payload" in spec and "data" in spec:
        problems.add(("data",), INVALID)
        return None
    key = "payload" if "payload" in spec else "data"
    if key not in spec or spec[key] is None:
        return None
    return json.dumps(spec[key], separators=(",", ":")).encode()


def _headers(problems: FieldErrors, headers: Any) -> tuple[tuple[str, str], ...]:
    at = ("headers",)
    if headers is None:
        return ()
    if not isinstance(headers, dict):
        problems.add(at, INVALID)
        return ()
    accepted: list[tuple[str, str]] = []
    for name, value in headers.items():
        lowered = str(name).lower()
        if lowered in _CREDENTIAL_HEADERS or lowered.startswith(_CREDENTIAL_PREFIXES):
            problems.add((*at, str(name)), OWN_CREDENTIAL)
        elif lowered in _MESSAGE_HEADERS:
            problems.add((*at, str(name)), SET_BY_THE_BATCH)
        elif not (
            _HEADER_NAME.fullmatch(str(name))
            and isinstance(value, str)
            and _HEADER_VALUE.fullmatch(value)
        ):
            problems.add((*at, str(name)), INVALID)
        else:
            accepted.append((lowered, value))
    return tuple(accepted)
