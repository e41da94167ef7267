"""The OAuth use cases, one transaction each: snapshot in, response (or page decision) out."""

import json
import logging
from datetime import datetime
from typing import Any

from authlib.oauth2.rfc6749.errors import OAuth2Error
from authlib.oauth2.rfc8628 import DEVICE_CODE_GRANT_TYPE

from tessera.core.openid_claims import CLAIMS_SUPPORTED
from tessera.core.people import Person
from tessera.core.scope_words import describe_scope
from tessera.core.signing_keys import NoSigningKeyYet, SigningAlgorithm, SigningKeyUnavailable
from tessera.oauth.context import OAuthContext
from tessera.oauth.grants import may_authorize
from tessera.oauth.messages import ConsentRequest, OAuthRequest, OAuthResponse, RefusedRequest
from tessera.oauth.server import TesseraAuthorizationServer
from tessera.store.database import Database

log = logging.getLogger(__name__)

GRANT_TYPES = ["authorization_code", "refresh_token", "implicit", DEVICE_CODE_GRANT_TYPE]
NO_STORE_JSON = [
    ("Content-Type", "application/json"),
    ("Cache-Control", "no-store"),
    ("Pragma", "no-cache"),
]


class OAuthService:
    def __init__(self, database: Database, context: OAuthContext) -> None:
        self._database = database
        self.context = context

    def check_authorization(
        self, request: OAuthRequest, person: Person | None
    ) -> ConsentRequest | RefusedRequest | OAuthResponse:
        """Validate an authorization request for the consent page, or before anyone signs in.

        An unknown client or an unregistered redirect URI never redirects (RFC 9700 §4.1): it
        comes back as ``RefusedRequest``. Other errors go back to the app's redirect URI.
        Without ``person`` (nobody signed in yet) only the request itself is judged.
        """
        with self._database.read() as session:
            server = TesseraAuthorizationServer(session, self.context)
            try:
                grant = server.get_consent_grant(request, end_user=person)
            except OAuth2Error as error:
                return _error(server, request, error)
            client = grant.request.client
            if person is not None and not may_authorize(person, client):
                return RefusedRequest("access_denied", "Access denied.")
            scope = grant.request.scope or ""
            return ConsentRequest(
                client_name=client.client.name,
                client_id=client.client.client_id,
                scope=scope,
                redirect_uri=grant.redirect_uri or "",
                scope_lines=tuple(describe_scope(scope, self.context.scopes)),
            )

    def decide(
        self,
        request: OAuthRequest,
        person: Person,
        *,
        allow: bool,
        signed_in_at: datetime | None = None,
    ) -> OAuthResponse | RefusedRequest:
        """The person's answer on the consent page: a redirect with a code, or access_denied.

        ``signed_in_at``: when the person signed in, the ``auth_time`` of the grant's ID tokens.
        """
        with self._database.write() as session:
            server = TesseraAuthorizationServer(session, self.context)
            server.storage.auth_time = signed_in_at
            try:
                grant = server.get_consent_grant(request, end_user=person)
            except OAuth2Error as error:
                refused = _error(server, request, error)
                return refused
            if not may_authorize(person, grant.request.client):
                return RefusedRequest("access_denied", "Access denied.")
            status, headers, body = server.create_authorization_response(
                grant.request, grant_user=person if allow else None, grant=grant
            )
            return OAuthResponse(status, headers, body)

    def token(self, request: OAuthRequest) -> OAuthResponse:
        try:
            try:
                return self._run(lambda server: server.create_token_response(request))
            except NoSigningKeyYet:
                # Rolled back (the code is not spent); made in a transaction of its own.
                self.context.signing_keys.ensure()
                return self._run(lambda server: server.create_token_response(request))
        except SigningKeyUnavailable as problem:
            # Rolled back: the code is not spent, nothing was issued; the operator must act.
            log.error("cannot sign an ID token: %s", problem)
            body = {
                "error": "server_error",
                "error_description": "The server cannot sign ID tokens now; its log says why.",
            }
            return OAuthResponse(500, NO_STORE_JSON, json.dumps(body))

    def userinfo(self, request: OAuthRequest) -> OAuthResponse:
        """OpenID Connect UserInfo: the person's claims by the token's scope."""
        with self._database.read() as session:
            server = TesseraAuthorizationServer(session, self.context)
            status, headers, body = server.create_endpoint_response("userinfo", request)
        return OAuthResponse(status, headers, body)

    def jwks(self) -> dict[str, Any]:
        """The public keys that check ID tokens (RFC 7517)."""
        return self.context.signing_keys.jwks()

    def authorize_device(self, request: OAuthRequest) -> OAuthResponse:
        """RFC 8628 §3.1: a device's request for a device code and a user code."""
        return self._run(
            lambda server: server.create_endpoint_response("device_authorization", request)
        )

    def revoke(self, request: OAuthRequest) -> OAuthResponse:
        return self._run(lambda server: server.create_endpoint_response("revocation", request))

    def introspect(self, request: OAuthRequest) -> OAuthResponse:
        return self._run(lambda server: server.create_endpoint_response("introspection", request))

    def metadata(self, issuer: str) -> dict[str, Any]:
        """RFC 8414: exactly what this server supports."""
        base = issuer.rstrip("/")
        return {
            "issuer": base,
            "authorization_endpoint": f"{base}/oauth/authorize",
            "token_endpoint": f"{base}/oauth/token",
            "revocation_endpoint": f"{base}/oauth/revoke",
            "introspection_endpoint": f"{base}/oauth/introspect",
            "device_authorization_endpoint": f"{base}/oauth/device_authorization",
            "response_types_supported": ["code", "token"],
            "response_modes_supported": ["query", "fragment"],
            "grant_types_supported": GRANT_TYPES,
            "token_endpoint_auth_methods_supported": [
                "client_secret_basic",
                "client_secret_post",
                "none",
            ],
            "revocation_endpoint_auth_methods_supported": [
                "client_secret_basic",
                "client_secret_post",
                "none",
            ],
            "introspection_endpoint_auth_methods_supported": [
                "client_secret_basic",
                "client_secret_post",
            ],
            "code_challenge_methods_supported": ["S256"],
            # OpenID's, session, and the groups of the endpoint tags API scopes name (ADR 0042).
            "scopes_supported": self.context.scopes.supported(),
            "service_documentation": f"{base}/docs",
            # OpenID Connect Discovery §3, in both documents: where they overlap, they agree.
            "userinfo_endpoint": f"{base}/oauth/userinfo",
            "jwks_uri": f"{base}/oauth/jwks",
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": [alg.value for alg in SigningAlgorithm],
            "claims_supported": list(CLAIMS_SUPPORTED),
            "claims_parameter_supported": False,
            "request_parameter_supported": False,
            "request_uri_parameter_supported": False,
        }

    def _run(self, step: Any) -> OAuthResponse:
        # Committed even when the answer is an error: a replay's revocation must stick.
        with self._database.write() as session:
            status, headers, body = step(TesseraAuthorizationServer(session, self.context))
        return OAuthResponse(status, headers, body)


def _error(
    server: TesseraAuthorizationServer, request: OAuthRequest, error: OAuth2Error
) -> OAuthResponse | RefusedRequest:
    if getattr(error, "redirect_uri", None):
        status, headers, body = server.handle_error_response(request, error)
        return OAuthResponse(status, headers, body)
    return RefusedRequest(error.error, error.description or "The request is invalid.")
