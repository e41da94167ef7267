"""How a client proves who it is at the token, revocation and introspection endpoints.

Authlib's ``ClientAuthentication`` with three of our rules (ADR 0019):

- one client per request: HTTP Basic naming one client and a ``client_id`` in the form naming
  another is refused (RFC 6749 §2.3: one authentication method per request; §5.2: a request
  that "includes multiple credentials" is ``invalid_request``);
- a public client may send its ``client_id`` as HTTP Basic with an empty password (RFC 6749
  §2.3.1 encodes client credentials that way; requests-oauthlib does it by default): that is
  the ``none`` method, as if the ``client_id`` were in the form;
- a refusal says in words what the client may send, not Authlib's list of method names
  (descriptions are ASCII without quotes or backslashes, RFC 6749 §5.2);
- ``private_key_jwt`` (``oauth.client_assertions``, ADR 0052), and a client assertion beside
  a secret is two methods at once: ``invalid_request``, like two clients.
"""

import base64
import binascii
from collections.abc import Callable
from typing import Any

from authlib.oauth2.rfc6749 import ClientAuthentication
from authlib.oauth2.rfc6749.errors import InvalidClientError, InvalidRequestError
from authlib.oauth2.rfc6749.util import extract_basic_authorization

from tessera.oauth.models import ClientModel

QueryClient = Callable[[str], ClientModel | None]
#: An authentication method as Authlib calls it: the client it authenticated, or None.
ClientAuthMethod = Callable[[QueryClient, Any], ClientModel | None]
PRIVATE_KEY_JWT = "private_key_jwt"

#: What each method asks of the client, for error descriptions.
_METHODS_IN_WORDS = {
    "client_secret_basic": "the client secret with HTTP Basic",
    "client_secret_post": "client_id and client_secret in the form",
    "none": "only client_id (public clients)",
    "private_key_jwt": "a client assertion signed with its key (private_key_jwt)",
}


class TesseraClientAuthentication(ClientAuthentication):
    def __init__(self, query_client: QueryClient, private_key_jwt: ClientAuthMethod) -> None:
        super().__init__(query_client)
        self.register("none", authenticate_public_client)
        self.register(PRIVATE_KEY_JWT, private_key_jwt)

    def authenticate(self, request: Any, methods: list[str], endpoint: str) -> ClientModel:
        refuse_undecodable_basic(request)
        refuse_two_clients(request)
        refuse_two_methods(request)
        for method in methods:
            client: ClientModel | None = self._methods[method](self.query_client, request)
            if client is not None and client.check_endpoint_auth_method(method, endpoint):
                request.auth_method = method
                return client
        # RFC 6749 §5.2: 401 when the client may use HTTP Basic, with a Basic challenge.
        raise InvalidClientError(
            status_code=401 if "client_secret_basic" in methods else 400,
            description=f"The client could not be authenticated: send {_in_words(methods)}.",
        )


def refuse_undecodable_basic(request: Any) -> None:
    """HTTP Basic whose base64 is not UTF-8 text names no client: 401, not a crash.

    Authlib decodes the credentials without catching ``UnicodeDecodeError``; every method
    (and ``refuse_two_clients``) reads them, so they are checked once, first.
    """
    scheme, _, value = (request.headers.get("Authorization") or "").strip().partition(" ")
    if scheme.lower() != "basic":
        return
    try:
        base64.b64decode(value.strip().encode("ascii")).decode("utf-8")
    except binascii.Error:
        return  # not base64 at all: Authlib reads no credentials from it, as before
    except (UnicodeEncodeError, UnicodeDecodeError):
        # Not ASCII (Authlib's decoding would raise on it too), or base64 of bytes that are
        # not UTF-8 text.
        raise InvalidClientError(
            status_code=401,
            description="The HTTP Basic credentials are not base64 of UTF-8 text (RFC 7617).",
        ) from None


def refuse_two_clients(request: Any) -> None:
    basic_id, _ = extract_basic_authorization(request.headers)
    named = request.payload.client_id
    if basic_id and named and basic_id != named:
        raise InvalidRequestError(
            "HTTP Basic and the client_id parameter name different clients; "
            "a request authenticates one client, one way (RFC 6749 section 2.3)."
        )


def refuse_two_methods(request: Any) -> None:
    """A client assertion beside a secret (HTTP Basic or the form) is two methods at once."""
    if not request.form.get("client_assertion") and not request.form.get("client_assertion_type"):
        return
    _basic_id, basic_secret = extract_basic_authorization(request.headers)
    if basic_secret or request.form.get("client_secret"):
        raise InvalidRequestError(
            "A client assertion and a client secret were both sent; a request authenticates "
            "its client one way (RFC 6749 section 2.3)."
        )


def authenticate_public_client(query_client: QueryClient, request: Any) -> ClientModel | None:
    """``none``: a ``client_id`` without a secret, in the form or as HTTP Basic ``client_id:``."""
    basic_id, basic_secret = extract_basic_authorization(request.headers)
    if basic_secret or request.payload.data.get("client_secret"):
        return None  # a secret was sent: one of the other methods is meant
    if request.form.get("client_assertion"):
        return None  # an assertion was sent: private_key_jwt is meant
    client_id = basic_id or request.payload.client_id
    if not client_id:
        return None
    client = query_client(client_id)
    if client is None:
        raise InvalidClientError(
            status_code=401 if basic_id else 400,
            description="The client does not exist on this server.",
        )
    return client


def _in_words(methods: list[str]) -> str:
    words = [_METHODS_IN_WORDS.get(method, method) for method in methods]
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + ", or " + words[-1]
