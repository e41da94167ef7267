"""The audit trail's vocabulary: what happened to which credential or person, and by whom.

Events are kept apart from the rows they describe (no foreign keys), so the story of a person
or key survives its deletion. An event never carries a secret: no code, password, digest or
e-mail address, only ids and small facts such as a token's source.
"""

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from tessera.core.ids import PersonId


class AuditKind(StrEnum):
    PERSON_CREATED = "person.created"
    PERSON_CHANGED = "person.changed"
    PERSON_DISABLED = "person.disabled"
    PERSON_ENABLED = "person.enabled"
    PERSON_DELETED = "person.deleted"
    API_KEY_CREATED = "api_key.created"
    API_KEY_CHANGED = "api_key.changed"
    API_KEY_REGENERATED = "api_key.regenerated"
    API_KEY_REVOKED = "api_key.revoked"
    API_TOKEN_ISSUED = "api_token.issued"
    API_TOKEN_REVOKED = "api_token.revoked"
    #: An OAuth connection ended with all its tokens (its refresh token was reported leaked).
    OAUTH_GRANT_REVOKED = "oauth_grant.revoked"
    LOGIN_SUCCEEDED = "login.succeeded"
    LOGIN_FAILED = "login.failed"
    LOGIN_THROTTLED = "login.throttled"
    #: Magic links by e-mail (ADR 0048): a link mailed; opened and signed in; refused (a person
    #: who may not use links, or a code that is unknown, used or expired); not mailed at all.
    MAGIC_LINK_SENT = "magic_link.sent"
    MAGIC_LINK_USED = "magic_link.used"
    MAGIC_LINK_REFUSED = "magic_link.refused"
    MAGIC_LINK_MAIL_FAILED = "magic_link.mail_failed"
    #: A person changed their own password (an admin's reset is a ``person.changed``).
    PASSWORD_CHANGED = "person.password_changed"
    #: A person ended every one of their signed-in browsers at once.
    SIGNED_OUT_EVERYWHERE = "session.signed_out_everywhere"
    #: An app signed the person out of Tessera (OpenID Connect RP-Initiated Logout).
    SIGNED_OUT_BY_APP = "session.signed_out_by_app"
    #: A person answered a device's request on the ``/device`` page (RFC 8628).
    OAUTH_DEVICE_APPROVED = "oauth_device.approved"
    OAUTH_DEVICE_DENIED = "oauth_device.denied"
    #: A client ID metadata document was fetched for the first time: a new public client.
    #: An admin (or the operator at the command line) made, changed, gave a new secret to or
    #: deleted an OAuth client.
    OAUTH_CLIENT_CREATED = "oauth_client.created"
    OAUTH_CLIENT_CHANGED = "oauth_client.changed"
    OAUTH_CLIENT_SECRET_ROTATED = "oauth_client.secret_rotated"
    OAUTH_CLIENT_DELETED = "oauth_client.deleted"
    OAUTH_CLIENT_DOCUMENT_ADDED = "oauth_client.document_added"
    #: A refetched metadata document changed its name, redirect URIs or metadata.
    OAUTH_CLIENT_DOCUMENT_CHANGED = "oauth_client.document_changed"
    #: A client registered itself (RFC 7591), changed or deleted its registration (RFC 7592).
    OAUTH_CLIENT_REGISTERED = "oauth_client.registered"
    OAUTH_CLIENT_REGISTRATION_UPDATED = "oauth_client.registration_updated"
    OAUTH_CLIENT_REGISTRATION_DELETED = "oauth_client.registration_deleted"
    #: An admin made or revoked an initial access token for dynamic registration.
    INITIAL_ACCESS_TOKEN_CREATED = "oauth_initial_access_token.created"
    INITIAL_ACCESS_TOKEN_REVOKED = "oauth_initial_access_token.revoked"
    #: A registered client's registration access token was reported leaked and no longer works
    #: (the client keeps working; its registration can no longer be read or changed with it).
    REGISTRATION_TOKEN_REVOKED = "oauth_client.registration_token_revoked"
    #: A magic link was reported leaked before it was used: it can no longer sign anyone in.
    MAGIC_LINK_REVOKED = "magic_link.revoked"
    #: The registry of protected resources (RFC 8707 audiences) changed (ADR 0043).
    PROTECTED_RESOURCE_CREATED = "protected_resource.created"
    PROTECTED_RESOURCE_CHANGED = "protected_resource.changed"
    PROTECTED_RESOURCE_DELETED = "protected_resource.deleted"
    #: An operator connected, changed or removed an external identity provider (ADR 0047).
    USER_SOURCE_CREATED = "user_source.created"
    USER_SOURCE_CHANGED = "user_source.changed"
    USER_SOURCE_DELETED = "user_source.deleted"
    #: A person signed in through a user source (detail: the source and the subject).
    USER_SOURCE_SIGNED_IN = "login.user_source"
    #: A user source's answer named nobody Tessera may sign in (detail: source, reason).
    USER_SOURCE_REFUSED = "login.user_source_refused"


#: Refused (throttled) sign-ins are counted, not listed one by one: one event per account,
#: address and window of this length holds how many arrived (ADR 0020).
REPEAT_WINDOW = timedelta(minutes=15)


def window_key(kind: AuditKind, moment: datetime, subject: int | None, address: str | None) -> str:
    """What repeats of one event in one window share: the kind, the window, whom, from where.

    Windows are fixed slices of UTC time (not sliding), so every process computes the same key
    for the same attempt without asking anyone.
    """
    seconds = int(REPEAT_WINDOW.total_seconds())
    start = datetime.fromtimestamp(int(moment.timestamp()) // seconds * seconds, UTC)
    who = str(subject) if subject is not None else "-"
    return f"{kind.value}/{start:%Y%m%dT%H%M}/{who}/{(address or '-')[:64]}"


class CredentialKind(StrEnum):
    KEY = "key"
    TOKEN = "token"


#: Detail values are plain JSON scalars or lists of strings: small, and easy to check for secrets.
DetailValue = str | int | bool | None | list[str]


@dataclass(frozen=True, slots=True)
class AuditEvent:
    id: int
    occurred_at: datetime
    kind: str
    #: Who did it: None for the operator at the command line (or nobody known, e.g. a failed login).
    actor_person_id: PersonId | None
    #: Whom it concerns.
    subject_person_id: PersonId | None
    credential_kind: CredentialKind | None
    credential_id: int | None
    client_address: str | None
    detail: dict[str, DetailValue] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class AuditFilters:
    """Which events to list; None matches all. ``since`` is inclusive, ``until`` exclusive."""

    person_id: int | None = None
    kind: str | None = None
    since: datetime | None = None
    until: datetime | None = None
