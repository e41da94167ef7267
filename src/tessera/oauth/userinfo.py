"""UserInfo (OpenID Connect Core §5.3) on Authlib's ``UserInfoEndpoint``.

Authlib checks the token's scope holds ``openid`` and answers its errors in RFC 6750's shape
(401, ``WWW-Authenticate: Bearer error="invalid_token"``). Ours: finding the Bearer token (an
OAuth-issued ``ID:CODE`` whose grant holds ``openid``), and the claims by scope. A request
without a usable Bearer token is ``invalid_token`` too, so a client always learns it must get
a new token. UserInfo is never signed: no client can register ``userinfo_signed_response_alg``.
"""

from typing import Any

from authlib.oauth2.rfc6749 import ResourceProtector
from authlib.oauth2.rfc6750 import BearerTokenValidator, InvalidTokenError
from authlib.oidc.core import UserInfo
from authlib.oidc.core import UserInfoEndpoint as _UserInfoEndpoint

from tessera.core.openid_claims import person_claims
from tessera.core.people import Person
from tessera.oauth.models import UserInfoToken
from tessera.oauth.requests import SnapshotRequest
from tessera.oauth.storage import StorageHost


class _Validator(BearerTokenValidator):
    def __init__(self, server: StorageHost) -> None:
        super().__init__()
        self._server = server

    def authenticate_token(self, token_string: str) -> UserInfoToken | None:
        return self._server.storage.userinfo_token(token_string.strip())


class _Protector(ResourceProtector):
    """Authlib's resource protector for the one request being answered."""

    def __init__(self, server: StorageHost) -> None:
        super().__init__()
        self.register_token_validator(_Validator(server))
        self.request: SnapshotRequest | None = None

    def acquire_token(self, scope: str) -> UserInfoToken:
        request = self.request
        if request is None:
            raise RuntimeError("create_endpoint_request sets the request first")
        scheme, _, credential = (request.headers.get("Authorization") or "").partition(" ")
        if scheme.lower() != "bearer" or not credential.strip():
            raise InvalidTokenError(
                description="Send the access token as Authorization: Bearer (RFC 6750)."
            )
        token: UserInfoToken = self.validate_request([scope], request)
        return token


class UserInfoEndpoint(_UserInfoEndpoint):
    server: Any

    def __init__(self, server: StorageHost) -> None:
        self._protector = _Protector(server)
        super().__init__(server, resource_protector=self._protector)

    def create_endpoint_request(self, request: Any) -> SnapshotRequest:
        snapshot: SnapshotRequest = self.server.create_oauth2_request(request)
        self._protector.request = snapshot
        return snapshot

    def generate_user_info(self, user: Person, scope: str) -> UserInfo:
        return UserInfo(person_claims(user, scope))
