"""Deskpro's exact error bodies and a raw-socket client for bytes httpx will not send."""

import socket
from typing import Any
from urllib.parse import urlsplit

import httpx

CHALLENGE = 'session,token,key realm="DeskPRO API"'

MESSAGES = {
    "unauthorized": "You must be authenticated to make this request.",
    "malformed_authorization_header": (
        'Malformed Authorization header (should be "Authorization: type value").'
    ),
    "invalid_authorization_header": (
        'Invalid Authorization header (type can be one of "key" or "token").'
    ),
    "invalid_api_key": "Invalid API key.",
    "invalid_api_token": "Invalid API token.",
    "bad_credentials": "Bad credentials.",
    "forbidden": "You are not authorized to make this request.",
    "not_found": "The requested resource was not found.",
    "rate_limits": "Your limit for api calls is exhausted.",
    "invalid_json_body": "The request JSON body is not valid JSON.",
    "invalid_input": "Request input is invalid.",
}


def envelope(status: int, code: str) -> dict[str, Any]:
    return {"status": status, "code": code, "message": MESSAGES[code]}


def assert_refused(response: httpx.Response, code: str) -> None:
    """A 401 exactly as Deskpro sends it: status, challenge header, whole body."""
    assert response.status_code == 401, response.text
    assert response.headers["WWW-Authenticate"] == CHALLENGE
    assert response.json() == envelope(401, code)


def raw_get(base_url: str, path: str, header_lines: list[bytes]) -> tuple[int, bytes]:
    """Send a GET with arbitrary header bytes; return the status and the body."""
    parts = urlsplit(base_url)
    assert parts.hostname is not None
    assert parts.port is not None
    request = b"GET " + path.encode() + b" HTTP/1.1\r\nHost: test\r\nConnection: close\r\n"
    request += b"".join(line + b"\r\n" for line in header_lines) + b"\r\n"
    with socket.create_connection((parts.hostname, parts.port), timeout=30) as connection:
        connection.sendall(request)
        received = b""
        while chunk := connection.recv(65536):
            received += chunk
    head, _, body = received.partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), body
