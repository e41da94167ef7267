"""Response models shared by several resources: how people, keys and tokens look on the wire."""

from datetime import datetime
from typing import Annotated, Any, Self

from pydantic import BaseModel, Field

from tessera.core.people import Person, normalize_email
from tessera.core.principals import TokenLifetime
from tessera.core.records import HOLDER_KINDS, ApiKeyInfo, ApiTokenInfo
from tessera.services.api_keys import IssuedApiKey
from tessera.services.people import check_email, check_emails, check_name, check_password
from tessera.web.field_rules import checked

# A person's fields in request bodies, with the people service's own rules run while the body is
# read, so that every invalid field is reported at once.
Email = Annotated[
    str,
    Field(min_length=1, max_length=320),
    checked(lambda problems, email: check_email(problems, ("email",), normalize_email(email))),
]
Emails = Annotated[
    list[str],
    Field(min_length=1),
    checked(lambda problems, emails: check_emails(problems, emails, None)),
]
Name = Annotated[
    str,
    Field(min_length=1, max_length=200),
    checked(lambda problems, name: check_name(problems, ("name",), name)),
]
Password = Annotated[
    str,
    Field(max_length=1024),
    checked(lambda problems, password: check_password(problems, ("password",), password)),
]


class PersonOut(BaseModel):
    """Decision 11.16's person object, plus how the person signs in."""

    id: int
    name: str
    first_name: str
    last_name: str
    display_name: str
    primary_email: str
    emails: list[str]
    is_agent: bool
    can_admin: bool
    is_disabled: bool
    timezone: str
    language_id: int
    phone: str | None
    identity_provider: str | None
    has_password: bool
    date_created: datetime

    @classmethod
    def of(cls, person: Person) -> Self:
        return cls(**cls.fields_of(person))

    @staticmethod
    def fields_of(person: Person) -> dict[str, Any]:
        """The fields, in order, as plain values (``/me`` serialises them without a model)."""
        return person.public_fields()


class ApiKeyOut(BaseModel):
    id: int
    note: str
    #: The bound agent, or a superuser key's default agent.
    person_id: int | None
    is_superuser: bool
    admin_api: bool
    tags: str
    date_created: datetime
    date_regenerated: datetime | None
    date_revoked: datetime | None
    is_revoked: bool
    date_last_used: datetime | None
    last_used_address: str | None

    @classmethod
    def of(cls, key: ApiKeyInfo) -> Self:
        return cls(
            id=key.id,
            note=key.note,
            person_id=key.person_id,
            is_superuser=key.is_superuser,
            admin_api=key.admin_api,
            tags=key.tags,
            date_created=key.created_at,
            date_regenerated=key.regenerated_at,
            date_revoked=key.revoked_at,
            is_revoked=key.revoked_at is not None,
            date_last_used=key.last_used_at,
            last_used_address=key.last_used_address,
        )


class IssuedApiKeyOut(ApiKeyOut):
    #: ``ID:CODE``, in this response only: it is stored nowhere and cannot be shown again.
    key_string: str

    @classmethod
    def issued(cls, issued: IssuedApiKey) -> Self:
        return cls(**ApiKeyOut.of(issued.key).model_dump(), key_string=issued.key_string)


class TokenAppOut(BaseModel):
    """Who holds a token: the OAuth app, or how it was issued when no app holds it."""

    #: ``oauth_client``, ``device_setup``, ``password_exchange`` or ``session``.
    kind: str
    #: The app's name, or "Device setup" / "Password exchange" / "Signed-in browser".
    name: str
    #: The OAuth app's ``client_id`` and numeric id (None for the other kinds).
    client_id: str | None
    id: int | None

    @classmethod
    def of(cls, token: ApiTokenInfo) -> Self:
        app = token.app
        return cls(
            kind=HOLDER_KINDS[token.source],
            name=token.holder,
            client_id=app.client_id if app is not None else None,
            id=app.id if app is not None else None,
        )


class ApiTokenOut(BaseModel):
    id: int
    person_id: int
    scope: str
    source: str
    date_created: datetime
    date_expires: datetime | None
    date_revoked: datetime | None
    date_last_used: datetime | None
    last_used_address: str | None
    app: TokenAppOut

    @classmethod
    def of(cls, token: ApiTokenInfo, lifetime: TokenLifetime) -> Self:
        return cls(
            id=token.id,
            person_id=token.person_id,
            scope=token.scope,
            source=token.source.value,
            date_created=token.created_at,
            date_expires=lifetime.expiry(token.created_at, token.last_used_at, token.expires_at),
            date_revoked=token.revoked_at,
            date_last_used=token.last_used_at,
            last_used_address=token.last_used_address,
            app=TokenAppOut.of(token),
        )
