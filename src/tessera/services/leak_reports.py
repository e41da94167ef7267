"""Leaked credentials reported by a secret-scanning partner: verified, revoked, answered.

Each reported string that is a live API key, API token, OAuth refresh token, initial access
token, registration access token or magic link of ours is revoked through the same path as an
admin's revocation (the change feed carries it to every cache at once, ADR 0010/0011), with an
audit event that names the credential, its owner and where the partner found it, never the
code. A string that is not ours, or no longer works, is a false positive and changes nothing. A
code that claims our format but fails its checksum is answered without a read (ADR 0037).
"""

import logging
from dataclasses import dataclass

from tessera.core.audit import AuditKind, DetailValue
from tessera.core.clock import Clock
from tessera.core.credential_codes import (
    API_KEY_CODE,
    API_TOKEN_CODE,
    INITIAL_ACCESS_TOKEN_CODE,
    MAGIC_LINK_CODE,
    REFRESH_TOKEN_CODE,
    REGISTRATION_TOKEN_CODE,
    format_of,
    is_forged,
)
from tessera.core.credentials import (
    CodeHasher,
    CredentialKind,
    PresentedCredential,
    parse_credential,
)
from tessera.core.errors import InvalidSignature, NotFound, TesseraError
from tessera.core.ids import ApiKeyId, ApiTokenId, PersonId
from tessera.core.leak_reports import (
    MAX_TOKEN_LENGTH,
    Label,
    ReportedSecret,
    Verdict,
    parse_report,
    verdict,
)
from tessera.services.api_keys import ApiKeyService
from tessera.services.api_tokens import ApiTokenService
from tessera.services.audit import record
from tessera.services.partner_keys import PartnerKeyring
from tessera.services.throttle import Throttle, ThrottleRule
from tessera.store import credentials as stored_credentials
from tessera.store import initial_access_tokens as stored_initial_tokens
from tessera.store import magic_links as stored_links
from tessera.store import oauth as stored_oauth
from tessera.store import oauth_clients as stored_clients
from tessera.store.database import Database

log = logging.getLogger(__name__)

#: Who reported it, in the audit trail: the one partner protocol Tessera speaks.
REPORTER = "github_secret_scanning"


@dataclass(frozen=True, slots=True)
class Revokers:
    """The services that revoke keys and tokens the way an admin does."""

    api_keys: ApiKeyService
    api_tokens: ApiTokenService


class LeakReportService:
    def __init__(
        self,
        database: Database,
        hasher: CodeHasher,
        clock: Clock,
        throttle: Throttle,
        revokers: Revokers,
        *,
        keyring: PartnerKeyring | None,
        per_address: ThrottleRule,
    ) -> None:
        self._database = database
        self._hasher = hasher
        self._clock = clock
        self._throttle = throttle
        self._revokers = revokers
        self._keyring = keyring
        self._per_address = per_address

    @property
    def enabled(self) -> bool:
        """Only with the partner's keys: without them no report could be trusted."""
        return self._keyring is not None

    def handle(
        self,
        body: bytes,
        key_identifier: str | None,
        signature: str | None,
        client_address: str | None,
    ) -> list[Verdict]:
        """Check a report's signature, then revoke each live credential it names.

        Raises:
            NotFound: no partner keys are configured (the endpoint is off).
            RateLimited: too many reports from this address.
            InvalidSignature: no signature, an unknown key, or one that does not verify.
            InvalidJsonBody, InvalidInput: a signed body that is not a report.
        """
        keyring = self._keyring
        if keyring is None:
            raise NotFound()
        self._throttle.hit(self._per_address, client_address or "unknown")
        if not keyring.verifies(key_identifier, signature, body):
            log.warning(
                "secret-scanning report refused: no valid signature (key identifier %.80r)",
                key_identifier,
            )
            raise InvalidSignature()
        verdicts = [self._judge(reported) for reported in parse_report(body)]
        revoked = sum(1 for judged in verdicts if judged.label is Label.TRUE_POSITIVE)
        log.info("secret-scanning report: %d items, %d revoked", len(verdicts), revoked)
        return verdicts

    def _judge(self, reported: ReportedSecret) -> Verdict:
        live = self._revoke_if_live(reported)
        return verdict(reported, Label.TRUE_POSITIVE if live else Label.FALSE_POSITIVE)

    def _revoke_if_live(self, reported: ReportedSecret) -> bool:
        token = reported.token.strip()
        if len(token) > MAX_TOKEN_LENGTH:
            return False
        if ":" not in token:
            return self._revoke_unnumbered(token, reported)
        try:
            presented = parse_credential(CredentialKind.EITHER, token)
        except TesseraError:
            return False
        if is_forged(presented.code):
            return False  # a look-alike: its checksum says it was never issued
        claimed = format_of(presented.code)
        if claimed is API_KEY_CODE:
            return self._revoke_key(presented, reported)
        if claimed is API_TOKEN_CODE:
            return self._revoke_token(presented, reported)
        if claimed is None:  # an older code, without a prefix: a key's or a token's
            return self._revoke_key(presented, reported) or self._revoke_token(presented, reported)
        return False

    def _revoke_key(self, presented: PresentedCredential, reported: ReportedSecret) -> bool:
        with self._database.read() as session:
            key = stored_credentials.find_api_key(session.connection(), ApiKeyId(presented.id))
        if key is None or key.revoked_at is not None:
            return False
        if not self._hasher.matches(presented.code, key.code_digest):
            return False
        self._revokers.api_keys.revoke(key.id, detail=_leak_detail(reported))
        return True

    def _revoke_token(self, presented: PresentedCredential, reported: ReportedSecret) -> bool:
        with self._database.read() as session:
            token = stored_credentials.find_api_token(
                session.connection(), ApiTokenId(presented.id)
            )
        if token is None or token.revoked_at is not None:
            return False
        if not self._hasher.matches(presented.code, token.code_digest):
            return False
        self._revokers.api_tokens.revoke(token.id, detail=_leak_detail(reported))
        return True

    def _revoke_unnumbered(self, code: str, reported: ReportedSecret) -> bool:
        """A code without ``ID:``: its prefix says which kind; an older one (no prefix) can
        only be a refresh token. A client secret is never revoked here (an admin decides)."""
        if is_forged(code):
            return False
        claimed = format_of(code)
        if claimed is None or claimed is REFRESH_TOKEN_CODE:
            return self._revoke_refresh_token(code, reported)
        if claimed is INITIAL_ACCESS_TOKEN_CODE:
            return self._revoke_initial_token(code, reported)
        if claimed is REGISTRATION_TOKEN_CODE:
            return self._revoke_registration_token(code, reported)
        if claimed is MAGIC_LINK_CODE:
            return self._revoke_magic_link(code, reported)
        return False

    def _revoke_initial_token(self, code: str, reported: ReportedSecret) -> bool:
        """A live initial access token stops letting anyone register clients."""
        now = self._clock.now()
        with self._database.write() as session:
            found = stored_initial_tokens.find_token(session, self._hasher.digests(code))
            if found is None or not found.is_usable(now):
                return False  # revoked, expired or spent: it registers nothing any more
            stored_initial_tokens.revoke_token(session, found.id, now=now)
            detail = _leak_detail(reported)
            detail["initial_access_token_id"] = found.id
            record(session, AuditKind.INITIAL_ACCESS_TOKEN_REVOKED, self._clock, detail=detail)
        return True

    def _revoke_registration_token(self, code: str, reported: ReportedSecret) -> bool:
        """The registration can no longer be read, changed or deleted with it (RFC 7592); the
        client itself keeps working, as its own credentials were not reported."""
        with self._database.write() as session:
            client = stored_clients.drop_registration_token(session, self._hasher.digests(code))
            if client is None:
                return False
            detail = _leak_detail(reported)
            detail["oauth_client_id"] = client.id
            record(session, AuditKind.REGISTRATION_TOKEN_REVOKED, self._clock, detail=detail)
        return True

    def _revoke_magic_link(self, code: str, reported: ReportedSecret) -> bool:
        """An unused, unexpired link is spent, so that it signs nobody in."""
        with self._database.write() as session:
            taken = stored_links.take_magic_link(
                session, self._hasher.digests(code), now=self._clock.now()
            )
            if taken is None:
                return False
            detail = _leak_detail(reported)
            detail["magic_link_id"] = taken.id
            record(
                session,
                AuditKind.MAGIC_LINK_REVOKED,
                self._clock,
                subject=taken.person_id,
                detail=detail,
            )
        return True

    def _revoke_refresh_token(self, code: str, reported: ReportedSecret) -> bool:
        """A refresh token stands for its whole connection: all of it ends (as RFC 7009's)."""
        now = self._clock.now()
        with self._database.write() as session:
            found = stored_oauth.find_refresh_token(session, self._hasher.digests(code))
            if (
                found is None
                or found.revoked_at is not None
                or found.rotated_at is not None
                or found.expires_at <= now
                or found.grant.revoked_at is not None
            ):
                return False
            grant = found.grant
            stored_oauth.revoke_grant(session, grant.id, now=now)
            detail = _leak_detail(reported)
            detail.update(oauth_grant_id=grant.id, oauth_client_id=grant.client_id)
            record(
                session,
                AuditKind.OAUTH_GRANT_REVOKED,
                self._clock,
                subject=PersonId(grant.person_id),
                detail=detail,
            )
        return True


def _leak_detail(reported: ReportedSecret) -> dict[str, DetailValue]:
    """Why it was revoked, and where it was found: never the code itself."""
    return {
        "reason": "leaked",
        "reported_by": REPORTER,
        "type": reported.type,
        "source": reported.source,
        "url": reported.url,
    }
