"""The schema as SQLAlchemy 2 typed tables. Rows never leave ``tessera.store``."""

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# Named constraints: Alembic's batch mode on SQLite needs names to alter them.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

#: 64-bit ids on PostgreSQL; SQLite's rowid alias must be exactly INTEGER.
Id = BigInteger().with_variant(Integer(), "sqlite")


class UtcDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite keeps no zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: every stored time is UTC and timezone-aware")
        return value.astimezone(UTC)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise TypeError(f"expected a datetime from the driver, got {type(value).__name__}")
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


#: SQLite reuses the largest deleted rowid without AUTOINCREMENT: a new key or token must never
#: take the id of a deleted one (logs, audit and pending last-use records name credentials by id).
NEVER_REUSE_IDS = {"sqlite_autoincrement": True}


class PersonRow(Base):
    __tablename__ = "people"
    __table_args__ = NEVER_REUSE_IDS

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    primary_email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    first_name: Mapped[str] = mapped_column(String(200))
    last_name: Mapped[str] = mapped_column(String(200))
    display_name: Mapped[str] = mapped_column(String(200))
    # Every address of the person, primary first. Kept beside person_emails (which enforces
    # uniqueness and serves log-in lookups) so that the per-request check reads one row.
    emails: Mapped[list[str]] = mapped_column(JSON)
    is_agent: Mapped[bool] = mapped_column(Boolean)
    is_admin: Mapped[bool] = mapped_column(Boolean)
    is_disabled: Mapped[bool] = mapped_column(Boolean)
    password_hash: Mapped[str | None] = mapped_column(String(200))
    identity_provider: Mapped[str | None] = mapped_column(String(100))
    timezone: Mapped[str] = mapped_column(String(64))
    language_id: Mapped[int] = mapped_column(Integer)
    phone: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class PersonEmailRow(Base):
    __tablename__ = "person_emails"
    __table_args__ = NEVER_REUSE_IDS

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    person_id: Mapped[int] = mapped_column(
        Id, ForeignKey("people.id", ondelete="CASCADE"), index=True
    )
    email: Mapped[str] = mapped_column(String(320), unique=True)


class ApiKeyRow(Base):
    __tablename__ = "api_keys"
    __table_args__ = NEVER_REUSE_IDS

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    code_digest: Mapped[bytes] = mapped_column(LargeBinary(32))
    # Normal key: its agent. Superuser key: its default agent, or none.
    person_id: Mapped[int | None] = mapped_column(
        Id, ForeignKey("people.id", ondelete="SET NULL"), index=True
    )
    note: Mapped[str] = mapped_column(String(500))
    is_superuser: Mapped[bool] = mapped_column(Boolean)
    admin_api: Mapped[bool] = mapped_column(Boolean)
    tags: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    regenerated_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime, index=True)
    last_used_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    last_used_address: Mapped[str | None] = mapped_column(String(64))


class ApiTokenRow(Base):
    __tablename__ = "api_tokens"
    __table_args__ = NEVER_REUSE_IDS

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    code_digest: Mapped[bytes] = mapped_column(LargeBinary(32))
    person_id: Mapped[int] = mapped_column(
        Id, ForeignKey("people.id", ondelete="CASCADE"), index=True
    )
    #: Deskpro's scope: "client" (exchange, device setup), or an OAuth token's granted scope
    #: ("session", "openid tickets.* -*.delete"): its tag limit (ADR 0042).
    scope: Mapped[str] = mapped_column(String(500))
    source: Mapped[str] = mapped_column(String(32))
    # The times are indexed for housekeeping's rules (migration 0021).
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime, index=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime, index=True)
    last_used_at: Mapped[datetime | None] = mapped_column(UtcDateTime, index=True)
    last_used_address: Mapped[str | None] = mapped_column(String(64))
    #: OAuth-issued tokens: the consent they descend from (None for exchange/device tokens).
    grant_id: Mapped[int | None] = mapped_column(
        Id, ForeignKey("oauth_grants.id", ondelete="CASCADE"), index=True
    )
    #: The resources (RFC 8707) the token is for; None: Tessera's own API (ADR 0043). Read by
    #: the per-request check with the row, so that no second read decides the audience.
    audience: Mapped[list[str] | None] = mapped_column(JSON)


class DeviceSetupCodeRow(Base):
    __tablename__ = "device_setup_codes"
    __table_args__ = NEVER_REUSE_IDS

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    # Looked up by keyed digest: the code itself is never stored.
    code_digest: Mapped[bytes] = mapped_column(LargeBinary(32), unique=True)
    person_id: Mapped[int] = mapped_column(
        Id, ForeignKey("people.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    # Kept after use (not deleted) so the page that showed the code can tell it was redeemed.
    used_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class MagicLinkRow(Base):
    """A sign-in link sent by e-mail (shared/spec §8.3, ADR 0048): used once, within minutes."""

    __tablename__ = "magic_links"
    __table_args__ = NEVER_REUSE_IDS

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    # Looked up by keyed digest (one byte of key version, then 32): never the code itself.
    code_digest: Mapped[bytes] = mapped_column(LargeBinary(33), unique=True)
    person_id: Mapped[int] = mapped_column(
        Id, ForeignKey("people.id", ondelete="CASCADE"), index=True
    )
    #: Where the browser goes once signed in: a path on this server, checked when stored.
    target: Mapped[str] = mapped_column(String(2000))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    used_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class OAuthClientRow(Base):
    """An app registered for OAuth (shared/spec §7.2). Its client_id is ``<id>_<random_id>``."""

    __tablename__ = "oauth_clients"
    __table_args__ = NEVER_REUSE_IDS

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    random_id: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    #: "agent" or "user": who may authorize the app.
    context: Mapped[str] = mapped_column(String(16))
    redirect_uris: Mapped[list[str]] = mapped_column(JSON)
    #: Where the app may send the person after signing them out (RP-Initiated Logout §3).
    post_logout_redirect_uris: Mapped[list[str]] = mapped_column(
        JSON, default=list, server_default="[]"
    )
    #: "authorization_code", "token" (implicit) for the clients that need it, or
    #: "device_code" (RFC 8628's device authorization grant).
    allowed_grant_type: Mapped[str] = mapped_column(String(32))
    is_enabled: Mapped[bool] = mapped_column(Boolean)
    #: A public client (mobile, single-page, extension) has no secret and must use PKCE.
    is_public: Mapped[bool] = mapped_column(Boolean)
    secret_digest: Mapped[bytes | None] = mapped_column(LargeBinary(32))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
    #: "RS256" or "ES256": what signs the client's ID tokens (OpenID Connect Registration).
    id_token_signed_response_alg: Mapped[str] = mapped_column(String(16), server_default="RS256")
    #: How the client came to be: "console" (an admin), "document" (a client ID metadata
    #: document fetched from ``document_url``) or "registered" (RFC 7591 dynamic registration).
    origin: Mapped[str] = mapped_column(String(16), server_default="console")
    #: A metadata-document client's ``client_id``: the https URL of its document.
    document_url: Mapped[str | None] = mapped_column(String(2000), unique=True, index=True)
    #: When the fetched document must be fetched again (its cache lifetime).
    document_expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    #: Client metadata beyond the columns (RFC 7591 §2: client_uri, logo_uri, grant_types, …).
    client_metadata: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    #: A dynamically registered client's registration access token (RFC 7592), as a keyed digest.
    registration_token_digest: Mapped[bytes | None] = mapped_column(LargeBinary(33))
    #: The API scopes it may be granted: "session" and tag patterns (ADR 0042).
    allowed_scopes: Mapped[str] = mapped_column(String(1000), server_default="session")
    #: "opaque" (Deskpro's ID:CODE) or "jwt" (RFC 9068): what its access tokens look like.
    access_token_format: Mapped[str] = mapped_column(String(16), server_default="opaque")
    #: "private_key_jwt" for a client that signs assertions with its key (ADR 0052); None: a
    #: secret (confidential) or nothing (public), as ``is_public`` says.
    token_endpoint_auth_method: Mapped[str | None] = mapped_column(String(32))
    #: Where a private_key_jwt client publishes its public keys (https), or the keys themselves.
    jwks_uri: Mapped[str | None] = mapped_column(String(2000))
    jwks: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class OAuthClientAssertionRow(Base):
    """A client assertion's ``jti``, kept until the assertion expires so that it is used once
    (RFC 7523 §3 item 7): every process sees the same rows."""

    __tablename__ = "oauth_client_assertions"
    __table_args__ = (UniqueConstraint("client_id", "jti_digest"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    client_id: Mapped[int] = mapped_column(Id, ForeignKey("oauth_clients.id", ondelete="CASCADE"))
    #: SHA-256 of the ``jti`` (any length in, a fixed-length column out).
    jti_digest: Mapped[bytes] = mapped_column(LargeBinary(32))
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)


class InitialAccessTokenRow(Base):
    """A token that lets its holder register one or more OAuth clients (RFC 7591 §3)."""

    __tablename__ = "oauth_initial_access_tokens"
    __table_args__ = NEVER_REUSE_IDS

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    token_digest: Mapped[bytes] = mapped_column(LargeBinary(33), unique=True)
    #: What it is for, in the admin's words.
    note: Mapped[str] = mapped_column(String(200))
    created_by: Mapped[int | None] = mapped_column(Id, ForeignKey("people.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)
    #: Spent by its first registration.
    single_use: Mapped[bool] = mapped_column(Boolean)
    used_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    #: How many clients it registered.
    uses: Mapped[int] = mapped_column(Integer, server_default="0")
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class OAuthGrantRow(Base):
    """One person's consent to one app: every code, access and refresh token descends from it.

    Revoking the grant (person disconnects the app, a refresh token or code is replayed)
    revokes the whole family at once.
    """

    __tablename__ = "oauth_grants"
    __table_args__ = NEVER_REUSE_IDS

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    client_id: Mapped[int] = mapped_column(
        Id, ForeignKey("oauth_clients.id", ondelete="CASCADE"), index=True
    )
    person_id: Mapped[int] = mapped_column(
        Id, ForeignKey("people.id", ondelete="CASCADE"), index=True
    )
    scope: Mapped[str] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime, index=True)
    #: When the person signed in before consenting (OpenID Connect ``auth_time``): every ID
    #: token of the grant, refreshed ones included, carries it. None for older grants.
    auth_time: Mapped[datetime | None] = mapped_column(UtcDateTime)
    #: The resources (RFC 8707) the person approved; None: none named (Tessera's own API).
    resources: Mapped[list[str] | None] = mapped_column(JSON)
    #: How the person had signed in (``SignInMethod``): the ``acr`` and ``amr`` of its tokens.
    #: None for grants from before it was kept.
    sign_in_method: Mapped[str | None] = mapped_column(String(32))


class OAuthCodeRow(Base):
    """An authorization code, kept after use so that a replay can be detected (RFC 9700 §4.2)."""

    __tablename__ = "oauth_codes"
    __table_args__ = NEVER_REUSE_IDS

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    code_digest: Mapped[bytes] = mapped_column(LargeBinary(32), unique=True)
    grant_id: Mapped[int] = mapped_column(
        Id, ForeignKey("oauth_grants.id", ondelete="CASCADE"), index=True
    )
    redirect_uri: Mapped[str] = mapped_column(Text)
    code_challenge: Mapped[str | None] = mapped_column(String(128))
    code_challenge_method: Mapped[str | None] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    used_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    #: OpenID Connect's ``nonce``, echoed in the ID token; looked up to refuse a replayed one.
    nonce: Mapped[str | None] = mapped_column(String(512), index=True)


class OAuthRefreshTokenRow(Base):
    """A refresh token; rotated on every use, the previous one kept to detect reuse."""

    __tablename__ = "oauth_refresh_tokens"
    __table_args__ = NEVER_REUSE_IDS

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    token_digest: Mapped[bytes] = mapped_column(LargeBinary(32), unique=True)
    grant_id: Mapped[int] = mapped_column(
        Id, ForeignKey("oauth_grants.id", ondelete="CASCADE"), index=True
    )
    access_token_id: Mapped[int | None] = mapped_column(
        Id, ForeignKey("api_tokens.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    #: When it was exchanged for its successor (rotation); None while it is the newest.
    rotated_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class SigningKeyRow(Base):
    """A key that signs (or signed) ID tokens; the private part sealed (ADR 0039).

    ``signing_algorithm`` is the key's algorithm while it signs and NULL once retired: unique,
    so two processes that start (or rotate) at once cannot both make an active key.
    """

    __tablename__ = "signing_keys"
    __table_args__ = NEVER_REUSE_IDS

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    kid: Mapped[str] = mapped_column(String(64), unique=True)
    algorithm: Mapped[str] = mapped_column(String(16))
    signing_algorithm: Mapped[str | None] = mapped_column(String(16), unique=True)
    public_jwk: Mapped[dict[str, Any]] = mapped_column(JSON)
    sealed: Mapped[bytes] = mapped_column(LargeBinary)
    secret_key_version: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    retired_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    published_until: Mapped[datetime | None] = mapped_column(UtcDateTime)


class WebSessionRow(Base):
    """A signed-in browser (login page), found by the keyed digest of its cookie."""

    __tablename__ = "web_sessions"
    __table_args__ = NEVER_REUSE_IDS

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    token_digest: Mapped[bytes] = mapped_column(LargeBinary(32), unique=True)
    person_id: Mapped[int] = mapped_column(
        Id, ForeignKey("people.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime, index=True)
    # What the person needs to recognise a browser in their list of open sessions.
    client_address: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(300))
    #: The last request seen, written at most once per few minutes (the idle timeout's clock);
    #: None until the first such write, when ``created_at`` stands for it.
    last_seen_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    #: How the person signed in (``SignInMethod``); None for sessions from before it was kept.
    sign_in_method: Mapped[str | None] = mapped_column(String(32))


class ShownOnceRow(Base):
    """A secret waiting for the one page that shows it after a POST (post, redirect, get).

    Sealed with a key derived from the browser's session cookie, which is never stored: the
    database alone cannot open it. Taken (deleted) by the first GET; short-lived.
    """

    __tablename__ = "shown_once"
    __table_args__ = (
        UniqueConstraint("session_id", "subject", name="uq_shown_once_session_id"),
        NEVER_REUSE_IDS,
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    session_id: Mapped[int] = mapped_column(Id, ForeignKey("web_sessions.id", ondelete="CASCADE"))
    #: What the secret belongs to, e.g. ``api_key/17``: the page that shows it asks by this.
    subject: Mapped[str] = mapped_column(String(64))
    salt: Mapped[bytes] = mapped_column(LargeBinary(16))
    sealed: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)


class AuditEventRow(Base):
    """One audit event. No foreign keys: events outlive the people and credentials they name."""

    __tablename__ = "audit_events"
    __table_args__ = NEVER_REUSE_IDS

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    occurred_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    kind: Mapped[str] = mapped_column(String(64), index=True)
    actor_person_id: Mapped[int | None] = mapped_column(Id)
    subject_person_id: Mapped[int | None] = mapped_column(Id, index=True)
    credential_kind: Mapped[str | None] = mapped_column(String(16))
    credential_id: Mapped[int | None] = mapped_column(Id)
    client_address: Mapped[str | None] = mapped_column(String(64))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON)
    #: Repeated events (refused sign-ins) share one row per window: this key, unique, is what
    #: they meet on; None for every other event.
    window_key: Mapped[str | None] = mapped_column(String(160), unique=True)
    #: How many times a repeated event happened in its window (1 for every other event).
    attempts: Mapped[int] = mapped_column(Integer, server_default="1")
    #: The latest of those times (None for single events: ``occurred_at`` says it).
    last_occurred_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class SetupCodeRow(Base):
    """The one-time link that lets the operator create the first admin on an empty server."""

    __tablename__ = "setup_codes"
    __table_args__ = NEVER_REUSE_IDS

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    code_digest: Mapped[bytes] = mapped_column(LargeBinary(32), unique=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class CredentialChangeRow(Base):
    """One change that makes cached credential checks stale (``tessera.core.changes``).

    Written in the transaction of the change itself and polled by every process, so that the
    caches of every worker and node hear of it; pruned after an hour. Never-reused ids are the
    feed's cursor.
    """

    __tablename__ = "credential_changes"
    __table_args__ = NEVER_REUSE_IDS

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    subject_id: Mapped[int] = mapped_column(Id)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)


class OAuthDeviceAuthorizationRow(Base):
    """A device waiting for a person to approve it (RFC 8628), and what they decided.

    Found by the keyed digest of its device code (the device polling) or of its user code (the
    person typing it); the user code's digest is cleared once the person decides, so a code
    is answered once. Kept after use, so a person's account lists their devices.
    """

    __tablename__ = "oauth_device_authorizations"
    __table_args__ = NEVER_REUSE_IDS

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    device_code_digest: Mapped[bytes] = mapped_column(LargeBinary(33), unique=True)
    user_code_digest: Mapped[bytes | None] = mapped_column(LargeBinary(33), unique=True)
    client_id: Mapped[int] = mapped_column(
        Id, ForeignKey("oauth_clients.id", ondelete="CASCADE"), index=True
    )
    scope: Mapped[str] = mapped_column(String(500))
    #: "pending", "approved" or "denied".
    state: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    #: Seconds between polls; grows at each slow_down, in the row so every process agrees.
    interval_seconds: Mapped[int] = mapped_column(Integer)
    last_polled_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    person_id: Mapped[int | None] = mapped_column(
        Id, ForeignKey("people.id", ondelete="CASCADE"), index=True
    )
    decided_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    grant_id: Mapped[int | None] = mapped_column(
        Id, ForeignKey("oauth_grants.id", ondelete="SET NULL")
    )
    #: The device code's one use: when the device collected its tokens.
    used_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    #: The resources (RFC 8707) the device asked for; None: none named.
    resources: Mapped[list[str] | None] = mapped_column(JSON)


class ProtectedResourceRow(Base):
    """A resource server registered for audience-bound tokens (RFC 8707, ADR 0043)."""

    __tablename__ = "protected_resources"
    __table_args__ = NEVER_REUSE_IDS

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    #: The resource's URI, compared as an exact string (RFC 8707 §2, RFC 9728 §3.3).
    uri: Mapped[str] = mapped_column(String(2000), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    #: The OAuth clients (row ids) that may ask for it; None: every client.
    client_ids: Mapped[list[int] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class UserSourceRow(Base):
    """An external identity provider people sign in through (spec §8.2, ADR 0047)."""

    __tablename__ = "user_sources"
    __table_args__ = NEVER_REUSE_IDS

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    #: ``oidc`` or ``saml``; a ``saml`` source adds its own columns, all nullable.
    kind: Mapped[str] = mapped_column(String(20))
    title: Mapped[str] = mapped_column(String(100))
    issuer: Mapped[str] = mapped_column(String(2000))
    client_id: Mapped[str] = mapped_column(String(500))
    #: The client secret sealed under ``secret_key_version`` (core.user_sources); None: public.
    client_secret_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)
    secret_key_version: Mapped[int | None] = mapped_column(Integer)
    email_claim: Mapped[str] = mapped_column(String(100))
    name_claim: Mapped[str] = mapped_column(String(100))
    groups_claim: Mapped[str | None] = mapped_column(String(100))
    agent_groups: Mapped[list[str]] = mapped_column(JSON)
    admin_groups: Mapped[list[str]] = mapped_column(JSON)
    create_unknown: Mapped[bool] = mapped_column(Boolean)
    link_by_email: Mapped[bool] = mapped_column(Boolean)
    offered_to: Mapped[str] = mapped_column(String(10))
    is_enabled: Mapped[bool] = mapped_column(Boolean)
    display_order: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
    #: SAML: the IdP's metadata document, and the URL it was fetched from (if it was).
    idp_metadata: Mapped[str | None] = mapped_column(Text)
    idp_metadata_url: Mapped[str | None] = mapped_column(String(2000))


class SamlAssertionSeenRow(Base):
    """A SAML assertion already used to sign in, kept until it expires: a replay finds it here
    whichever process it reaches (ADR 0049)."""

    __tablename__ = "saml_assertions_seen"
    __table_args__ = (UniqueConstraint("source_id", "assertion_id"), NEVER_REUSE_IDS)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    source_id: Mapped[int] = mapped_column(Id, ForeignKey("user_sources.id", ondelete="CASCADE"))
    assertion_id: Mapped[str] = mapped_column(String(255))
    #: The assertion's own end of validity (plus the clock skew allowed): pruned after.
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)


class UserSourceLinkRow(Base):
    """Who a provider's subject is here: (source, subject) → person."""

    __tablename__ = "user_source_links"
    __table_args__ = (UniqueConstraint("source_id", "subject"), NEVER_REUSE_IDS)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    source_id: Mapped[int] = mapped_column(
        Id, ForeignKey("user_sources.id", ondelete="CASCADE"), index=True
    )
    subject: Mapped[str] = mapped_column(String(255))
    person_id: Mapped[int] = mapped_column(
        Id, ForeignKey("people.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    last_sign_in_at: Mapped[datetime] = mapped_column(UtcDateTime)
