"""Revocation (RFC 7009) and introspection (RFC 7662) of OAuth-issued tokens."""

from typing import Any, ClassVar

from authlib.oauth2.rfc6749.errors import InvalidRequestError
from authlib.oauth2.rfc7009 import RevocationEndpoint as _RevocationEndpoint
from authlib.oauth2.rfc7662 import IntrospectionEndpoint as _IntrospectionEndpoint

from tessera.oauth.models import AccessTokenModel, ClientModel, RefreshTokenModel
from tessera.oauth.storage import StorageHost


class _HintIgnored:
    """RFC 7009 §2.1 (and RFC 7662 §2.1): ``token_type_hint`` is only a hint, which a server
    that tells tokens apart by itself may ignore; an unknown one is no reason to refuse."""

    def check_params(self, request: Any, client: ClientModel) -> None:
        if "token" not in request.form:
            raise InvalidRequestError("The token parameter is missing.")


class RevocationEndpoint(_HintIgnored, _RevocationEndpoint):
    # Public clients may revoke their own tokens too (RFC 7009 §2.1).
    CLIENT_AUTH_METHODS: ClassVar[list[str]] = [
        "client_secret_basic",
        "client_secret_post",
        "none",
        "private_key_jwt",
    ]
    server: StorageHost

    def authenticate_endpoint_client(self, request: Any) -> ClientModel:
        return self.server.authenticate_client(request, self.CLIENT_AUTH_METHODS, "revocation")

    def query_token(
        self, token_string: str, token_type_hint: str | None
    ) -> AccessTokenModel | RefreshTokenModel | None:
        return self.server.storage.find_token(token_string)

    def revoke_token(self, token: AccessTokenModel | RefreshTokenModel, request: Any) -> None:
        self.server.storage.revoke(token)


class IntrospectionEndpoint(_HintIgnored, _IntrospectionEndpoint):
    # Only confidential clients: introspection says things about tokens (RFC 7662 §4).
    CLIENT_AUTH_METHODS: ClassVar[list[str]] = [
        "client_secret_basic",
        "client_secret_post",
        "private_key_jwt",
    ]
    server: StorageHost

    def authenticate_endpoint_client(self, request: Any) -> ClientModel:
        return self.server.authenticate_client(request, self.CLIENT_AUTH_METHODS, "introspection")

    def query_token(
        self, token_string: str, token_type_hint: str | None
    ) -> AccessTokenModel | RefreshTokenModel | None:
        return self.server.storage.find_token(token_string)

    def check_permission(self, token: Any, client: ClientModel, request: Any) -> bool:
        # A client learns about its own tokens only; others look inactive.
        return bool(token.check_client(client))

    def introspect_token(self, token: AccessTokenModel | RefreshTokenModel) -> dict[str, Any]:
        if isinstance(token, RefreshTokenModel):
            grant = token.grant
            answer: dict[str, Any] = {
                "active": True,
                "token_type": "refresh_token",
                "scope": token.get_scope(),
                "sub": str(grant.person_id),
                "iat": int(token.token.created_at.timestamp()),
                "exp": int(token.token.expires_at.timestamp()),
            }
            return _with_audience(answer, grant.resources)
        found = token.token
        payload: dict[str, Any] = {
            "active": True,
            "token_type": "Bearer",
            "client_id": found.oauth_client_id,
            "scope": token.get_scope(),
            "sub": str(found.person.id),
            "username": found.person.primary_email,
            "iat": int(found.created_at.timestamp()),
        }
        if found.expires_at is not None:
            payload["exp"] = int(found.expires_at.timestamp())
        return _with_audience(payload, found.audience)


def _with_audience(answer: dict[str, Any], audience: tuple[str, ...] | None) -> dict[str, Any]:
    """RFC 7662 §2.2 ``aud``, as JWT writes it (RFC 7519 §4.1.3): one resource as a string,
    several as a list. None (no ``resource`` was asked for): left out, the token is for
    Tessera's own API only (ADR 0043)."""
    if audience is not None:
        answer["aud"] = audience[0] if len(audience) == 1 else list(audience)
    return answer
