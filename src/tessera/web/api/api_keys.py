"""``/api/v2/api_keys``: admins manage API keys (Deskpro does this in its admin UI only)."""

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response
from pydantic import BaseModel, Field, ValidationInfo, field_validator

from tessera.core.principals import Principal
from tessera.services.api_keys import (
    ApiKeyChanges,
    NewApiKey,
    check_admin_api,
    check_bound_agent,
    check_note,
    check_tags,
)
from tessera.web.api.models import ApiKeyOut, IssuedApiKeyOut
from tessera.web.deps import MAX_ID, Access, PagingDep, ResourceId, ServicesDep
from tessera.web.envelope import Envelope, pagination_meta
from tessera.web.field_rules import checked, enforce

router = APIRouter(prefix="/api/v2", tags=["api_keys"])


def _admin(operation: str) -> object:
    return Depends(Access(f"api_keys.api_keys.{operation}", admin=True))


#: The service's own rules, run while the body is read: every invalid field in one answer.
Note = Annotated[str, Field(min_length=1, max_length=500), checked(check_note)]
Tags = Annotated[
    str, Field(max_length=2000, examples=["*", "tickets.*, -*.delete"]), checked(check_tags)
]


class NewApiKeyIn(BaseModel):
    note: Note
    # Before the fields whose rules depend on it: a validator sees the fields declared earlier.
    is_superuser: bool = False
    #: Bound agent of a normal key (required), or default agent of a superuser key.
    person_id: int | None = Field(None, ge=1, le=MAX_ID, validate_default=True)
    #: Superuser keys only: may call admin endpoints.
    admin_api: bool = Field(False, validate_default=True)
    tags: Tags = "*"

    @field_validator("person_id")
    @classmethod
    def _bound_unless_superuser(cls, person_id: int | None, info: ValidationInfo) -> int | None:
        if "is_superuser" in info.data:  # else is_superuser has its own problem to report
            superuser = info.data["is_superuser"]
            enforce(lambda problems: check_bound_agent(problems, person_id, is_superuser=superuser))
        return person_id

    @field_validator("admin_api")
    @classmethod
    def _admin_api_for_superusers(cls, admin_api: bool, info: ValidationInfo) -> bool:
        if "is_superuser" in info.data:
            superuser = info.data["is_superuser"]
            enforce(lambda problems: check_admin_api(problems, admin_api, is_superuser=superuser))
        return admin_api


class ApiKeyChangesIn(BaseModel):
    note: Note | None = None
    person_id: int | None = Field(None, ge=1, le=MAX_ID)
    #: Superuser keys: remove the default agent.
    clear_person: bool = False
    admin_api: bool | None = None
    tags: Tags | None = None


@router.get("/api_keys", summary="List API keys")
def list_keys(
    principal: Annotated[Principal, _admin("list")], services: ServicesDep, page: PagingDep
) -> Envelope[list[ApiKeyOut]]:
    listing = services.api_keys.list(page)
    return Envelope(data=[ApiKeyOut.of(k) for k in listing.items], meta=pagination_meta(listing))


class TagCheckOut(BaseModel):
    #: The patterns as a key would store them.
    tags: str
    tag: str
    allowed: bool


# Before ``/api_keys/{key_id}``, which would otherwise take "tag_check" as an id.
@router.get(
    "/api_keys/tag_check",
    summary="Would a key with these tag patterns be allowed to call this endpoint tag?",
)
def check_tag(
    principal: Annotated[Principal, _admin("tag_check")],
    services: ServicesDep,
    tags: Annotated[str, Query(max_length=2000, examples=["tickets.*, -*.delete"])],
    tag: Annotated[str, Query(max_length=200, examples=["tickets.tickets.delete"])],
) -> Envelope[TagCheckOut]:
    """Answers with the same rule the server applies to each request; changes nothing."""
    answer = services.api_keys.check_tag(tags, tag)
    return Envelope(data=TagCheckOut(tags=answer.tags, tag=answer.tag, allowed=answer.allowed))


@router.get("/api_keys/{key_id}", summary="Get an API key (never its secret)")
def get_key(
    key_id: ResourceId, principal: Annotated[Principal, _admin("get")], services: ServicesDep
) -> Envelope[ApiKeyOut]:
    return Envelope(data=ApiKeyOut.of(services.api_keys.get(key_id)))


@router.post("/api_keys", status_code=201, summary="Create an API key; its secret is shown once")
def create_key(
    body: NewApiKeyIn, principal: Annotated[Principal, _admin("post")], services: ServicesDep
) -> Envelope[IssuedApiKeyOut]:
    issued = services.api_keys.create(NewApiKey(**body.model_dump()), actor=principal.person.id)
    return Envelope(data=IssuedApiKeyOut.issued(issued))


@router.put("/api_keys/{key_id}", status_code=204, summary="Change an API key")
def update_key(
    key_id: ResourceId,
    body: ApiKeyChangesIn,
    principal: Annotated[Principal, _admin("put")],
    services: ServicesDep,
) -> Response:
    services.api_keys.change(key_id, ApiKeyChanges(**body.model_dump()), actor=principal.person.id)
    return Response(status_code=204)


@router.post(
    "/api_keys/{key_id}/regenerate",
    summary="Give an API key a new secret (shown once); the old one stops working at once",
)
def regenerate_key(
    key_id: ResourceId,
    principal: Annotated[Principal, _admin("regenerate")],
    services: ServicesDep,
) -> Envelope[IssuedApiKeyOut]:
    return Envelope(
        data=IssuedApiKeyOut.issued(services.api_keys.regenerate(key_id, actor=principal.person.id))
    )


@router.delete("/api_keys/{key_id}", summary="Revoke an API key")
def revoke_key(
    key_id: ResourceId, principal: Annotated[Principal, _admin("delete")], services: ServicesDep
) -> Envelope[ApiKeyOut]:
    return Envelope(data=ApiKeyOut.of(services.api_keys.revoke(key_id, actor=principal.person.id)))
