"""What the grants and endpoints read and write, in the one transaction of an OAuth step.

The authorization server (``server``) composes this with Authlib's protocol; the grants and
endpoints reach it as ``server.storage`` and know the server only as ``StorageHost``, so no
module here imports the server (import-linter forbids cycles inside a layer).
"""

import logging
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy.orm import Session

from tessera.core.audit import AuditKind, CredentialKind
from tessera.core.credential_codes import API_TOKEN_CODE, REFRESH_TOKEN_CODE
from tessera.core.credentials import (
    JWT_START,
    PresentedCredential,
    format_credential,
    parse_credential,
)
from tessera.core.credentials import CredentialKind as PresentedKind
from tessera.core.errors import InvalidApiToken, TesseraError
from tessera.core.ids import ApiTokenId, PersonId
from tessera.core.oauth_clients import AccessTokenFormat
from tessera.core.oauth_grants import AuthorizationCode, RefreshToken
from tessera.core.oauth_scopes import SESSION_SCOPE, granted_scope, scope_values
from tessera.core.people import Person
from tessera.core.principals import TokenSource
from tessera.core.sign_in_methods import SignInMethod
from tessera.oauth.context import OAuthContext
from tessera.oauth.models import (
    AccessTokenModel,
    ClientModel,
    CodeModel,
    RefreshTokenModel,
    UserInfoToken,
)
from tessera.oauth.requests import SnapshotRequest
from tessera.services.audit import record
from tessera.services.jwt_access_tokens import access_token_claims
from tessera.services.oauth_clients import client_by_client_id, secret_matches
from tessera.store import api_tokens as stored_tokens
from tessera.store import client_assertions as stored_assertions
from tessera.store import credentials as stored_credentials
from tessera.store import oauth as stored
from tessera.store.oauth_clients import ClientWithSecret

log = logging.getLogger(__name__)


class OAuthStorage:
    def __init__(self, session: Session, context: OAuthContext) -> None:
        self.session = session
        self.context = context
        #: The request being answered (set by the server as Authlib hands it over).
        self.request: SnapshotRequest | None = None
        self._read_ahead_done = False
        # What _read_ahead found, by the value presented (None: no such code or token).
        self._code_read: tuple[str, stored.WithParties[AuthorizationCode] | None] | None = None
        self._refresh_token_read: tuple[str, stored.WithParties[RefreshToken] | None] | None = None
        #: When the person consenting now signed in (set by the service for the consent step).
        self.auth_time: datetime | None = None
        #: …and how (the ``acr`` and ``amr`` of the grant's tokens).
        self.signed_in_by: SignInMethod | None = None

    # -- clients --------------------------------------------------------------------------

    def query_client(self, client_id: str) -> ClientModel | None:
        # In this request's transaction (no connection of its own), with the secret's digest:
        # one statement serves both the lookup and the secret check; none at all when the
        # code or refresh token of a token request names this client.
        found = client_by_client_id(self.session, client_id or "", known=self._read_ahead())
        if found is None or not found.client.is_enabled:
            return None
        return self.client_model(found)

    def client_model(self, found: ClientWithSecret) -> ClientModel:
        """A client read with its secret's digest, in the shape Authlib asks for."""
        client, digest, hasher = found.client, found.secret_digest, self.context.hasher

        def check_secret(secret: str) -> bool:
            return not client.is_public and secret_matches(hasher, digest, secret)

        return ClientModel(
            client,
            check_secret,
            allow_insecure_redirects=self.context.config.allow_insecure_redirects,
            scopes=self.context.scopes,
        )

    def _read_ahead(self) -> ClientWithSecret | None:
        """For a token request: read its code or refresh token now, with the grant's client.

        Authlib asks for the client first and for the code (or refresh token) next; reading
        both in one statement saves a round trip per grant. Nothing is decided here: the row
        is only locked and kept, and ``spend_code`` and ``usable_refresh_token`` judge it,
        after the client has authenticated, exactly as if they had read it themselves.
        """
        request = self.request
        if request is None or self._read_ahead_done:
            return None
        self._read_ahead_done = True
        grant_type, form = request.payload.grant_type, request.form
        hasher = self.context.hasher
        if grant_type == "authorization_code" and form.get("code"):
            code = form["code"]
            found_code = stored.find_code(self.session, hasher.digests(code))
            self._code_read = (code, found_code)
            return None if found_code is None else found_code.client
        if grant_type == "refresh_token" and form.get("refresh_token"):
            token = form["refresh_token"]
            found_token = stored.find_refresh_token_with_parties(
                self.session, hasher.digests(token)
            )
            self._refresh_token_read = (token, found_token)
            return None if found_token is None else found_token.client
        return None

    def use_assertion_once(self, client_id: int, jti_digest: bytes, until: datetime) -> bool:
        """A client assertion's ``jti``, remembered until ``until``; False: used before."""
        return stored_assertions.use_once(self.session, client_id, jti_digest, expires_at=until)

    # -- codes ----------------------------------------------------------------------------

    def store_code(
        self,
        code: str,
        *,
        client: ClientModel,
        person: Person,
        scope: str,
        redirect_uri: str,
        code_challenge: str | None,
        code_challenge_method: str | None,
        nonce: str | None = None,
        resources: tuple[str, ...] | None = None,
    ) -> None:
        now = self.context.clock.now()
        grant = stored.add_grant(
            self.session,
            client_id=client.client.id,
            person_id=person.id,
            scope=scope,
            now=now,
            auth_time=self.auth_time,
            resources=resources,
            signed_in_by=self.signed_in_by,
        )
        stored.add_code(
            self.session,
            code_digest=self.context.hasher.digest(code),
            grant=grant,
            redirect_uri=redirect_uri,
            code_challenge=code_challenge,
            code_challenge_method=code_challenge_method,
            now=now,
            expires_at=now + self.context.config.code_lifetime,
            nonce=nonce,
        )

    def consent_remembered(
        self, person: Person, client: ClientModel, scope: str, resources: Sequence[str] = ()
    ) -> bool:
        """Does a live grant of the person to this app already hold every value of ``scope``,
        for the same APIs? A grant for some resources says nothing of others, nor of Tessera's
        own API (none named), so a silent answer never widens where a token works."""
        wanted = set(scope_values(granted_scope(scope)))
        held = stored.live_grant_consents(
            self.session, person_id=person.id, client_row_id=client.client.id
        )
        return any(
            wanted <= set(scope_values(granted_scope(one)))
            and (set(resources) <= set(agreed) if resources else not agreed)
            for one, agreed in held
        )

    def nonce_used(self, nonce: str, client: ClientModel) -> bool:
        return stored.nonce_used(self.session, client_id=client.client.id, nonce=nonce)

    def spend_code(self, code: str, client: ClientModel) -> CodeModel | None:
        """A code's one use. A second use is an attack (RFC 9700 §4.2.1): revoke its family."""
        now = self.context.clock.now()
        if self._code_read is not None and self._code_read[0] == code:
            read = self._code_read[1]
        else:
            read = stored.find_code(self.session, self.context.hasher.digests(code))
        if read is None:
            return None
        found, person = read.item, read.person
        if found.grant.client_id != client.client.id:
            return None
        if found.used_at is not None or not stored.mark_code_used(self.session, found.id, now=now):
            log.warning("authorization code replayed: revoking grant %s", found.grant.id)
            stored.revoke_grant(self.session, found.grant.id, now=now)
            return None
        if found.expires_at <= now or found.grant.revoked_at is not None:
            return None
        return CodeModel(found, person)

    # -- refresh tokens -------------------------------------------------------------------

    def usable_refresh_token(self, token: str) -> RefreshTokenModel | None:
        now = self.context.clock.now()
        if self._refresh_token_read is not None and self._refresh_token_read[0] == token:
            read = self._refresh_token_read[1]
        else:
            read = stored.find_refresh_token_with_parties(
                self.session, self.context.hasher.digests(token)
            )
        if read is None:
            return None
        found, person = read.item, read.person
        if found.grant.revoked_at is not None or found.expires_at <= now:
            return None
        if found.rotated_at is None and found.revoked_at is None:
            return RefreshTokenModel(found, now, person)  # the newest of its chain: the usual case
        # Rotated away, or ended: a second use. Once, right after its rotation, it is a client
        # retrying a refresh whose answer it never got (the grace); any other time the token
        # has been copied, and the whole family goes (RFC 9700 §4.14.2).
        grace = self.context.config.refresh_grace
        retried = (
            found.rotated_at is not None
            and found.revoked_at is None
            and now - found.rotated_at <= grace
            and stored.latest_rotation(self.session, found.grant.id) == found.rotated_at
        )
        if not retried:
            log.warning("refresh token reused: revoking grant %s", found.grant.id)
            stored.revoke_grant(self.session, found.grant.id, now=now)
            return None
        # The retry gets a new successor; the one the first use issued (and its access token)
        # ends, so that one chain lives on. Had the token been copied, the party holding that
        # ended successor presents it next, which is a second use: the family goes.
        stored.end_live_refresh_tokens(self.session, found.grant.id, now=now)
        stored.revoke_refresh_token(self.session, found.id, now=now)
        return RefreshTokenModel(found, now, person)

    def rotate_refresh_token(self, token: RefreshTokenModel) -> None:
        stored.mark_refresh_token_rotated(
            self.session, token.token.id, now=self.context.clock.now()
        )

    # -- issuing --------------------------------------------------------------------------

    def save_token(self, token: dict[str, Any], request: Any) -> None:
        """Fill in the token answer Authlib shaped: an API token ``ID:CODE``, a refresh token."""
        now = self.context.clock.now()
        hasher = self.context.hasher
        #: RFC 8707: what the grant set as ``request.audience`` (None: Tessera's own API).
        audience: tuple[str, ...] | None = getattr(request, "audience", None)
        if request.authorization_code is not None:
            grant = request.authorization_code.code.grant
        elif request.refresh_token is not None:
            grant = request.refresh_token.grant
        elif request.credential is not None:  # the device grant: approved on the /device page
            grant = request.credential.grant
        else:  # implicit: the consent happens with this very response
            audience = getattr(request, "resources", None)
            grant = stored.add_grant(
                self.session,
                client_id=request.client.client.id,
                person_id=request.user.id,
                scope=request.scope,
                now=now,
                resources=audience,
                auth_time=self.auth_time,
                signed_in_by=self.signed_in_by,
            )
        code = API_TOKEN_CODE.new()
        expires_at = now + self.context.config.access_token_lifetime
        access = stored_tokens.add_api_token(
            self.session,
            code_digest=hasher.digest(code),
            person_id=PersonId(grant.person_id),
            # What this token was granted, which a refresh may have narrowed: its tag limit.
            scope=token["scope"],
            source=TokenSource.OAUTH,
            now=now,
            expires_at=expires_at,
            grant_id=grant.id,
            audience=audience,
        )
        client: ClientModel = request.client
        if client.client.access_token_format is AccessTokenFormat.JWT:
            method = grant.sign_in_method
            # RFC 9068: the JWT names this row; its signature replaces the code, whose digest
            # the row keeps instead (the random code above was never shown to anyone).
            claims = access_token_claims(
                issuer=self.context.issuer,
                token_id=access.id,
                subject=str(grant.person_id),
                client_id=client.get_client_id(),
                audience=audience or (self.context.own_resource,),
                scope=token["scope"],
                issued_at=now,
                expires_at=expires_at,
                auth_time=grant.auth_time,
                acr=None if method is None else method.acr,
                amr=None if method is None else method.amr,
            )
            signed, signature = self.context.access_tokens.sign(claims)
            stored_tokens.set_code_digest(self.session, access.id, hasher.digest(signature))
            token["access_token"] = signed
        else:
            token["access_token"] = format_credential(access.id, code)
        record(
            self.session,
            AuditKind.API_TOKEN_ISSUED,
            self.context.clock,
            actor=access.person_id,
            subject=access.person_id,
            credential_kind=CredentialKind.TOKEN,
            credential_id=access.id,
            detail={
                "source": TokenSource.OAUTH.value,
                "oauth_client_id": grant.client_id,
                "refreshed": request.refresh_token is not None,
                "audience": None if audience is None else list(audience),
                # What the token may do (ADR 0042): a refresh may have narrowed it.
                "scope": token["scope"],
            },
        )
        if "refresh_token" in token:
            refresh = REFRESH_TOKEN_CODE.new()
            stored.add_refresh_token(
                self.session,
                token_digest=hasher.digest(refresh),
                grant=grant,
                access_token_id=access.id,
                now=now,
                expires_at=now + self.context.config.refresh_token_lifetime,
            )
            token["refresh_token"] = refresh

    # -- revocation and introspection -----------------------------------------------------

    def find_token(self, token_string: str) -> AccessTokenModel | RefreshTokenModel | None:
        """An OAuth-issued access token (``ID:CODE`` or a JWT) or a refresh token; None for
        anything else.

        They look nothing alike, so no type hint is needed to tell them apart (RFC 7009
        §2.1 lets the server ignore it).
        """
        now = self.context.clock.now()
        if ":" in token_string or token_string.startswith(JWT_START):
            try:
                presented = self._presented_access_token(token_string)
            except TesseraError:
                return None
            found = stored_credentials.find_api_token(
                self.session.connection(), ApiTokenId(presented.id)
            )
            if found is None or found.oauth_client_id is None:
                return None
            if not self.context.hasher.matches(presented.code, found.code_digest):
                return None
            return AccessTokenModel(found, now)
        refresh = stored.find_refresh_token(self.session, self.context.hasher.digests(token_string))
        return None if refresh is None else RefreshTokenModel(refresh, now)

    def _presented_access_token(self, token_string: str) -> PresentedCredential:
        """The row an access token names and the code to compare (a JWT's: its signature).

        Raises:
            TesseraError: neither form, or a JWT not signed by us or expired.
        """
        if not token_string.startswith(JWT_START):
            return parse_credential(PresentedKind.API_TOKEN, token_string)
        presented = self.context.access_tokens.presented(token_string, may_read=True)
        if presented is None:  # never with may_read; for the type checker
            raise InvalidApiToken()
        return presented

    def userinfo_token(self, token_string: str) -> UserInfoToken | None:
        """An OAuth access token presented at UserInfo, with its grant's scope; None if unknown."""
        found = self.find_token(token_string)
        if not isinstance(found, AccessTokenModel):
            return None
        audience = found.token.audience
        if audience is not None and self.context.own_resource not in audience:
            return None  # a token for another resource (RFC 8707): not for Tessera's UserInfo
        if found.token.scope != SESSION_SCOPE:
            # Its own scope: a refresh may have narrowed the claims too (ADR 0042).
            return UserInfoToken(found, found.token.scope)
        # Tokens issued before tokens held their scope say "session": their grant's counts.
        scope = stored.scope_of_token_grant(self.session, found.token.id)
        return None if scope is None else UserInfoToken(found, granted_scope(scope))

    def revoke(self, token: AccessTokenModel | RefreshTokenModel) -> None:
        now = self.context.clock.now()
        if isinstance(token, RefreshTokenModel):
            # A refresh token stands for the whole connection: end all of it.
            stored.revoke_grant(self.session, token.grant.id, now=now)
        else:
            stored.revoke_api_token_of_grant(self.session, token.token.id, now=now)


class StorageHost(Protocol):
    """The authorization server as its grants and endpoints see it (Authlib sets ``server``)."""

    storage: OAuthStorage

    def query_client(self, client_id: str) -> ClientModel | None: ...

    def authenticate_client(
        self, request: Any, methods: list[str], endpoint: str = "token"
    ) -> ClientModel: ...
