"""Authlib's ``AuthorizationServer`` bound to one transaction of Tessera's database.

One server per request (Polar's pattern): Authlib's storage hooks then all run in the caller's
transaction, which ``OAuthService`` opens and commits — error responses included, so that a
replayed code or refresh token revokes its family even though the answer is an error. What
is read and written lives in ``storage``; this module only composes it with Authlib.
"""

import json
from typing import Any
from urllib.parse import urlsplit

from authlib.common.urls import add_params_to_uri
from authlib.oauth2.base import invalid_error_characters
from authlib.oauth2.rfc6749 import AuthorizationServer
from authlib.oauth2.rfc6749.errors import UnsupportedResponseTypeError
from sqlalchemy.orm import Session

from tessera.core.oauth_scopes import DEFAULT_SCOPE, refresh_token_due
from tessera.core.people import Person
from tessera.oauth.client_assertions import PrivateKeyJWT
from tessera.oauth.client_auth import TesseraClientAuthentication
from tessera.oauth.context import OAuthContext
from tessera.oauth.device import DeviceAuthorizationEndpoint, DeviceCodeGrant
from tessera.oauth.endpoints import IntrospectionEndpoint, RevocationEndpoint
from tessera.oauth.grants import (
    AuthorizationCodeGrant,
    ImplicitGrant,
    RefreshTokenGrant,
    RefusedGrant,
    S256Only,
)
from tessera.oauth.messages import OAuthRequest
from tessera.oauth.models import ClientModel
from tessera.oauth.oidc import (
    OpenIDCodeExtension,
    OpenIDDeviceExtension,
    OpenIDRefreshExtension,
)
from tessera.oauth.registration import ConfigurationEndpoint, RegistrationEndpoint
from tessera.oauth.requests import SnapshotJsonRequest, SnapshotRequest
from tessera.oauth.storage import OAuthStorage
from tessera.oauth.userinfo import UserInfoEndpoint


class TesseraAuthorizationServer(AuthorizationServer):
    def __init__(self, session: Session, context: OAuthContext) -> None:
        super().__init__(scopes_supported=None)
        self.context = context
        self.storage = OAuthStorage(session, context)
        self._clients = TesseraClientAuthentication(
            self.query_client, PrivateKeyJWT(context, self.storage.use_assertion_once)
        )
        self.register_token_generator("default", self._token_shape)
        self.register_grant(
            AuthorizationCodeGrant,
            [S256Only(required=True), OpenIDCodeExtension(context, self.storage)],
        )
        self.register_grant(RefreshTokenGrant, [OpenIDRefreshExtension(context, self.storage)])
        self.register_grant(ImplicitGrant)
        self.register_grant(RefusedGrant)
        self.register_grant(DeviceCodeGrant, [OpenIDDeviceExtension(context, self.storage)])
        self.register_endpoint(DeviceAuthorizationEndpoint)
        self.register_endpoint(RevocationEndpoint)
        self.register_endpoint(IntrospectionEndpoint)
        self.register_endpoint(UserInfoEndpoint(self))
        self.register_endpoint(RegistrationEndpoint(self))
        self.register_endpoint(ConfigurationEndpoint(self))

    # -- Authlib's framework hooks ------------------------------------------------------

    def query_client(self, client_id: str) -> ClientModel | None:
        return self.storage.query_client(client_id)

    def get_authorization_grant(self, request: Any) -> Any:
        """Authlib's, except for a ``response_type`` no grant could ever take.

        Authlib puts the unsupported ``response_type`` in its error's description, whose
        constructor raises ``ValueError`` on characters RFC 6749 §5.2 forbids there: any
        control or non-ASCII character in the parameter would end in a 500.
        """
        response_type: str = request.payload.response_type or ""
        if invalid_error_characters(response_type):
            raise UnsupportedResponseTypeError(
                "".join("?" if invalid_error_characters(c) else c for c in response_type),
                redirect_uri=self._verified_redirect_uri(request),
            )
        return super().get_authorization_grant(request)

    def _verified_redirect_uri(self, request: Any) -> str | None:
        """RFC 6749 §4.1.2.1: an error goes to the redirect URI only once it is verified."""
        client_id = request.payload.client_id
        client = self.query_client(client_id) if client_id else None
        if client is None:
            return None
        requested: str | None = request.payload.redirect_uri
        if not requested:
            default: str | None = client.get_default_redirect_uri()
            return default
        return requested if client.check_redirect_uri(requested) else None

    def authenticate_client(
        self, request: Any, methods: list[str], endpoint: str = "token"
    ) -> ClientModel:
        return self._clients.authenticate(request, methods, endpoint)

    def save_token(self, token: dict[str, Any], request: Any) -> None:
        self.storage.save_token(token, request)

    def create_oauth2_request(self, request: OAuthRequest) -> SnapshotRequest:
        self.storage.request = SnapshotRequest(request)
        return self.storage.request

    def create_json_request(self, request: OAuthRequest) -> SnapshotJsonRequest:
        return SnapshotJsonRequest(request)

    def handle_response(
        self, status: int, body: Any, headers: list[tuple[str, str]]
    ) -> tuple[int, list[tuple[str, str]], str]:
        text = json.dumps(body) if isinstance(body, dict) else str(body or "")
        return status, [self._with_issuer(name, value) for name, value in headers], text

    def _with_issuer(self, name: str, value: str) -> tuple[str, str]:
        """RFC 9207 §2: ``iss`` on every authorization response, success and error alike.

        Every redirect this server answers is one (the token and other endpoints never
        redirect), and every one passes through here. Authlib's ``IssuerParameter`` does the
        same on a response object with ``location``; ours are tuples, so the one line it needs
        is here. Implicit answers carry their parameters in the fragment, and ``iss`` with them.
        """
        if name.lower() != "location":
            return name, value
        in_fragment = bool(urlsplit(value).fragment)
        return name, add_params_to_uri(value, [("iss", self.context.issuer)], in_fragment)

    def send_signal(self, name: str, *args: Any, **kwargs: Any) -> None:
        # Authlib's signals (client authenticated, token revoked): nothing listens yet.
        pass

    # -- tokens -------------------------------------------------------------------------

    def _token_shape(
        self,
        grant_type: str,
        client: ClientModel,
        user: Person | None = None,
        scope: str | None = None,
        expires_in: int | None = None,
        include_refresh_token: bool = True,
    ) -> dict[str, Any]:
        # Only the shape: our access token is "ID:CODE", and the ID exists once the row does,
        # so storage.save_token fills the values in (Authlib returns this dict to the client).
        lifetime = self.context.config.access_token_lifetime
        token: dict[str, Any] = {
            "token_type": "Bearer",
            "access_token": "",
            "expires_in": int(lifetime.total_seconds()),
            # RFC 6749 §5.1: required when it differs from the request; always sent, never "".
            "scope": scope or DEFAULT_SCOPE,
        }
        # OpenID Connect Core §11: with openid, only offline_access brings a refresh token; a
        # refresh of a grant that has one keeps rotating it (Deskpro's flows: always one).
        if include_refresh_token and (
            grant_type == "refresh_token" or refresh_token_due(scope or DEFAULT_SCOPE)
        ):
            token["refresh_token"] = ""
        return token
