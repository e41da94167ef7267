"""Deleting rows that no longer do anything, one bounded batch per call.

Each function deletes at most ``limit`` rows and returns how many it deleted, so that a caller
can keep every transaction short. Rows are picked with ``FOR UPDATE SKIP LOCKED`` on
PostgreSQL: several nodes pruning at once take different rows instead of waiting on each other
(SQLite has one writer at a time anyway and ignores the clause).
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, delete, exists, or_, select
from sqlalchemy.orm import Session

from tessera.store.id_lists import among_ids
from tessera.store.tables import (
    ApiKeyRow,
    ApiTokenRow,
    Base,
    CredentialChangeRow,
    DeviceSetupCodeRow,
    MagicLinkRow,
    OAuthClientAssertionRow,
    OAuthCodeRow,
    OAuthDeviceAuthorizationRow,
    OAuthGrantRow,
    OAuthRefreshTokenRow,
    SamlAssertionSeenRow,
    SetupCodeRow,
    ShownOnceRow,
    WebSessionRow,
)


@dataclass(frozen=True, slots=True)
class Cutoffs:
    """What counts as long gone, as absolute times."""

    #: Rows revoked, used up or expired before this are deleted (now minus the grace period).
    ended_before: datetime
    #: Tokens unused for this long are expired (None: idle tokens never expire).
    token_idle: timedelta | None
    #: Tokens older than this are expired (None: no absolute lifetime).
    token_max_age: timedelta | None
    #: Revoked API keys are kept until this (their history outlives tokens').
    key_revoked_before: datetime
    #: Change-feed rows older than this are deleted.
    change_before: datetime
    #: Secrets waiting to be shown that expired before this are deleted (no grace: nobody may
    #: see them any more, and a sealed secret is better gone).
    now: datetime


def _delete_batch(
    session: Session, row: type[Base], condition: ColumnElement[bool], limit: int
) -> int:
    id_column = row.__table__.c.id
    # Any ``limit`` ended rows will do, in no order: ordered by id, the database scans the
    # whole table in id order rather than use the index on the time (migration 0020).
    ids = list(
        session.scalars(
            select(id_column).where(condition).limit(limit).with_for_update(skip_locked=True)
        )
    )
    if not ids:
        return 0
    # One parameter for the ids: a list of each length would be a statement of its own.
    dialect = session.get_bind().dialect.name
    result = session.execute(delete(row).where(among_ids(id_column, ids, dialect)))
    return int(getattr(result, "rowcount", 0) or 0)


def prune_api_tokens(session: Session, cutoffs: Cutoffs, limit: int) -> int:
    """Tokens revoked or expired (fixed expiry, idle or absolute lifetime) before the cutoff.

    Each rule is asked apart, on its own index (migration 0021): SQLite plans one OR of their
    ranges as a scan of the whole table.
    """
    ended = cutoffs.ended_before
    rules: list[ColumnElement[bool]] = [
        ApiTokenRow.revoked_at < ended,
        ApiTokenRow.expires_at < ended,
    ]
    if cutoffs.token_idle is not None:
        # Idle: last used before the cutoff, or never used and made before it.
        idle_before = ended - cutoffs.token_idle
        rules.append(ApiTokenRow.last_used_at < idle_before)
        rules.append(ApiTokenRow.last_used_at.is_(None) & (ApiTokenRow.created_at < idle_before))
    if cutoffs.token_max_age is not None:
        rules.append(ApiTokenRow.created_at < ended - cutoffs.token_max_age)
    deleted = 0
    for rule in rules:
        deleted += _delete_batch(session, ApiTokenRow, rule, limit - deleted)
        if deleted >= limit:
            break
    return deleted


def prune_device_setup_codes(session: Session, cutoffs: Cutoffs, limit: int) -> int:
    condition = DeviceSetupCodeRow.expires_at < cutoffs.ended_before
    return _delete_batch(session, DeviceSetupCodeRow, condition, limit)


def prune_magic_links(session: Session, cutoffs: Cutoffs, limit: int) -> int:
    condition = MagicLinkRow.expires_at < cutoffs.ended_before
    return _delete_batch(session, MagicLinkRow, condition, limit)


def prune_oauth_client_assertions(session: Session, cutoffs: Cutoffs, limit: int) -> int:
    """A remembered ``jti`` whose assertion expired: it would be refused for its ``exp``."""
    condition = OAuthClientAssertionRow.expires_at < cutoffs.now
    return _delete_batch(session, OAuthClientAssertionRow, condition, limit)


def prune_oauth_codes(session: Session, cutoffs: Cutoffs, limit: int) -> int:
    # A used code is kept until it expires: a replay before then must find it (and revoke).
    return _delete_batch(
        session, OAuthCodeRow, OAuthCodeRow.expires_at < cutoffs.ended_before, limit
    )


def prune_oauth_refresh_tokens(session: Session, cutoffs: Cutoffs, limit: int) -> int:
    # Rotated (revoked) refresh tokens stay until they expire, so that reuse is detected for
    # their whole life; those of a revoked grant go with the grant.
    condition = OAuthRefreshTokenRow.expires_at < cutoffs.ended_before
    return _delete_batch(session, OAuthRefreshTokenRow, condition, limit)


def prune_oauth_grants(session: Session, cutoffs: Cutoffs, limit: int) -> int:
    """Grants revoked before the cutoff (with what is left under them), and dead ones.

    A dead grant is an old one with nothing left under it: every code and token expired and
    was pruned, so it can never issue anything again.
    """
    ended = cutoffs.ended_before
    grant = OAuthGrantRow.id
    empty = (
        ~exists().where(ApiTokenRow.grant_id == grant)
        & ~exists().where(OAuthRefreshTokenRow.grant_id == grant)
        & ~exists().where(OAuthCodeRow.grant_id == grant)
    )
    condition = or_(OAuthGrantRow.revoked_at < ended, (OAuthGrantRow.created_at < ended) & empty)
    return _delete_batch(session, OAuthGrantRow, condition, limit)


def prune_oauth_device_authorizations(session: Session, cutoffs: Cutoffs, limit: int) -> int:
    """Devices that expired before the cutoff without collecting tokens, or whose grant is gone.

    A device that collected its tokens stays while its grant does: the person's account lists it.
    """
    row = OAuthDeviceAuthorizationRow
    condition = (row.expires_at < cutoffs.ended_before) & (
        row.used_at.is_(None) | row.grant_id.is_(None)
    )
    return _delete_batch(session, row, condition, limit)


def prune_web_sessions(session: Session, cutoffs: Cutoffs, limit: int) -> int:
    ended = cutoffs.ended_before
    condition = or_(WebSessionRow.revoked_at < ended, WebSessionRow.expires_at < ended)
    return _delete_batch(session, WebSessionRow, condition, limit)


def prune_saml_assertions(session: Session, cutoffs: Cutoffs, limit: int) -> int:
    # Kept until it expires: before then, a replay must find it.
    condition = SamlAssertionSeenRow.expires_at < cutoffs.now
    return _delete_batch(session, SamlAssertionSeenRow, condition, limit)


def prune_shown_once(session: Session, cutoffs: Cutoffs, limit: int) -> int:
    return _delete_batch(session, ShownOnceRow, ShownOnceRow.expires_at < cutoffs.now, limit)


def prune_setup_codes(session: Session, cutoffs: Cutoffs, limit: int) -> int:
    ended = cutoffs.ended_before
    condition = or_(SetupCodeRow.used_at < ended, SetupCodeRow.expires_at < ended)
    return _delete_batch(session, SetupCodeRow, condition, limit)


def prune_api_keys(session: Session, cutoffs: Cutoffs, limit: int) -> int:
    condition = ApiKeyRow.revoked_at < cutoffs.key_revoked_before
    return _delete_batch(session, ApiKeyRow, condition, limit)


def prune_credential_changes(session: Session, cutoffs: Cutoffs, limit: int) -> int:
    condition = CredentialChangeRow.created_at < cutoffs.change_before
    return _delete_batch(session, CredentialChangeRow, condition, limit)
