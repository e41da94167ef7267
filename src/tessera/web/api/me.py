"""``/api/v2/me``: who the caller is, their profile, their tokens, and device setup."""

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Response
from fastapi import Path as PathParam
from pydantic import BaseModel, Field

from tessera.core.client_info import parse_client_type
from tessera.core.oauth_grants import ConnectedApp
from tessera.core.principals import Principal
from tessera.services.people import PersonChanges
from tessera.web.api.models import ApiTokenOut, PersonOut
from tessera.web.deps import Access, PagingDep, ResourceId, ServicesDep
from tessera.web.envelope import Envelope, pagination_meta

router = APIRouter(prefix="/api/v2", tags=["me"])


class MeOut(BaseModel):
    auth_method: str
    app_id: str | None
    person_id: int
    person: PersonOut
    api_version: int = 2
    client_type: str
    client_version: str


@router.get("/me", summary="Who am I, and how did I authenticate?")
def read_me(
    principal: Annotated[Principal, Depends(Access("me.me.get"))],
    client_type_header: Annotated[str | None, Header(alias="X-DeskPRO-API-ClientType")] = None,
) -> Envelope[MeOut]:
    """The effective person (for a superuser key: the agent it acts as) and the method used
    (shared/spec §5)."""
    client_type, client_version = parse_client_type(client_type_header)
    return Envelope(
        data=MeOut(
            auth_method=principal.auth_method.value,
            app_id=principal.app_id,
            person_id=principal.person.id,
            person=PersonOut.of(principal.person),
            client_type=client_type,
            client_version=client_version,
        )
    )


class ProfileOut(BaseModel):
    name: str
    display_name: str
    primary_email: str
    emails: list[str]
    phone: str | None
    language_id: int
    timezone: str
    avatar: str | None = None


class ProfileIn(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    display_name: str | None = Field(None, max_length=200)
    language_id: int | None = Field(None, ge=1)
    timezone: str | None = Field(None, min_length=1, max_length=64)
    primary_email: str | None = None
    emails: list[str] | None = Field(None, min_length=1)
    phone: str | None = Field(None, max_length=64)


@router.get("/me/profile", summary="My profile")
def read_profile(
    principal: Annotated[Principal, Depends(Access("me.profile.get"))], services: ServicesDep
) -> Envelope[ProfileOut]:
    person = services.people.get(principal.person.id)
    return Envelope(
        data=ProfileOut(
            name=person.name,
            display_name=person.display_name,
            primary_email=person.primary_email,
            emails=list(person.emails),
            phone=person.phone,
            language_id=person.language_id,
            timezone=person.timezone,
        )
    )


@router.put("/me/profile", status_code=204, summary="Change my profile")
def update_profile(
    body: ProfileIn,
    principal: Annotated[Principal, Depends(Access("me.profile.put"))],
    services: ServicesDep,
) -> Response:
    services.people.change(
        principal.person.id,
        PersonChanges(
            name=body.name,
            display_name=body.display_name,
            language_id=body.language_id,
            timezone=body.timezone,
            primary_email=body.primary_email,
            emails=body.emails,
            phone=body.phone,
        ),
        actor=principal.person.id,
    )
    return Response(status_code=204)


class SetupTokenOut(BaseModel):
    #: ``dp_device_setup:<URL>``, to show as a QR code; the URL works once, for ten minutes.
    setup_token: str
    #: Tessera's own additions: which code this is (to ask whether it was used) and its end.
    id: int
    expires_at: datetime


@router.get("/me/device-setup-token", summary="A one-time code to connect a mobile device")
def device_setup_token(
    principal: Annotated[Principal, Depends(Access("me.device_setup_token.get"))],
    services: ServicesDep,
) -> Envelope[SetupTokenOut]:
    setup = services.api_tokens.start_device_setup(principal.person)
    return Envelope(
        data=SetupTokenOut(
            setup_token=services.site.device_setup_token(setup.code),
            id=setup.id,
            expires_at=setup.expires_at,
        )
    )


class OwnTokenOut(ApiTokenOut):
    #: This is the token that authenticated the request listing it.
    is_current: bool


@router.get("/me/api_tokens", summary="My live API tokens")
def list_my_tokens(
    principal: Annotated[Principal, Depends(Access("me.api_tokens.list"))],
    services: ServicesDep,
    page: PagingDep,
) -> Envelope[list[OwnTokenOut]]:
    listing = services.api_tokens.list(page, person_id=principal.person.id)
    lifetime = services.api_tokens.policy.lifetime
    tokens = [
        OwnTokenOut(
            **ApiTokenOut.of(token, lifetime).model_dump(),
            is_current=token.id == principal.api_token_id,
        )
        for token in listing.items
    ]
    return Envelope(data=tokens, meta=pagination_meta(listing))


@router.delete("/me/api_tokens/{token_id}", summary="Revoke one of my tokens")
def revoke_my_token(
    token_id: ResourceId,
    principal: Annotated[Principal, Depends(Access("me.api_tokens.delete"))],
    services: ServicesDep,
) -> Envelope[ApiTokenOut]:
    token = services.api_tokens.revoke(token_id, owner=principal.person.id)
    return Envelope(data=ApiTokenOut.of(token, services.api_tokens.policy.lifetime))


class ConnectedAppOut(BaseModel):
    client_id: str
    name: str
    date_connected: datetime

    @classmethod
    def of(cls, app: ConnectedApp) -> "ConnectedAppOut":
        return cls(client_id=app.client_id, name=app.name, date_connected=app.connected_at)


@router.get("/me/connected_apps", summary="The OAuth apps I connected")
def list_connected_apps(
    principal: Annotated[Principal, Depends(Access("me.connected_apps.list"))],
    services: ServicesDep,
) -> Envelope[list[ConnectedAppOut]]:
    apps = services.connected_apps.list_for(principal.person.id)
    return Envelope(data=[ConnectedAppOut.of(app) for app in apps])


@router.delete(
    "/me/connected_apps/{client_id}", summary="Disconnect an app: every token it holds for me ends"
)
def disconnect_app(
    client_id: Annotated[str, PathParam(max_length=100)],
    principal: Annotated[Principal, Depends(Access("me.connected_apps.delete"))],
    services: ServicesDep,
) -> Envelope[ConnectedAppOut]:
    app = services.connected_apps.disconnect(principal.person.id, client_id)
    return Envelope(
        data=ConnectedAppOut(
            client_id=app.client_id, name=app.name, date_connected=app.connected_at
        )
    )
