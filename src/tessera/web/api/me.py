"""``/api/v2/me``: who the caller is, their profile, their tokens, and device setup."""

import threading
import weakref
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Request, Response
from fastapi import Path as PathParam
from pydantic import BaseModel, Field
from pydantic_core import to_json
from starlette.types import Receive, Scope, Send

from tessera.core.client_info import parse_client_type
from tessera.core.errors import TesseraError
from tessera.core.oauth_grants import ConnectedApp
from tessera.core.people import Person
from tessera.core.principals import Principal
from tessera.services.people import PersonChanges
from tessera.web.api.models import ApiTokenOut, Emails, Name, PersonOut
from tessera.web.deps import Access, PagingDep, ResourceId, ServicesDep
from tessera.web.envelope import Envelope, pagination_meta
from tessera.web.errors import api_error_response

router = APIRouter(prefix="/api/v2", tags=["me"])


class MeOut(BaseModel):
    auth_method: str
    app_id: str | None
    person_id: int
    person: PersonOut
    api_version: int = 2
    client_type: str
    client_version: str


#: One ``Access`` for both ways to ``GET /api/v2/me``: documented and enforced tags agree.
ME_ACCESS = Access("me.me.get")


def me_body(principal: Principal, client_type_header: str | None) -> bytes:
    """The response body of ``GET /api/v2/me``: ``Envelope[MeOut]`` as FastAPI serialises it.

    Pieces through pydantic's own JSON encoder, the person's from a memo: the same bytes as
    the model (a test compares them) at a fraction of the cost of building three models.
    """
    client_type, client_version = parse_client_type(client_type_header)
    person = principal.person
    return b"".join(
        (
            b'{"data":{"auth_method":',
            to_json(principal.auth_method.value),
            b',"app_id":',
            to_json(principal.app_id),
            b',"person_id":',
            to_json(person.id),
            b',"person":',
            _person_json(person),
            b',"api_version":2,"client_type":',
            to_json(client_type),
            b',"client_version":',
            to_json(client_version),
            b'},"meta":{},"linked":{}}',
        )
    )


#: A person's JSON by snapshot: a cache hit hands out the same ``Person`` object every time.
#: Keyed by identity, checked with ``is`` (an id may be reused once its object is gone). The
#: snapshot is held weakly: an entry ends when the credential cache lets its snapshot go, so
#: the memo holds the people cached now, not the last 10,000 snapshots ever read (the soak
#: showed a full memo keeping about 10,000 dropped snapshots alive, issue #16). The size is
#: only a bound for a cache larger than it.
_PERSON_JSON: dict[int, tuple[weakref.ref[Person], bytes]] = {}
_PERSON_JSON_SIZE = 10_000
_PERSON_JSON_LOCK = threading.Lock()


def _person_json(person: Person) -> bytes:
    held = _PERSON_JSON.get(id(person))
    if held is not None and held[0]() is person:
        return held[1]
    encoded = to_json(PersonOut.fields_of(person))
    key = id(person)

    def forget(gone: weakref.ref[Person]) -> None:
        # May run in any thread, even inside the lock below (a collection): no lock here. A
        # newer entry under the same id is left alone; losing one by a race only costs its
        # JSON being made again.
        found = _PERSON_JSON.get(key)
        if found is not None and found[0] is gone:
            _PERSON_JSON.pop(key, None)

    with _PERSON_JSON_LOCK:
        if len(_PERSON_JSON) >= _PERSON_JSON_SIZE:
            _PERSON_JSON.pop(next(iter(_PERSON_JSON)), None)  # the oldest: a bound, not an LRU
        _PERSON_JSON[key] = (weakref.ref(person, forget), encoded)
    return encoded


@router.get("/me", summary="Who am I, and how did I authenticate?", response_model=Envelope[MeOut])
def read_me(
    principal: Annotated[Principal, Depends(ME_ACCESS)],
    client_type_header: Annotated[str | None, Header(alias="X-DeskPRO-API-ClientType")] = None,
) -> Response:
    """The effective person (for a superuser key: the agent it acts as) and the method used
    (shared/spec §5)."""
    return Response(me_body(principal, client_type_header), media_type="application/json")


_JSON = (b"content-type", b"application/json")
_CLIENT_TYPE = b"x-deskpro-api-clienttype"


async def serve_me(scope: Scope, receive: Receive, send: Send) -> None:
    """``read_me`` as a bare ASGI endpoint, served before FastAPI (ADR 0010, 0027).

    The most called endpoint skips FastAPI's per-request work (routing, dependency solving,
    telemetry hooks) but not the general check: ``ME_ACCESS`` is the same ``authorize`` as
    every endpoint's. Same bytes, same error envelope; the answer is written as ASGI messages
    (a ``Response`` object costs more than the body). Async, so that a cache hit never waits
    for a worker thread.
    """
    try:
        principal = await ME_ACCESS(Request(scope, receive))
    except TesseraError as error:
        await api_error_response(error, scope)(scope, receive, send)
        return
    client_type = None
    for name, value in scope["headers"]:
        if name == _CLIENT_TYPE:
            client_type = value.decode("latin-1")
            break
    body = me_body(principal, client_type)
    headers = [(b"content-length", str(len(body)).encode("latin-1")), _JSON]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})


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
    name: Name
    display_name: str | None = Field(None, max_length=200)
    language_id: int | None = Field(None, ge=1)
    timezone: str | None = Field(None, min_length=1, max_length=64)
    primary_email: str | None = None
    emails: Emails | None = None
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
