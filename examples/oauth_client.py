"""An app that connects to Tessera with OAuth 2: the whole life of a connection, in one script.

    .venv/bin/python examples/oauth_client.py --server http://127.0.0.1:8000 \\
        --client-id 1_abc… [--client-secret SECRET]

What it does, in the order a real app would:

1. reads the server's metadata (``/.well-known/oauth-authorization-server``), so that no
   endpoint URL is written into the app;
2. listens on ``http://127.0.0.1:<free port>/callback`` — a loopback redirect URI, which Tessera
   matches on any port (RFC 8252 §7.3), so register ``http://127.0.0.1/callback``;
3. prints the authorization URL (with ``state`` and a PKCE S256 challenge) for you to open in a
   browser, where you sign in and press "Access";
4. receives the code on its callback, checks ``state``, and exchanges code + PKCE verifier for
   an access token and a refresh token (with the client secret when it has one);
5. calls ``GET /api/v2/me`` with the access token;
6. refreshes: the refresh token is rotated, so it keeps the new one;
7. revokes the refresh token, which ends the whole connection, and shows that the access token
   stopped working too.

Without ``--client-secret`` the app is a public client (a phone or desktop app would be): it
proves itself with PKCE alone. Tokens are never printed: they are credentials. See docs/oauth.md.
"""

import argparse
import secrets
import sys
import threading
import warnings
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
from authlib.deprecate import AuthlibDeprecationWarning
from authlib.integrations.base_client import OAuthError

CALLBACK_PATH = "/callback"
#: RFC 7009's name for the kind of token being revoked (a type name, not a secret).
REFRESH_HINT = "refresh_token"
DONE_PAGE = (
    "<!doctype html><html lang='en'><head><meta charset='utf-8'><title>Example app</title>"
    "</head><body><h1>Example app</h1><p>{message} You can close this window and go back to "
    "the terminal.</p></body></html>"
)


@dataclass
class Redirect:
    """What reached the callback: the query string the authorization server sent back."""

    arrived: threading.Event = field(default_factory=threading.Event)
    url: str = ""
    query: dict[str, str] = field(default_factory=dict)


class CallbackHandler(BaseHTTPRequestHandler):
    """Answers ``/callback`` once; anything else (a browser's /favicon.ico) is a 404."""

    server: "CallbackServer"

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        if parts.path != CALLBACK_PATH or self.server.redirect.arrived.is_set():
            self.send_error(HTTPStatus.NOT_FOUND)
            return
        query = {name: values[0] for name, values in parse_qs(parts.query).items()}
        message = "Access granted." if "code" in query else "No access was granted."
        body = DONE_PAGE.format(message=message).encode()
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        redirect = self.server.redirect
        redirect.url, redirect.query = self.server.base_url + self.path, query
        redirect.arrived.set()

    def log_message(self, format: str, *args: object) -> None:
        # The default logs every request line to stderr, and this one holds the code.
        return


class CallbackServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, port: int) -> None:
        super().__init__(("127.0.0.1", port), CallbackHandler)
        self.redirect = Redirect()
        self.base_url = f"http://127.0.0.1:{self.server_address[1]}"

    @property
    def redirect_uri(self) -> str:
        return self.base_url + CALLBACK_PATH


def oauth_client(**options: Any) -> Any:
    """Authlib's OAuth2Client for httpx (untyped, hence ``Any``).

    Authlib 1.9 warns on import that its httpx integration will move to the ``httpx2``
    package; the example runs on the httpx the project already has, so that one notice is
    silenced (importing ``authlib.deprecate`` first installs Authlib's own filter, which ours
    then overrides for this import only).
    """
    with warnings.catch_warnings():
        warnings.filterwarnings(
            "ignore", "The httpx module is deprecated", category=AuthlibDeprecationWarning
        )
        from authlib.integrations.httpx_client import OAuth2Client

    return OAuth2Client(**options)


def discover(server: str) -> dict[str, Any]:
    """The server's RFC 8414 metadata: where to send people, where to get and revoke tokens."""
    response = httpx.get(f"{server.rstrip('/')}/.well-known/oauth-authorization-server", timeout=30)
    response.raise_for_status()
    metadata: dict[str, Any] = response.json()
    if "S256" not in metadata.get("code_challenge_methods_supported", []):
        raise SystemExit("The server does not support PKCE with S256: refusing to continue.")
    return metadata


def describe_me(response: httpx.Response) -> str:
    """Who the API says the token acts for, or why it refused (never the token itself)."""
    if response.status_code != HTTPStatus.OK:
        return f"{response.status_code} {response.json().get('code')}"
    data = response.json()["data"]
    person = data["person"]
    return (
        f"{person['display_name']} <{person['primary_email']}>, person {data['person_id']}, "
        f"{data['auth_method']} of app {data['app_id']}"
    )


def run(server: str, client_id: str, client_secret: str | None, port: int, wait: float) -> int:
    """The flow, from discovery to revocation; returns the process exit status."""
    metadata = discover(server)
    callback = CallbackServer(port)
    listener = threading.Thread(target=callback.serve_forever, name="callback", daemon=True)
    listener.start()
    try:
        with oauth_client(
            client_id=client_id,
            client_secret=client_secret,
            # A confidential client proves its secret with HTTP Basic; a public one sends only
            # its client_id, and the PKCE verifier is its proof.
            token_endpoint_auth_method="client_secret_basic" if client_secret else "none",
            redirect_uri=callback.redirect_uri,
            code_challenge_method="S256",
            timeout=30,
        ) as client:
            return connect(client, metadata, callback, wait)
    except OAuthError as error:
        # The token endpoint's answer, e.g. invalid_grant (code expired, used, or wrong PKCE).
        print(f"The server refused: {error.error} ({error.description})", file=sys.stderr)
        return 1
    finally:
        callback.shutdown()
        callback.server_close()


def connect(client: Any, metadata: dict[str, Any], callback: CallbackServer, wait: float) -> int:
    """Steps 1–8 of docs/oauth.md with one person's browser in the middle."""
    verifier = secrets.token_urlsafe(64)  # 86 characters: within PKCE's 43–128
    url, state = client.create_authorization_url(
        metadata["authorization_endpoint"], code_verifier=verifier
    )
    print("Open this URL in your browser, sign in and choose Access or Deny:\n")
    print(f"  {url}\n")
    print(f"Waiting for the redirect to {callback.redirect_uri} …", flush=True)
    if not callback.redirect.arrived.wait(wait):
        print(f"No redirect within {wait:.0f} s: giving up.", file=sys.stderr)
        return 1
    query = callback.redirect.query
    if query.get("state") != state:
        # Someone else's redirect (login CSRF): never use a code that this app did not ask for.
        print("The redirect's state does not match: ignoring it.", file=sys.stderr)
        return 1
    if "error" in query:
        print(f"Not connected: {query['error']} ({query.get('error_description', '')})")
        return 1

    # Authlib checks the state again, and sends code, redirect_uri and code_verifier.
    token = client.fetch_token(
        metadata["token_endpoint"],
        authorization_response=callback.redirect.url,
        state=state,
        code_verifier=verifier,
    )
    print(f"Connected: an access token for {token['expires_in']} s and a refresh token.")
    print("GET /api/v2/me →", describe_me(client.get(api_url(metadata, "/api/v2/me"))))

    first_refresh_token = token["refresh_token"]
    token = client.refresh_token(metadata["token_endpoint"])
    rotated = token["refresh_token"] != first_refresh_token
    print(f"Refreshed: a new access token; the refresh token was rotated: {rotated}.")
    print("GET /api/v2/me →", describe_me(client.get(api_url(metadata, "/api/v2/me"))))

    # Revoking the refresh token ends the connection: every token it led to stops working.
    revoked = client.revoke_token(
        metadata["revocation_endpoint"],
        token=token["refresh_token"],
        token_type_hint=REFRESH_HINT,
    )
    print(f"Revoked the refresh token: {revoked.status_code}.")
    print("GET /api/v2/me →", describe_me(client.get(api_url(metadata, "/api/v2/me"))))
    return 0


def api_url(metadata: dict[str, Any], path: str) -> str:
    """An API URL on the server that issued the tokens (its ``issuer``)."""
    return str(metadata["issuer"]).rstrip("/") + path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Connect to Tessera with OAuth 2 (code + PKCE), call the API, refresh, revoke."
    )
    parser.add_argument("--server", default="http://127.0.0.1:8000", help="Tessera's URL")
    parser.add_argument("--client-id", required=True, help="the client_id, like 1_abc…")
    parser.add_argument(
        "--client-secret",
        default=None,
        help="a confidential client's secret (omit for a public client, which uses PKCE alone)",
    )
    parser.add_argument(
        "--port", type=int, default=0, help="callback port on 127.0.0.1 (default: any free one)"
    )
    parser.add_argument(
        "--wait", type=float, default=300, help="seconds to wait for the browser (default 300)"
    )
    arguments = parser.parse_args(argv)
    return run(
        arguments.server,
        arguments.client_id,
        arguments.client_secret,
        arguments.port,
        arguments.wait,
    )


if __name__ == "__main__":
    sys.exit(main())
