"""Authlib's ``AuthorizationServer`` bound to one transaction of Tessera's database.

One server per request (Polar's pattern): Authlib's storage hooks then all run in the caller's
transaction, which ``OAuthService`` opens and commits — error responses included, so that a
replayed code or refresh token revokes its family even though the answer is an error.
"""

import json
import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from authlib.oauth2.rfc6749 import AuthorizationServer
from sqlalchemy.orm import Session

from tessera.core.audit import AuditKind, CredentialKind
from tessera.core.clock import Clock
from tessera.core.credentials import CodeHasher, format_credential, new_code
from tessera.core.ids import PersonId
from tessera.core.oauth_grants import AuthorizationCode, RefreshToken
from tessera.core.people import Person
from tessera.core.principals import TokenSource
from tessera.oauth.endpoints import IntrospectionEndpoint, RevocationEndpoint
from tessera.oauth.grants import (
    AuthorizationCodeGrant,
    ImplicitGrant,
    RefreshTokenGrant,
    RefusedGrant,
    S256Only,
)
from tessera.oauth.messages import OAuthRequest
from tessera.oauth.models import ClientModel, CodeModel, RefreshTokenModel
from tessera.oauth.requests import SnapshotJsonRequest, SnapshotRequest
from tessera.services.audit import record
from tessera.services.oauth_clients import client_by_client_id, secret_matches
from tessera.store import api_tokens as stored_tokens
from tessera.store import oauth as stored
from tessera.store.oauth_clients import ClientWithSecret

log = logging.getLogger(__name__)

#: Deskpro's scope for OAuth-issued tokens (shared/spec §2.5).
SESSION_SCOPE = "session"
REFRESH_TOKEN_LENGTH = 48


@dataclass(frozen=True, slots=True)
class OAuthConfig:
    access_token_lifetime: timedelta
    refresh_token_lifetime: timedelta
    code_lifetime: timedelta
    #: How long the refresh token just rotated away stays usable (lost response, two tabs).
    refresh_grace: timedelta


@dataclass(frozen=True, slots=True)
class OAuthContext:
    """What every server needs besides its transaction; built once at start."""

    config: OAuthConfig
    hasher: CodeHasher
    clock: Clock


class TesseraAuthorizationServer(AuthorizationServer):
    def __init__(self, session: Session, context: OAuthContext) -> None:
        super().__init__(scopes_supported=None)
        self.session = session
        self.context = context
        self._request: SnapshotRequest | None = None
        self._read_ahead_done = False
        # What _read_ahead found, by the value presented (None: no such code or token).
        self._code_read: tuple[str, stored.WithParties[AuthorizationCode] | None] | None = None
        self._refresh_token_read: tuple[str, stored.WithParties[RefreshToken] | None] | None = None
        self.register_token_generator("default", self._token_shape)
        self.register_grant(AuthorizationCodeGrant, [S256Only(required=True)])
        self.register_grant(RefreshTokenGrant)
        self.register_grant(ImplicitGrant)
        self.register_grant(RefusedGrant)
        self.register_endpoint(RevocationEndpoint)
        self.register_endpoint(IntrospectionEndpoint)

    # -- Authlib's framework hooks ------------------------------------------------------

    def query_client(self, client_id: str) -> ClientModel | None:
        # In this request's transaction (no connection of its own), with the secret's digest:
        # one statement serves both the lookup and the secret check; none at all when the
        # code or refresh token of a token request names this client.
        found = client_by_client_id(self.session, client_id or "", known=self._read_ahead())
        if found is None or not found.client.is_enabled:
            return None
        client, digest, hasher = found.client, found.secret_digest, self.context.hasher

        def check_secret(secret: str) -> bool:
            return not client.is_public and secret_matches(hasher, digest, secret)

        return ClientModel(client, check_secret)

    def create_oauth2_request(self, request: OAuthRequest) -> SnapshotRequest:
        self._request = SnapshotRequest(request)
        return self._request

    def _read_ahead(self) -> ClientWithSecret | None:
        """For a token request: read its code or refresh token now, with the grant's client.

        Authlib asks for the client first and for the code (or refresh token) next; reading
        both in one statement saves a round trip per grant. Nothing is decided here: the row
        is only locked and kept, and ``spend_code`` and ``usable_refresh_token`` judge it,
        after the client has authenticated, exactly as if they had read it themselves.
        """
        request = self._request
        if request is None or self._read_ahead_done:
            return None
        self._read_ahead_done = True
        grant_type, form = request.payload.grant_type, request.form
        hasher = self.context.hasher
        if grant_type == "authorization_code" and form.get("code"):
            code = form["code"]
            found_code = stored.find_code(self.session, hasher.digest(code))
            self._code_read = (code, found_code)
            return None if found_code is None else found_code.client
        if grant_type == "refresh_token" and form.get("refresh_token"):
            token = form["refresh_token"]
            found_token = stored.find_refresh_token_with_parties(self.session, hasher.digest(token))
            self._refresh_token_read = (token, found_token)
            return None if found_token is None else found_token.client
        return None

    def create_json_request(self, request: OAuthRequest) -> SnapshotJsonRequest:
        return SnapshotJsonRequest(request)

    def handle_response(
        self, status: int, body: Any, headers: list[tuple[str, str]]
    ) -> tuple[int, list[tuple[str, str]], str]:
        text = json.dumps(body) if isinstance(body, dict) else str(body or "")
        return status, list(headers), text

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
        # so save_token fills the values in (Authlib returns this same dict to the client).
        lifetime = self.context.config.access_token_lifetime
        token: dict[str, Any] = {
            "token_type": "Bearer",
            "access_token": "",
            "expires_in": int(lifetime.total_seconds()),
            "scope": scope or "",
        }
        if include_refresh_token:
            token["refresh_token"] = ""
        return token

    def save_token(self, token: dict[str, Any], request: Any) -> None:
        now = self.context.clock.now()
        hasher = self.context.hasher
        if request.authorization_code is not None:
            grant = request.authorization_code.code.grant
        elif request.refresh_token is not None:
            grant = request.refresh_token.grant
        else:  # implicit: the consent happens with this very response
            grant = stored.add_grant(
                self.session,
                client_id=request.client.client.id,
                person_id=request.user.id,
                scope=request.scope or "",
                now=now,
            )
        code = new_code()
        access = stored_tokens.add_api_token(
            self.session,
            code_digest=hasher.digest(code),
            person_id=PersonId(grant.person_id),
            scope=SESSION_SCOPE,
            source=TokenSource.OAUTH,
            now=now,
            expires_at=now + self.context.config.access_token_lifetime,
            grant_id=grant.id,
        )
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
            },
        )
        if "refresh_token" in token:
            refresh = new_code(REFRESH_TOKEN_LENGTH)
            stored.add_refresh_token(
                self.session,
                token_digest=hasher.digest(refresh),
                grant=grant,
                access_token_id=access.id,
                now=now,
                expires_at=now + self.context.config.refresh_token_lifetime,
            )
            token["refresh_token"] = refresh

    # -- storage for the grants ---------------------------------------------------------

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
    ) -> None:
        now = self.context.clock.now()
        grant = stored.add_grant(
            self.session, client_id=client.client.id, person_id=person.id, scope=scope, now=now
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
        )

    def spend_code(self, code: str, client: ClientModel) -> CodeModel | None:
        """A code's one use. A second use is an attack (RFC 9700 §4.2.1): revoke its family."""
        now = self.context.clock.now()
        if self._code_read is not None and self._code_read[0] == code:
            read = self._code_read[1]
        else:
            read = stored.find_code(self.session, self.context.hasher.digest(code))
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

    def usable_refresh_token(self, token: str) -> RefreshTokenModel | None:
        now = self.context.clock.now()
        if self._refresh_token_read is not None and self._refresh_token_read[0] == token:
            read = self._refresh_token_read[1]
        else:
            read = stored.find_refresh_token_with_parties(
                self.session, self.context.hasher.digest(token)
            )
        if read is None:
            return None
        found, person = read.item, read.person
        if found.grant.revoked_at is not None or found.expires_at <= now:
            return None
        if found.rotated_at is None:
            return None if found.revoked_at is not None else RefreshTokenModel(found, now, person)
        newest = stored.latest_rotation(self.session, found.grant.id)
        in_grace = now - found.rotated_at <= self.context.config.refresh_grace
        if found.revoked_at is not None or not (in_grace and newest == found.rotated_at):
            log.warning("refresh token reused: revoking grant %s", found.grant.id)
            stored.revoke_grant(self.session, found.grant.id, now=now)
            return None
        stored.revoke_refresh_token(self.session, found.id, now=now)
        return RefreshTokenModel(found, now, person)

    def rotate_refresh_token(self, token: RefreshTokenModel) -> None:
        stored.mark_refresh_token_rotated(
            self.session, token.token.id, now=self.context.clock.now()
        )
