"""The grants Tessera allows, on Authlib's protocol logic, with our storage and rules."""

from typing import Any, ClassVar

from authlib.oauth2.rfc6749 import grants
from authlib.oauth2.rfc6749.errors import (
    InvalidClientError,
    InvalidGrantError,
    InvalidRequestError,
    InvalidScopeError,
    UnauthorizedClientError,
)
from authlib.oauth2.rfc7636 import CodeChallenge

from tessera.core.oauth_clients import person_may_authorize
from tessera.core.oauth_scopes import MAX_SCOPE_LENGTH, is_openid, scope_to_refresh
from tessera.core.people import Person
from tessera.oauth.models import ClientModel, CodeModel, RefreshTokenModel
from tessera.oauth.resources import authorization_resources, token_audience
from tessera.oauth.storage import StorageHost

#: Confidential clients prove their secret; public ones (PKCE) send only their client_id.
TOKEN_AUTH_METHODS = ["client_secret_basic", "client_secret_post", "none", "private_key_jwt"]


def may_authorize(person: Person | None, client: ClientModel) -> bool:
    """Only active people; only active agents for agent-context apps (shared/spec §7.1)."""
    return person is not None and person_may_authorize(person, client.client)


class S256Only(CodeChallenge):
    """PKCE with S256 only (decision 11.11): ``plain``, or no method at all, is refused.

    Authlib already refuses a verifier without a challenge and a challenge without a
    verifier; public clients must send a challenge with the authorization request.
    """

    DEFAULT_CODE_CHALLENGE_METHOD = "S256"
    SUPPORTED_CODE_CHALLENGE_METHOD: ClassVar[list[str]] = ["S256"]

    def validate_code_challenge(self, grant: Any, redirect_uri: str) -> None:
        data = grant.request.payload.data
        challenge, method = data.get("code_challenge"), data.get("code_challenge_method")
        if challenge and method != "S256":
            raise InvalidRequestError("PKCE requires code_challenge_method=S256.")
        if not challenge and grant.request.client.client.is_public:
            raise InvalidRequestError("Public clients must use PKCE (code_challenge, S256).")
        super().validate_code_challenge(grant, redirect_uri)


class AuthorizationCodeGrant(grants.AuthorizationCodeGrant):
    TOKEN_ENDPOINT_AUTH_METHODS: ClassVar[list[str]] = TOKEN_AUTH_METHODS
    server: StorageHost

    def validate_authorization_request(self) -> str:
        # Authlib's checks first: an invalid_target may only go to a redirect URI it accepted.
        redirect_uri: str = super().validate_authorization_request()
        self.request.resources = authorization_resources(self.server, self.request, redirect_uri)
        return redirect_uri

    def save_authorization_code(self, code: str, request: Any) -> None:
        data = request.payload.data
        self.server.storage.store_code(
            code,
            client=request.client,
            person=request.user,
            scope=request.scope or "",
            redirect_uri=request.payload.redirect_uri or "",
            code_challenge=data.get("code_challenge"),
            code_challenge_method=data.get("code_challenge_method"),
            nonce=data.get("nonce") if is_openid(request.scope) else None,
            resources=getattr(request, "resources", None),
        )

    def validate_token_request(self) -> None:
        super().validate_token_request()
        code: CodeModel = self.request.authorization_code
        self.request.audience = token_audience(self.server, self.request, code.grant.resources)

    def query_authorization_code(self, code: str, client: ClientModel) -> CodeModel | None:
        return self.server.storage.spend_code(code, client)

    def delete_authorization_code(self, authorization_code: CodeModel) -> None:
        # Already spent when it was looked up: a failed exchange burns the code too.
        pass

    def authenticate_user(self, authorization_code: CodeModel) -> Person | None:
        person = authorization_code.person
        return person if may_authorize(person, self.request.client) else None


class RefreshTokenGrant(grants.RefreshTokenGrant):
    TOKEN_ENDPOINT_AUTH_METHODS: ClassVar[list[str]] = TOKEN_AUTH_METHODS
    INCLUDE_NEW_REFRESH_TOKEN = True
    server: StorageHost

    def authenticate_refresh_token(self, refresh_token: str) -> RefreshTokenModel | None:
        return self.server.storage.usable_refresh_token(refresh_token)

    def validate_token_request(self) -> None:
        super().validate_token_request()
        # A subset of the grant's resources, never another (RFC 8707 §2.2).
        token: RefreshTokenModel = self.request.refresh_token
        self.request.audience = token_audience(self.server, self.request, token.grant.resources)

    def _validate_token_scope(self, token: RefreshTokenModel) -> None:
        # Authlib's own check (this private hook of the pinned Authlib 1.9; tests/oauth/
        # test_scopes.py fails if it is no longer called) refuses any scope outside the grant,
        # unknown values included; ours ignores those as the authorization endpoint does
        # (core/oauth_scopes.py), so a client that repeats the scope it first asked for keeps
        # refreshing.
        client = self.request.client
        scope = scope_to_refresh(
            self.request.payload.scope,
            token.get_scope(),
            client.client.allowed_api_scope,
            client.scopes,
        )
        if scope is None:
            raise InvalidScopeError("The scope asks for more than the person granted.")
        if len(scope) > MAX_SCOPE_LENGTH:
            raise InvalidScopeError(f"The scope would be over {MAX_SCOPE_LENGTH} long.")
        self.request.scope = scope

    def issue_token(self, user: Person, refresh_token: RefreshTokenModel) -> dict[str, Any]:
        token: dict[str, Any] = self.generate_token(
            user=user,
            scope=self.request.scope,
            include_refresh_token=self.INCLUDE_NEW_REFRESH_TOKEN,
        )
        return token

    def authenticate_user(self, refresh_token: RefreshTokenModel) -> Person:
        # Read with the token (usable_refresh_token always gives it for a grant).
        person = refresh_token.person
        if person is None or not may_authorize(person, self.request.client):
            raise InvalidGrantError("The person may no longer use this app.")
        return person

    def revoke_old_credential(self, refresh_token: RefreshTokenModel) -> None:
        self.server.storage.rotate_refresh_token(refresh_token)


class ImplicitGrant(grants.ImplicitGrant):
    """Only for a client whose allowed grant type is ``token`` (decision 11.11)."""

    server: StorageHost

    def validate_authorization_request(self) -> str:
        redirect_uri: str = super().validate_authorization_request()
        self.request.resources = authorization_resources(
            self.server, self.request, redirect_uri, fragment=True
        )
        return redirect_uri

    def authenticate_token_endpoint_client(self) -> ClientModel:
        client = self.server.query_client(self.request.payload.client_id)
        if client is None:
            raise InvalidClientError(description="The client does not exist on this server.")
        return client


class RefusedGrant(grants.BaseGrant, grants.TokenEndpointMixin):
    """client_credentials and password: no person would stand behind the token (§7.1)."""

    GRANT_TYPES = ("client_credentials", "password")

    @classmethod
    def check_token_endpoint(cls, request: Any) -> bool:
        return request.payload.grant_type in cls.GRANT_TYPES

    def validate_token_request(self) -> None:
        raise UnauthorizedClientError("This grant type is not supported")

    def create_token_response(self) -> None:
        raise UnauthorizedClientError("This grant type is not supported")
