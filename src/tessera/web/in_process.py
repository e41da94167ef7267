"""A sub-request of a batch, sent through the whole application in-process (ASGI).

Not a call to an endpoint function: the sub-request is a new HTTP request given to the same
ASGI application the server runs, so it meets everything a request sent alone meets — request
id, dated paths, CORS, the general credential check with its tags, the error envelope — and
its answer is exactly that request's answer (ADR 0018).

It carries the batch's own headers (its credential, cookie, ``Origin``, client type…), less
those that describe the batch's body or name the batch's request id, plus its own.
"""

import json
import logging
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

import anyio
from starlette.types import ASGIApp, Message, Scope

from tessera.logs import redact
from tessera.web.batch_requests import SubRequest

log = logging.getLogger(__name__)

#: Headers of the batch that say nothing about its sub-requests.
_NOT_FORWARDED = frozenset(
    {
        b"content-type",
        b"content-length",
        b"transfer-encoding",
        b"expect",
        b"x-deskpro-client-request-id",
    }
)
#: Response headers left out of a sub-response's ``headers`` node.
_NOT_COPIED = frozenset({"set-cookie", "content-length"})
#: A credential in the batch's query string (where allowed) goes with each sub-request.
_CREDENTIAL_PARAMS = ("API-KEY=", "API-TOKEN=")


@dataclass(frozen=True, slots=True)
class SubResponse:
    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes

    def envelope(self) -> dict[str, Any]:
        """What the request alone would have answered, with Deskpro's ``headers`` node.

        Deskpro's batch adds the sub-response's status and headers to each answer (its
        ``JsonHeadersResponseListener``: ``status-code``; its documentation: ``response_code``).
        ``Set-Cookie`` is never copied, as there, nor ``Content-Length`` (of bytes not sent).
        """
        content_type = dict(self.headers).get(b"content-type", b"")
        answer: dict[str, Any] = {}
        if self.body and content_type.startswith(b"application/json"):
            decoded = json.loads(self.body)
            answer = decoded if isinstance(decoded, dict) else {"data": decoded}
        elif self.body:
            answer = {"content": self.body.decode("utf-8", "replace")}
        headers: dict[str, Any] = {"status-code": self.status, "response_code": self.status}
        for name, value in self.headers:
            key = name.decode("latin-1").lower()
            if key not in _NOT_COPIED:
                text = value.decode("latin-1")
                headers[key] = f"{headers[key]}, {text}" if key in headers else text
        return {**answer, "headers": headers}


async def run(app: ASGIApp, batch: Scope, sub: SubRequest) -> SubResponse:
    """Send ``sub`` through ``app`` as the caller of ``batch`` would have sent it alone."""
    scope: Scope = {
        "type": "http",
        "asgi": batch.get("asgi", {"version": "3.0"}),
        "http_version": batch.get("http_version", "1.1"),
        "method": sub.method,
        "scheme": batch.get("scheme", "http"),
        "server": batch.get("server"),
        "client": batch.get("client"),
        "root_path": batch.get("root_path", ""),
        "path": unquote(sub.raw_path),
        "raw_path": sub.raw_path.encode("ascii"),
        "query_string": _query(batch, sub).encode("ascii"),
        "headers": _headers(batch, sub),
    }
    if "state" in batch:
        scope["state"] = dict(batch["state"])
    pending: list[Message] = [{"type": "http.request", "body": sub.body or b"", "more_body": False}]
    finished = anyio.Event()
    status = 500
    headers: list[tuple[bytes, bytes]] = []
    chunks: list[bytes] = []

    async def receive() -> Message:
        if pending:
            return pending.pop()
        await finished.wait()  # like a client that waits for its answer, then goes
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        nonlocal status, headers
        if message["type"] == "http.response.start":
            status, headers = message["status"], list(message.get("headers", []))
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                finished.set()

    await app(scope, receive, send)
    finished.set()
    log.info(
        "batch sub-request %s %s%s: %d",
        sub.method,
        redact(sub.raw_path),
        redact("?" + sub.query) if sub.query else "",
        status,
    )
    return SubResponse(status, headers, b"".join(chunks))


def _headers(batch: Scope, sub: SubRequest) -> list[tuple[bytes, bytes]]:
    own = {name.encode("latin-1") for name, _ in sub.headers}
    headers = [
        (name, value)
        for name, value in batch["headers"]
        if name not in _NOT_FORWARDED and name not in own
    ]
    headers += [(name.encode("latin-1"), value.encode("latin-1")) for name, value in sub.headers]
    if sub.body is not None:
        headers.append((b"content-type", b"application/json"))
    return headers


def _query(batch: Scope, sub: SubRequest) -> str:
    batch_query: str = batch.get("query_string", b"").decode("latin-1")
    credentials = [
        pair for pair in batch_query.split("&") if pair.upper().startswith(_CREDENTIAL_PARAMS)
    ]
    return "&".join(part for part in (sub.query, *credentials) if part)
