"""WSGI middleware: every request checked by Tessera before the application sees it.

::

    guard = Guard("https://auth.example.com", stream_key=...)
    application = TesseraWSGIMiddleware(application, guard)

Allowed: the application runs with the ``Identity`` in ``environ["tessera.identity"]``.
Refused: Tessera's answer as Tessera gave it; Tessera out of reach: 503 (fail closed).
``exempt``: paths served without a check (exact, or a prefix ending in ``/``). A ``Guard``
with a ``resource`` has its RFC 9728 metadata served at its well-known path, unguarded.
"""

from collections.abc import Callable, Iterable
from http import HTTPStatus
from typing import Any
from urllib.parse import quote

from tessera.guard.answers import Identity, Refusal
from tessera.guard.client import Guard
from tessera.guard.resources import metadata_body

ENVIRON_KEY = "tessera.identity"
StartResponse = Callable[..., Any]
WSGIApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


class TesseraWSGIMiddleware:
    def __init__(self, app: WSGIApp, guard: Guard, *, exempt: Iterable[str] = ()) -> None:
        self.app = app
        self.guard = guard
        exempt = tuple(exempt)
        self._exact = frozenset(path for path in exempt if not path.endswith("/"))
        self._prefixes = tuple(path for path in exempt if path.endswith("/"))

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = request_path(environ)
        if path == self.guard.metadata_path:
            return serve_metadata(self.guard, start_response)
        if path in self._exact or path.startswith(self._prefixes):
            return self.app(environ, start_response)
        answer = check_environ(self.guard, environ)
        if isinstance(answer, Refusal):
            return refuse(answer, start_response)
        environ[ENVIRON_KEY] = answer
        return self.app(environ, start_response)


def check_environ(guard: Guard, environ: dict[str, Any]) -> Identity | Refusal:
    """Tessera's answer about a WSGI request."""
    guard.start()
    return guard.check(environ["REQUEST_METHOD"], request_path(environ), headers_of(environ))


def request_path(environ: dict[str, Any]) -> str:
    """The path as the client sent it: WSGI hands it decoded (as latin-1), so re-encode it."""
    decoded = environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", "")
    return quote(decoded.encode("latin-1").decode("utf-8", "surrogateescape"), safe="/") or "/"


def headers_of(environ: dict[str, Any]) -> list[tuple[bytes, bytes]]:
    """The request headers as raw pairs (``HTTP_X_DESKPRO_API_KEY`` → ``x-deskpro-api-key``)."""
    return [
        (name[5:].replace("_", "-").lower().encode(), str(value).encode("latin-1"))
        for name, value in environ.items()
        if name.startswith("HTTP_")
    ]


def serve_metadata(guard: Guard, start_response: StartResponse) -> list[bytes]:
    """The API's RFC 9728 metadata (for a Flask or Django route of one's own, too)."""
    metadata = guard.resource_metadata()
    if metadata is None:
        start_response("404 Not Found", [("content-length", "0")])
        return [b""]
    body = metadata_body(metadata)
    headers = [("content-type", "application/json"), ("content-length", str(len(body)))]
    start_response("200 OK", headers)
    return [body]


def refuse(refusal: Refusal, start_response: StartResponse) -> list[bytes]:
    headers = [*refusal.headers, ("content-length", str(len(refusal.body)))]
    start_response(f"{refusal.status} {HTTPStatus(refusal.status).phrase}", headers)
    return [refusal.body]
