"""What OpenID Connect says about a person, by scope (OpenID Connect Core §5.1, §5.4).

``sub`` is the person's id as a string: public subject type, the same for every client, and
never reused (ids are never reused). Tessera does not verify addresses itself (admins enter
them), so ``email_verified`` is false. ``locale`` is left out: Deskpro's ``language_id`` names
no language tag.
"""

from typing import Any

from tessera.core.oauth_scopes import scope_values
from tessera.core.people import Person

#: Every claim Tessera can give (the metadata's ``claims_supported``).
CLAIMS_SUPPORTED = (
    "sub",
    "iss",
    "aud",
    "exp",
    "iat",
    "auth_time",
    "nonce",
    "at_hash",
    "acr",
    "amr",
    "name",
    "given_name",
    "family_name",
    "preferred_username",
    "zoneinfo",
    "updated_at",
    "email",
    "email_verified",
)


def person_claims(person: Person, scope: str) -> dict[str, Any]:
    """The person's claims the scope allows (``sub`` always)."""
    values = set(scope_values(scope))
    claims: dict[str, Any] = {"sub": str(person.id)}
    if "profile" in values:
        profile: dict[str, Any] = {
            "name": person.name,
            "given_name": person.first_name,
            "family_name": person.last_name,
            "preferred_username": person.primary_email,
            "zoneinfo": person.timezone,
        }
        if person.updated_at is not None:
            profile["updated_at"] = int(person.updated_at.timestamp())
        claims |= {name: value for name, value in profile.items() if value not in ("", None)}
    if "email" in values:
        claims |= {"email": person.primary_email, "email_verified": False}
    return claims
