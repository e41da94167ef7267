"""The device authorization grant's codes and states (RFC 8628), as values.

A device shows a short *user code* that a person types on another screen; it polls with a long
*device code* that nobody types. Only keyed digests of either are stored (ADR 0003).
"""

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from tessera.core.credentials import new_code

#: RFC 8628 §6.1: no vowels (no words), no look-alikes such as 0/O or 1/I.
USER_CODE_ALPHABET = "BCDFGHJKLMNPQRSTVWXZ"
USER_CODE_LENGTH = 8
#: About 190 bits, from the alphabet every other code uses.
DEVICE_CODE_LENGTH = 40
#: RFC 8628 §3.2's default, and what ``slow_down`` adds each time (§3.5).
POLL_INTERVAL = timedelta(seconds=5)


def new_user_code() -> str:
    """Eight random symbols, in their normal form (no dash)."""
    return "".join(secrets.choice(USER_CODE_ALPHABET) for _ in range(USER_CODE_LENGTH))


def new_device_code() -> str:
    return new_code(DEVICE_CODE_LENGTH)


def normal_user_code(typed: str) -> str | None:
    """What a person typed as the code's normal form; None when it cannot be a user code.

    Case, dashes and blanks do not matter (RFC 8628 §6.1): ``bcdf-ghjk`` is ``BCDFGHJK``.
    """
    cleaned = "".join(typed.split()).replace("-", "").upper()
    if len(cleaned) != USER_CODE_LENGTH or any(c not in USER_CODE_ALPHABET for c in cleaned):
        return None
    return cleaned


def shown_user_code(code: str) -> str:
    """``BCDFGHJK`` as people read it: ``BCDF-GHJK``."""
    half = len(code) // 2
    return f"{code[:half]}-{code[half:]}"


class DeviceState(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    DENIED = "denied"


@dataclass(frozen=True, slots=True)
class DeviceAuthorization:
    """One device's request to act for whoever approves it, and where it stands."""

    id: int
    #: The OAuth client's row id.
    client_id: int
    scope: str
    state: DeviceState
    created_at: datetime
    expires_at: datetime
    #: How long the device must wait between polls; grows by five seconds at each slow_down.
    interval_seconds: int
    last_polled_at: datetime | None
    #: Who approved or denied it.
    person_id: int | None
    decided_at: datetime | None
    #: The grant its tokens descend from, made when the person approved.
    grant_id: int | None
    #: When the device collected its tokens (the device code's one use).
    used_at: datetime | None
    #: The resources (RFC 8707) the device asked for; None: none named.
    resources: tuple[str, ...] | None = None

    def is_expired(self, now: datetime) -> bool:
        return self.expires_at <= now

    def polled_too_soon(self, now: datetime) -> bool:
        last = self.last_polled_at
        return last is not None and now - last < timedelta(seconds=self.interval_seconds)


class DeviceListing(StrEnum):
    """Where one of a person's devices stands, as their account page says it."""

    WAITING = "waiting"  # approved; the device has not collected its tokens yet
    CONNECTED = "connected"
    DENIED = "denied"
    EXPIRED = "expired"  # approved, never collected
    ENDED = "ended"  # connected once; its tokens were revoked since


@dataclass(frozen=True, slots=True)
class PersonsDevice:
    """A device a person approved or denied, for the list on their account pages."""

    id: int
    client_name: str
    client_id: str
    decided_at: datetime
    status: DeviceListing
