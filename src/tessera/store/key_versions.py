"""What each secret key version still serves (ADR 0035): live digests, and sealed values.

A key may be retired without --force only once no live digest depends on it: these counts say
when. The version is read from the digest itself (32 bytes: version 1; otherwise its first
byte). Sealed values (ID token signing keys, identity providers' client secrets) name their
version in a column; they never stop a retirement, which seals them anew under the active key.
"""

from collections import Counter
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.orm import QueryableAttribute, Session

from tessera.store.tables import (
    ApiKeyRow,
    ApiTokenRow,
    DeviceSetupCodeRow,
    InitialAccessTokenRow,
    MagicLinkRow,
    OAuthClientRow,
    OAuthCodeRow,
    OAuthRefreshTokenRow,
    SetupCodeRow,
    SigningKeyRow,
    UserSourceRow,
    WebSessionRow,
)

_DIGEST_SIZE = 32
#: The kinds of sealed values, as counts and messages name them.
SIGNING_KEYS = "id token signing keys"
SOURCE_SECRETS = "identity provider secrets"


def count_by_key_version(session: Session, *, now: datetime) -> dict[str, Counter[int]]:
    """Per kind of credential, live digests by key version (kinds with none are left out)."""
    kinds: list[tuple[str, QueryableAttribute[Any], ColumnElement[bool]]] = [
        ("api keys", ApiKeyRow.code_digest, ApiKeyRow.revoked_at.is_(None)),
        ("api tokens", ApiTokenRow.code_digest, _live(ApiTokenRow, now)),
        (
            "oauth refresh tokens",
            OAuthRefreshTokenRow.token_digest,
            _live(OAuthRefreshTokenRow, now),
        ),
        (
            "oauth client secrets",
            OAuthClientRow.secret_digest,
            OAuthClientRow.secret_digest.is_not(None),
        ),
        ("oauth codes", OAuthCodeRow.code_digest, _unused(OAuthCodeRow, now)),
        ("web sessions", WebSessionRow.token_digest, _live(WebSessionRow, now)),
        ("device setup codes", DeviceSetupCodeRow.code_digest, _unused(DeviceSetupCodeRow, now)),
        ("setup codes", SetupCodeRow.code_digest, _unused(SetupCodeRow, now)),
        ("sign-in links", MagicLinkRow.code_digest, _unused(MagicLinkRow, now)),
        (
            "initial access tokens",
            InitialAccessTokenRow.token_digest,
            and_(
                InitialAccessTokenRow.revoked_at.is_(None), InitialAccessTokenRow.expires_at > now
            ),
        ),
        (
            "registration access tokens",
            OAuthClientRow.registration_token_digest,
            OAuthClientRow.registration_token_digest.is_not(None),
        ),
    ]
    counts: dict[str, Counter[int]] = {}
    for kind, column, live in kinds:
        length, first = func.length(column), func.substr(column, 1, 1)
        rows = session.execute(
            select(length, first, func.count()).where(live).group_by(length, first)
        )
        found: Counter[int] = Counter()
        for size, first_byte, count in rows:
            found[1 if size == _DIGEST_SIZE else bytes(first_byte)[0]] += count
        if found:
            counts[kind] = found
    return counts


def _live(
    row: type[ApiTokenRow | OAuthRefreshTokenRow | WebSessionRow], now: datetime
) -> ColumnElement[bool]:
    return and_(row.revoked_at.is_(None), or_(row.expires_at.is_(None), row.expires_at > now))


def _unused(
    row: type[OAuthCodeRow | DeviceSetupCodeRow | SetupCodeRow | MagicLinkRow], now: datetime
) -> ColumnElement[bool]:
    return and_(row.used_at.is_(None), row.expires_at > now)


def count_sealed_by_key_version(session: Session) -> dict[str, Counter[int]]:
    """Per kind of sealed value, how many each secret key version sealed (none: left out).

    Every signing key counts, retired ones too: their private part is sealed like the others'
    (ADR 0039), and a retirement re-seals them all rather than leave any unreadable.
    """
    signing = Counter(
        {
            int(version): int(n)
            for version, n in session.execute(
                select(SigningKeyRow.secret_key_version, func.count()).group_by(
                    SigningKeyRow.secret_key_version
                )
            )
        }
    )
    secrets = Counter(
        {
            int(version or 0): int(n)
            for version, n in session.execute(
                select(UserSourceRow.secret_key_version, func.count())
                .where(
                    UserSourceRow.client_secret_sealed.is_not(None),
                    UserSourceRow.secret_key_version.is_not(None),
                )
                .group_by(UserSourceRow.secret_key_version)
            )
        }
    )
    counts = {SIGNING_KEYS: signing, SOURCE_SECRETS: secrets}
    return {kind: found for kind, found in counts.items() if found}
