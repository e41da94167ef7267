"""People: the agents, admins and users that credentials act for."""

import re
from dataclasses import dataclass
from datetime import datetime

from tessera.core.ids import PersonId

# Deliberately loose: one "@", something on each side, no blanks. Deliverability is not ours
# to judge; uniqueness and a sane shape are.
_EMAIL = re.compile(r"[^@\s]{1,64}@[^@\s]{1,255}")


def normalize_email(email: str) -> str:
    return email.strip().lower()


def is_valid_email(email: str) -> bool:
    return len(email) <= 320 and _EMAIL.fullmatch(email) is not None


def split_name(name: str) -> tuple[str, str]:
    first, _, last = name.strip().partition(" ")
    return first, last.strip()


# weakref_slot: a memo of a snapshot's JSON may hold it weakly, so that it ends with the
# snapshot instead of keeping it alive (web.api.me).
@dataclass(frozen=True, slots=True, weakref_slot=True)
class Person:
    id: PersonId
    name: str
    first_name: str
    last_name: str
    display_name: str
    primary_email: str
    emails: tuple[str, ...]
    is_agent: bool
    is_admin: bool
    is_disabled: bool
    timezone: str
    language_id: int
    phone: str | None
    #: Name of the external identity provider the person signs in with; None for a password.
    identity_provider: str | None
    has_password: bool
    created_at: datetime
    #: When the person's record last changed (OpenID Connect's ``updated_at``), when known.
    updated_at: datetime | None = None

    @property
    def is_active_agent(self) -> bool:
        return self.is_agent and not self.is_disabled

    def public_fields(self) -> dict[str, object]:
        """What the API and the command line show of a person, in Deskpro's names and order.

        Times stay ``datetime``: each adapter writes them its own way.
        """
        return {
            "id": self.id,
            "name": self.name,
            "first_name": self.first_name,
            "last_name": self.last_name,
            "display_name": self.display_name,
            "primary_email": self.primary_email,
            "emails": list(self.emails),
            "is_agent": self.is_agent,
            "can_admin": self.is_admin,
            "is_disabled": self.is_disabled,
            "timezone": self.timezone,
            "language_id": self.language_id,
            "phone": self.phone,
            "identity_provider": self.identity_provider,
            "has_password": self.has_password,
            "date_created": self.created_at,
        }
