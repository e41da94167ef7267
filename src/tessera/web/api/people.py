"""``/api/v2/people``: admins manage people (agents, admins, users)."""

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response
from pydantic import BaseModel, Field

from tessera.core.principals import Principal
from tessera.services.people import NewPerson, PersonChanges
from tessera.web.api.models import Email, Emails, Name, Password, PersonOut
from tessera.web.deps import Access, PagingDep, ResourceId, ServicesDep
from tessera.web.envelope import Envelope, pagination_meta

router = APIRouter(prefix="/api/v2", tags=["people"])


def _admin(operation: str) -> object:
    return Depends(Access(f"people.people.{operation}", admin=True))


class NewPersonIn(BaseModel):
    email: Email
    name: Name
    is_agent: bool = False
    #: Implies ``is_agent``.
    is_admin: bool = False
    #: Without one the person cannot use the password exchange.
    password: Password | None = None
    identity_provider: str | None = Field(None, min_length=1, max_length=100)
    display_name: str | None = Field(None, max_length=200)
    timezone: str = Field("UTC", min_length=1, max_length=64)
    language_id: int = Field(1, ge=1)
    phone: str | None = Field(None, max_length=64)


class PersonChangesIn(BaseModel):
    name: Name | None = None
    display_name: str | None = Field(None, max_length=200)
    emails: Emails | None = None
    primary_email: str | None = None
    is_agent: bool | None = None
    is_admin: bool | None = None
    is_disabled: bool | None = None
    #: A new password; ``remove_password`` takes it away.
    password: Password | None = None
    remove_password: bool = False
    identity_provider: str | None = Field(None, min_length=1, max_length=100)
    clear_identity_provider: bool = False
    timezone: str | None = Field(None, min_length=1, max_length=64)
    language_id: int | None = Field(None, ge=1)
    phone: str | None = Field(None, max_length=64)


@router.get("/people", summary="List people")
def list_people(
    principal: Annotated[Principal, _admin("list")],
    services: ServicesDep,
    page: PagingDep,
    search: Annotated[str | None, Query(max_length=200)] = None,
) -> Envelope[list[PersonOut]]:
    listing = services.people.list(page, search)
    return Envelope(data=[PersonOut.of(p) for p in listing.items], meta=pagination_meta(listing))


@router.get("/people/{person_id}", summary="Get a person")
def get_person(
    person_id: ResourceId, principal: Annotated[Principal, _admin("get")], services: ServicesDep
) -> Envelope[PersonOut]:
    return Envelope(data=PersonOut.of(services.people.get(person_id)))


@router.post("/people", status_code=201, summary="Add a person")
def create_person(
    body: NewPersonIn, principal: Annotated[Principal, _admin("post")], services: ServicesDep
) -> Envelope[PersonOut]:
    return Envelope(
        data=PersonOut.of(
            services.people.add(NewPerson(**body.model_dump()), actor=principal.person.id)
        )
    )


@router.put("/people/{person_id}", status_code=204, summary="Change a person")
def update_person(
    person_id: ResourceId,
    body: PersonChangesIn,
    principal: Annotated[Principal, _admin("put")],
    services: ServicesDep,
) -> Response:
    services.people.change(person_id, PersonChanges(**body.model_dump()), actor=principal.person.id)
    return Response(status_code=204)


@router.delete("/people/{person_id}", summary="Delete a person, their tokens and their keys")
def delete_person(
    person_id: ResourceId, principal: Annotated[Principal, _admin("delete")], services: ServicesDep
) -> Envelope[PersonOut]:
    return Envelope(data=PersonOut.of(services.people.delete(person_id, actor=principal.person.id)))
