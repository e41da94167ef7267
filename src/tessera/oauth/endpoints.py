"""Revocation (RFC 7009) and introspection (RFC 7662) of OAuth-issued tokens."""

from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar

from authlib.oauth2.rfc6749 import TokenMixin
from authlib.oauth2.rfc7009 import RevocationEndpoint as _RevocationEndpoint
from authlib.oauth2.rfc7662 import IntrospectionEndpoint as _IntrospectionEndpoint

from tessera.core.credentials import CredentialKind, parse_credential
from tessera.core.errors import TesseraError
from tessera.core.ids import ApiTokenId
from tessera.core.principals import ApiTokenRecord
from tessera.oauth.models import ClientModel, RefreshTokenModel
from tessera.store import credentials as stored_credentials
from tessera.store import oauth as stored

if TYPE_CHECKING:
    from tessera.oauth.server import TesseraAuthorizationServer


class AccessTokenModel(TokenMixin):
    """An OAuth-issued API token, as the two endpoints need it."""

    def __init__(self, token: ApiTokenRecord, now: datetime) -> None:
        self.token = token
        self._now = now

    def check_client(self, client: ClientModel) -> bool:
        return self.token.oauth_client_id == client.client.client_id

    def get_scope(self) -> str:
        return ""

    def get_expires_in(self) -> int:
        expires = self.token.expires_at
        return 0 if expires is None else int((expires - self.token.created_at).total_seconds())

    def is_expired(self) -> bool:
        expires = self.token.expires_at
        return expires is not None and expires <= self._now

    def is_revoked(self) -> bool:
        return self.token.revoked_at is not None or not self.token.serves()


class _TokenLookup:
    server: "TesseraAuthorizationServer"

    def query_token(
        self, token_string: str, token_type_hint: str | None
    ) -> AccessTokenModel | RefreshTokenModel | None:
        server = self.server
        if ":" in token_string:
            try:
                presented = parse_credential(CredentialKind.API_TOKEN, token_string)
            except TesseraError:
                return None
            record = stored_credentials.find_api_token(
                server.session.connection(), ApiTokenId(presented.id)
            )
            if record is None or record.oauth_client_id is None:
                return None
            if not server.context.hasher.matches(presented.code, record.code_digest):
                return None
            return AccessTokenModel(record, server.context.clock.now())
        found = stored.find_refresh_token(
            server.session, server.context.hasher.digest(token_string)
        )
        return None if found is None else RefreshTokenModel(found, server.context.clock.now())


class RevocationEndpoint(_TokenLookup, _RevocationEndpoint):
    # Public clients may revoke their own tokens too (RFC 7009 §2.1).
    CLIENT_AUTH_METHODS: ClassVar[list[str]] = ["client_secret_basic", "client_secret_post", "none"]

    def authenticate_endpoint_client(self, request: Any) -> ClientModel:
        client: ClientModel = self.server.authenticate_client(
            request, self.CLIENT_AUTH_METHODS, "revocation"
        )
        return client

    def revoke_token(self, token: AccessTokenModel | RefreshTokenModel, request: Any) -> None:
        now = self.server.context.clock.now()
        if isinstance(token, RefreshTokenModel):
            # A refresh token stands for the whole connection: end all of it.
            stored.revoke_grant(self.server.session, token.grant.id, now=now)
        else:
            stored.revoke_api_token_of_grant(self.server.session, token.token.id, now=now)


class IntrospectionEndpoint(_TokenLookup, _IntrospectionEndpoint):
    # Only confidential clients: introspection says things about tokens (RFC 7662 §4).
    CLIENT_AUTH_METHODS: ClassVar[list[str]] = ["client_secret_basic", "client_secret_post"]

    def authenticate_endpoint_client(self, request: Any) -> ClientModel:
        client: ClientModel = self.server.authenticate_client(
            request, self.CLIENT_AUTH_METHODS, "introspection"
        )
        return client

    def check_permission(self, token: Any, client: ClientModel, request: Any) -> bool:
        # A client learns about its own tokens only; others look inactive.
        return bool(token.check_client(client))

    def introspect_token(self, token: AccessTokenModel | RefreshTokenModel) -> dict[str, Any]:
        if isinstance(token, RefreshTokenModel):
            grant = token.grant
            return {
                "active": True,
                "token_type": "refresh_token",
                "scope": grant.scope,
                "sub": str(grant.person_id),
                "iat": int(token.token.created_at.timestamp()),
                "exp": int(token.token.expires_at.timestamp()),
            }
        record = token.token
        payload: dict[str, Any] = {
            "active": True,
            "token_type": "Bearer",
            "client_id": record.oauth_client_id,
            "scope": "",
            "sub": str(record.person.id),
            "username": record.person.primary_email,
            "iat": int(record.created_at.timestamp()),
        }
        if record.expires_at is not None:
            payload["exp"] = int(record.expires_at.timestamp())
        return payload
