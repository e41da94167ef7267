"""Our values in the shapes Authlib asks for (its ClientMixin, code and token mixins)."""

from collections.abc import Callable, Mapping
from datetime import datetime
from types import MappingProxyType
from typing import Any, ClassVar
from urllib.parse import urlsplit

from authlib.oauth2.rfc6749 import ClientMixin, TokenMixin
from authlib.oauth2.rfc6749.errors import InvalidScopeError
from authlib.oauth2.rfc8628 import DEVICE_CODE_GRANT_TYPE
from authlib.oidc.core import AuthorizationCodeMixin

from tessera.core.oauth_clients import (
    GrantType,
    OAuthClient,
    is_insecure_redirect_uri,
    is_loopback_redirect_host,
)
from tessera.core.oauth_grants import AuthorizationCode, Grant, RefreshToken
from tessera.core.oauth_scopes import (
    MAX_SCOPE_LENGTH,
    OWN_CATALOGUE,
    ScopeCatalogue,
    granted_scope,
    scope_to_grant,
)
from tessera.core.people import Person
from tessera.core.principals import ApiTokenRecord


def redirect_uri_matches(registered: str, presented: str) -> bool:
    """Exact string match (RFC 9700 §4.1.3), except the port of a loopback ``http`` URI.

    RFC 8252 §7.3: a native app listens on whatever port is free, so ``127.0.0.1``, ``[::1]``
    and ``localhost`` take any port. Case changes, extra query parameters, ``;params``,
    userinfo, fragments, encoded slashes and one loopback name for another (``localhost`` for
    ``127.0.0.1``) all fail: only identical strings (or ports) pass.
    """
    if registered == presented:
        return True
    ours, theirs = urlsplit(registered), urlsplit(presented)
    if ours.scheme != "http" or theirs.scheme != "http":
        return False
    host = ours.netloc.rsplit(":", 1)[0] if not ours.netloc.endswith("]") else ours.netloc
    if not is_loopback_redirect_host(host):
        return False
    try:
        presented_port = theirs.port
    except ValueError:
        return False
    expected = f"{host}:{presented_port}" if presented_port is not None else host
    return (
        theirs.netloc == expected
        and (theirs.path, theirs.query, theirs.fragment) == (ours.path, ours.query, "")
        and "@" not in theirs.netloc
    )


class ClientModel(ClientMixin):
    def __init__(
        self,
        client: OAuthClient,
        check_secret: Callable[[str], bool],
        *,
        allow_insecure_redirects: bool = False,
        scopes: ScopeCatalogue = OWN_CATALOGUE,
    ) -> None:
        self.client = client
        self._check_secret = check_secret
        self._allow_insecure_redirects = allow_insecure_redirects
        #: The endpoint tags an API scope must name to count.
        self.scopes = scopes

    @property
    def redirect_uris(self) -> tuple[str, ...]:
        """The registered URIs that may be used now: plain http to another host only while the
        operator allows it (registered then, the switch turned off since: not used)."""
        if self._allow_insecure_redirects:
            return self.client.redirect_uris
        return tuple(uri for uri in self.client.redirect_uris if not is_insecure_redirect_uri(uri))

    def get_client_id(self) -> str:
        return self.client.client_id

    def get_default_redirect_uri(self) -> str | None:
        # Deskpro: without redirect_uri, a client with exactly one registered URI uses it.
        uris = self.client.redirect_uris
        return uris[0] if len(uris) == 1 and uris == self.redirect_uris else None

    def get_allowed_scope(self, scope: str | None) -> str:
        # Unknown values ignored, the default when nothing is left, narrowed to the client's
        # allowed scopes (core/oauth_scopes.py, ADR 0042).
        granted = scope_to_grant(scope, self.client.allowed_api_scope, self.scopes)
        if not granted:  # an unreadable allowed_scopes: "" would read as session
            raise InvalidScopeError("This app may not be granted any scope.")
        if len(granted) > MAX_SCOPE_LENGTH:
            raise InvalidScopeError(f"The scope granted would be over {MAX_SCOPE_LENGTH} long.")
        return granted

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return any(redirect_uri_matches(uri, redirect_uri) for uri in self.redirect_uris)

    def check_client_secret(self, client_secret: str) -> bool:
        return self._check_secret(client_secret)

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        if self.client.is_public:
            return method == "none"
        if self.client.private_key_jwt:
            return method == "private_key_jwt"  # it has no secret (ADR 0052)
        return method in ("client_secret_basic", "client_secret_post")

    def check_response_type(self, response_type: str) -> bool:
        allowed = self.client.allowed_grant_type
        if allowed is GrantType.IMPLICIT:
            return response_type == "token"
        return allowed is GrantType.AUTHORIZATION_CODE and response_type == "code"

    def check_grant_type(self, grant_type: str) -> bool:
        allowed = self.client.allowed_grant_type
        if allowed is GrantType.IMPLICIT:
            return grant_type == "implicit"
        if grant_type == "refresh_token" and not self.client.may_refresh:
            return False  # a document or registration that did not ask for refresh tokens
        if allowed is GrantType.DEVICE_CODE:
            return grant_type in (DEVICE_CODE_GRANT_TYPE, "refresh_token")
        return grant_type in ("authorization_code", "refresh_token")


class CodeModel(AuthorizationCodeMixin):
    def __init__(self, code: AuthorizationCode, person: Person) -> None:
        self.code = code
        #: The grant's person, read with the code (no second query).
        self.person = person
        self.code_challenge = code.code_challenge
        self.code_challenge_method = code.code_challenge_method

    def get_redirect_uri(self) -> str:
        return self.code.redirect_uri

    def get_scope(self) -> str:
        return granted_scope(self.code.grant.scope)

    # -- OpenID Connect (the ID token's claims of this code) --------------------------------

    def get_nonce(self) -> str | None:
        return self.code.nonce

    def get_auth_time(self) -> int | None:
        auth_time = self.code.grant.auth_time
        return None if auth_time is None else int(auth_time.timestamp())

    @property
    def grant(self) -> Grant:
        return self.code.grant


class RefreshTokenModel(TokenMixin):
    def __init__(self, token: RefreshToken, now: datetime, person: Person | None = None) -> None:
        self.token = token
        self._now = now
        #: The grant's person when the token was read for a grant (revocation needs none).
        self.person = person

    def check_client(self, client: ClientModel) -> bool:
        return self.token.grant.client_id == client.client.id

    def get_scope(self) -> str:
        return granted_scope(self.token.grant.scope)

    def get_expires_in(self) -> int:
        return int((self.token.expires_at - self.token.created_at).total_seconds())

    def is_expired(self) -> bool:
        return self.token.expires_at <= self._now

    def is_revoked(self) -> bool:
        token = self.token
        return (
            token.revoked_at is not None
            or token.rotated_at is not None
            or token.grant.revoked_at is not None
        )

    @property
    def grant(self) -> Grant:
        return self.token.grant


class AccessTokenModel(TokenMixin):
    """An OAuth-issued API token, as revocation and introspection need it."""

    def __init__(self, token: ApiTokenRecord, now: datetime) -> None:
        self.token = token
        self._now = now

    def check_client(self, client: ClientModel) -> bool:
        return self.token.oauth_client_id == client.client.client_id

    def get_scope(self) -> str:
        # Its own: a refresh may have narrowed it below its grant's (ADR 0042).
        return granted_scope(self.token.scope)

    def get_expires_in(self) -> int:
        expires = self.token.expires_at
        return 0 if expires is None else int((expires - self.token.created_at).total_seconds())

    def is_expired(self) -> bool:
        expires = self.token.expires_at
        return expires is not None and expires <= self._now

    def is_revoked(self) -> bool:
        return self.token.revoked_at is not None or not self.token.serves()


class _UnsignedClient:
    """The token's client as UserInfo asks for it: only whether to sign (never, so far)."""

    # Authlib only reads it: a read-only mapping, one for every instance.
    client_metadata: ClassVar[Mapping[str, Any]] = MappingProxyType({})


class UserInfoToken:
    """An access token at UserInfo: its person and the scope its grant holds."""

    def __init__(self, token: AccessTokenModel, scope: str) -> None:
        self.token = token
        self.scope = scope

    def get_scope(self) -> str:
        return self.scope

    def is_expired(self) -> bool:
        return self.token.is_expired()

    def is_revoked(self) -> bool:
        return self.token.is_revoked()

    def get_user(self) -> Person:
        return self.token.token.person

    def get_client(self) -> _UnsignedClient:
        return _UnsignedClient()


def seconds_until(moment: datetime, now: datetime) -> int:
    return max(0, int((moment - now).total_seconds()))
