"""What a person sees of their own sign-ins: open sessions, recent attempts, device setups."""

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from tessera.core.audit import AuditKind
from tessera.core.records import ApiTokenInfo


@dataclass(frozen=True, slots=True)
class OpenSession:
    """A signed-in browser that has not ended: never its cookie, only what identifies it."""

    id: int
    created_at: datetime
    #: Its absolute end.
    expires_at: datetime
    #: Its last request, to within a few minutes (it is written at most that often).
    last_seen_at: datetime
    client_address: str | None
    user_agent: str | None
    #: The browser asking is this one.
    is_current: bool
    #: When it ends if no request comes: idle, or at ``expires_at``, whichever is first.
    ends_at: datetime | None = None


class SignInOutcome(StrEnum):
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    #: Refused before the password was checked: too many attempts (counted per window).
    THROTTLED = "throttled"


#: The audit kinds that are sign-in attempts naming the person, and what each one means.
SIGN_IN_KINDS = {
    AuditKind.LOGIN_SUCCEEDED.value: SignInOutcome.SUCCEEDED,
    # A magic link opened: a sign-in the person should see among theirs (ADR 0048).
    AuditKind.MAGIC_LINK_USED.value: SignInOutcome.SUCCEEDED,
    AuditKind.LOGIN_FAILED.value: SignInOutcome.FAILED,
    AuditKind.LOGIN_THROTTLED.value: SignInOutcome.THROTTLED,
}


@dataclass(frozen=True, slots=True)
class SignInAttempt:
    """One password check for the person (login page, token exchange, password change).

    Throttled attempts from one address are one entry per window: ``attempts`` of them, the
    first at ``occurred_at`` and the last at ``last_at``.
    """

    occurred_at: datetime
    outcome: SignInOutcome
    client_address: str | None
    attempts: int = 1
    last_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class DeviceSetup:
    """A new device-setup code with the secret: shown once (as a QR code), never stored."""

    id: int
    code: str
    expires_at: datetime


class DeviceSetupState(StrEnum):
    #: Shown and not yet scanned: the phone may still use it.
    WAITING = "waiting"
    #: A phone redeemed it: a token was issued.
    USED = "used"
    #: Ten minutes passed without use.
    EXPIRED = "expired"
    #: A newer code replaced it, or it is not this person's.
    GONE = "gone"


@dataclass(frozen=True, slots=True)
class DeviceSetupStatus:
    id: int
    state: DeviceSetupState
    expires_at: datetime | None


@dataclass(frozen=True, slots=True)
class OwnToken:
    """One of a person's live tokens, as their "My tokens" page lists it."""

    token: ApiTokenInfo
    #: The OAuth app it was issued to; None for exchange and device-setup tokens.
    app_name: str | None
    #: When it stops working if nothing else happens to it (None: never on its own).
    expires_at: datetime | None
