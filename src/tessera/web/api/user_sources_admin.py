"""``/api/v2/user_sources``: admins connect the identity providers people sign in through.

The same operations as ``tessera user-sources`` and the console's *Sign-in methods* page, through
the same service (so the same rules and the same audit events, with the admin as actor), in
Deskpro's shapes: POST answers 201 with the source, PUT 204, DELETE 200 with the source as it
was removed. What every kind of source shares sits at the top level; what one protocol needs
sits in an object named by its kind (``oidc``, or ``saml``: the IdP's metadata, ADR 0049). The
client secret is write-only: answers say whether one is set (``has_client_secret``), never what
it is.
Switching a source off (``is_enabled: false``) or removing it ends its people's sessions and
tokens in the same transaction (ADR 0047).
"""

from datetime import datetime
from typing import Annotated, Self

from fastapi import APIRouter, Depends, Response
from pydantic import BaseModel, Field, ValidationInfo, field_validator

from tessera.core.errors import REQUIRED, FieldErrors, InvalidInput
from tessera.core.principals import Principal
from tessera.core.saml_metadata import MAX_METADATA_BYTES
from tessera.core.user_sources import (
    MAX_TITLE_LENGTH,
    OfferedTo,
    SourceKind,
    UserSource,
    claim_problem,
    issuer_problem,
    sp_metadata_url,
)
from tessera.services.user_source_settings import TOO_LONG, SourceSettings
from tessera.web.deps import Access, ResourceId, ServicesDep
from tessera.web.envelope import Envelope
from tessera.web.field_rules import checked, enforce, merge_into

router = APIRouter(prefix="/api/v2", tags=["user_sources"])

#: Text that a person typed: no control characters (a NUL would not even reach PostgreSQL).
_PLAIN = r"^[^\x00-\x1f\x7f]*$"
#: The protocol's own fields: the service reports them at the top level, the API under the kind.
_OIDC_FIELDS = ("issuer", "client_id", "client_secret")
_SAML_FIELDS = ("idp_metadata", "sp_entity_id")


def _admin(operation: str) -> object:
    return Depends(Access(f"user_sources.user_sources.{operation}", admin=True))


def _check_title(problems: FieldErrors, title: str) -> None:
    title = " ".join(title.split())
    if not title:
        problems.add(("title",), REQUIRED)
    elif len(title) > MAX_TITLE_LENGTH:
        problems.add(("title",), TOO_LONG)


def _check_issuer(problems: FieldErrors, issuer: str) -> None:
    issuer = issuer.strip().rstrip("/")
    problem = issuer_problem(issuer) if issuer else REQUIRED
    if problem is not None:
        problems.add(("oidc", "issuer"), problem)


def _check_client_id(problems: FieldErrors, client_id: str) -> None:
    if not client_id.strip():
        problems.add(("oidc", "client_id"), REQUIRED)


def _claim_rule(name: str, *, optional: bool = False) -> object:
    def rule(problems: FieldErrors, claim: str) -> None:
        claim = claim.strip()
        problem = None if optional and not claim else claim_problem(claim)
        if problem is not None:
            problems.add((name,), problem)

    return checked(rule)


Title = Annotated[
    str, Field(max_length=1000, pattern=_PLAIN, examples=["Staff login"]), checked(_check_title)
]
Issuer = Annotated[
    str,
    Field(max_length=2000, pattern=_PLAIN, examples=["https://login.example.com/realms/staff"]),
    checked(_check_issuer),
]
ClientId = Annotated[str, Field(max_length=500, pattern=_PLAIN), checked(_check_client_id)]
#: Write-only; ``""`` in a change removes it (a public client, PKCE only).
ClientSecret = Annotated[
    str, Field(max_length=2000, pattern=_PLAIN, json_schema_extra={"writeOnly": True})
]
EmailClaim = Annotated[str, Field(max_length=100, pattern=_PLAIN), _claim_rule("email_claim")]
NameClaim = Annotated[str, Field(max_length=100, pattern=_PLAIN), _claim_rule("name_claim")]
#: ``""`` (or null at creation) turns group mapping off.
GroupsClaim = Annotated[
    str, Field(max_length=100, pattern=_PLAIN), _claim_rule("groups_claim", optional=True)
]
Groups = Annotated[
    list[Annotated[str, Field(max_length=200, pattern=_PLAIN)]], Field(max_length=100)
]
DisplayOrder = Annotated[int, Field(ge=-1_000_000, le=1_000_000)]


class OidcSettingsIn(BaseModel):
    """An OpenID provider: its issuer (discovery is read from it) and the client there."""

    issuer: Issuer
    client_id: ClientId
    #: Kept sealed; absent or null: a public client (PKCE only).
    client_secret: ClientSecret | None = None


class OidcChangesIn(BaseModel):
    issuer: Issuer | None = None
    #: A new client_id keeps the current secret unless ``client_secret`` comes with it.
    client_id: ClientId | None = None
    client_secret: ClientSecret | None = None


#: The IdP's SAML metadata document (XML), checked when set (core.saml_metadata).
IdpMetadata = Annotated[str, Field(min_length=1, max_length=MAX_METADATA_BYTES)]
#: Our entity id at the IdP; by default the URL of our SP metadata.
SpEntityId = Annotated[str, Field(min_length=1, max_length=500, pattern=_PLAIN)]


class SamlSettingsIn(BaseModel):
    """A SAML 2.0 IdP: its metadata (entity id, sign-in URL, signing certificates)."""

    idp_metadata: IdpMetadata
    sp_entity_id: SpEntityId | None = None


class SamlChangesIn(BaseModel):
    #: New metadata (a certificate rollover).
    idp_metadata: IdpMetadata | None = None
    sp_entity_id: SpEntityId | None = None


class NewUserSourceIn(BaseModel):
    #: Before the kinds' objects, whose rule reads it.
    kind: SourceKind = SourceKind.OIDC
    title: Title
    #: Required when ``kind`` is ``oidc``.
    oidc: OidcSettingsIn | None = Field(None, validate_default=True)
    #: Required when ``kind`` is ``saml``.
    saml: SamlSettingsIn | None = Field(None, validate_default=True)
    email_claim: EmailClaim = "email"
    name_claim: NameClaim = "name"
    groups_claim: GroupsClaim | None = None
    agent_groups: Groups = Field(default_factory=list)
    admin_groups: Groups = Field(default_factory=list)
    create_unknown: bool = False
    link_by_email: bool = False
    offered_to: OfferedTo = OfferedTo.AGENTS
    is_enabled: bool = True
    display_order: DisplayOrder = 0

    @field_validator("oidc")
    @classmethod
    def _settings_of_its_kind(
        cls, oidc: OidcSettingsIn | None, info: ValidationInfo
    ) -> OidcSettingsIn | None:
        """The object of the source's kind is required (checked with every other field)."""
        if oidc is None and info.data.get("kind") is SourceKind.OIDC:
            enforce(lambda problems: problems.add(("oidc",), REQUIRED))
        return oidc

    @field_validator("saml")
    @classmethod
    def _saml_of_its_kind(
        cls, saml: SamlSettingsIn | None, info: ValidationInfo
    ) -> SamlSettingsIn | None:
        if saml is None and info.data.get("kind") is SourceKind.SAML:
            enforce(lambda problems: problems.add(("saml",), REQUIRED))
        return saml

    def settings(self) -> SourceSettings:
        oidc = self.oidc
        return SourceSettings(
            title=self.title,
            issuer=oidc.issuer if oidc else None,
            client_id=oidc.client_id if oidc else None,
            client_secret=(oidc.client_secret or None) if oidc else None,
            idp_metadata=self.saml.idp_metadata if self.saml else None,
            sp_entity_id=self.saml.sp_entity_id if self.saml else None,
            email_claim=self.email_claim,
            name_claim=self.name_claim,
            groups_claim=self.groups_claim or "",
            agent_groups=self.agent_groups,
            admin_groups=self.admin_groups,
            create_unknown=self.create_unknown,
            link_by_email=self.link_by_email,
            offered_to=self.offered_to,
            is_enabled=self.is_enabled,
            display_order=self.display_order,
        )


class UserSourceChangesIn(BaseModel):
    """The fields sent change; the others stay. ``kind`` cannot change."""

    title: Title | None = None
    oidc: OidcChangesIn | None = None
    saml: SamlChangesIn | None = None
    email_claim: EmailClaim | None = None
    name_claim: NameClaim | None = None
    groups_claim: GroupsClaim | None = None
    #: Each replaces the whole list.
    agent_groups: Groups | None = None
    admin_groups: Groups | None = None
    create_unknown: bool | None = None
    link_by_email: bool | None = None
    offered_to: OfferedTo | None = None
    #: false ends every session and token of the source's people at once.
    is_enabled: bool | None = None
    display_order: DisplayOrder | None = None

    def settings(self) -> SourceSettings:
        oidc = self.oidc or OidcChangesIn()
        saml = self.saml or SamlChangesIn()
        return SourceSettings(
            title=self.title,
            issuer=oidc.issuer,
            client_id=oidc.client_id,
            client_secret=oidc.client_secret,
            idp_metadata=saml.idp_metadata,
            sp_entity_id=saml.sp_entity_id,
            email_claim=self.email_claim,
            name_claim=self.name_claim,
            groups_claim=self.groups_claim,
            agent_groups=self.agent_groups,
            admin_groups=self.admin_groups,
            create_unknown=self.create_unknown,
            link_by_email=self.link_by_email,
            offered_to=self.offered_to,
            is_enabled=self.is_enabled,
            display_order=self.display_order,
        )


class OidcSettingsOut(BaseModel):
    issuer: str
    client_id: str
    #: Whether a client secret is kept (sealed); the secret itself is never answered.
    has_client_secret: bool


class SamlSettingsOut(BaseModel):
    #: The IdP's entity id, from its metadata.
    idp_entity_id: str
    #: Ours at the IdP (the audience of its assertions).
    sp_entity_id: str
    #: Our SP metadata, for the IdP's administrator.
    sp_metadata_url: str
    #: Where the IdP's metadata was fetched from (the command line's --idp-metadata-url).
    idp_metadata_url: str | None


class UserSourceOut(BaseModel):
    id: int
    kind: SourceKind
    title: str
    oidc: OidcSettingsOut | None
    saml: SamlSettingsOut | None
    #: Which claim holds the e-mail address, the name, the groups (null: no group mapping).
    email_claim: str
    name_claim: str
    groups_claim: str | None
    agent_groups: list[str]
    admin_groups: list[str]
    create_unknown: bool
    link_by_email: bool
    offered_to: OfferedTo
    is_enabled: bool
    display_order: int
    #: What to register at the provider: the console's callback, then E9's per hand-over
    #: (for SAML: the assertion consumer services, also listed in the SP metadata).
    redirect_uris: list[str]
    date_created: datetime
    date_updated: datetime

    @classmethod
    def of(cls, source: UserSource, public_url: str) -> Self:
        oidc = (
            OidcSettingsOut(
                issuer=source.issuer,
                client_id=source.client_id,
                has_client_secret=source.has_secret,
            )
            if source.kind is SourceKind.OIDC
            else None
        )
        saml = (
            SamlSettingsOut(
                idp_entity_id=source.issuer,
                sp_entity_id=source.sp_entity_id,
                sp_metadata_url=sp_metadata_url(public_url, source.id),
                idp_metadata_url=source.idp_metadata_url,
            )
            if source.kind is SourceKind.SAML
            else None
        )
        return cls(
            id=source.id,
            kind=source.kind,
            title=source.title,
            oidc=oidc,
            saml=saml,
            email_claim=source.email_claim,
            name_claim=source.name_claim,
            groups_claim=source.groups_claim,
            agent_groups=list(source.agent_groups),
            admin_groups=list(source.admin_groups),
            create_unknown=source.create_unknown,
            link_by_email=source.link_by_email,
            offered_to=source.offered_to,
            is_enabled=source.is_enabled,
            display_order=source.display_order,
            redirect_uris=redirect_uris(source, public_url),
            date_created=source.created_at,
            date_updated=source.updated_at,
        )


def redirect_uris(source: UserSource, public_url: str) -> list[str]:
    base = public_url.rstrip("/")
    api = f"{base}/api/v2/api_tokens/user_sources/{source.id}/callback"
    return [f"{base}/login/sources/{source.id}/callback"] + [
        f"{api}/{hand_over}" for hand_over in ("default", "ios", "deskpro_scheme")
    ]


def _under_kinds(error: InvalidInput) -> InvalidInput:
    """The service's problems with the protocol's fields, moved under the kind's object."""
    moved = FieldErrors(errors=list(error.problems.errors))
    for name, child in error.problems.fields.items():
        if name in _OIDC_FIELDS:
            merge_into(moved, child, ("oidc", name))
        elif name in _SAML_FIELDS:
            merge_into(moved, child, ("saml", name))
        else:
            merge_into(moved, child, (name,))
    return InvalidInput(moved)


@router.get("/user_sources", summary="List the identity providers people sign in through")
def list_sources(
    principal: Annotated[Principal, _admin("list")], services: ServicesDep
) -> Envelope[list[UserSourceOut]]:
    public_url = services.site.public_url
    return Envelope(data=[UserSourceOut.of(s, public_url) for s in services.user_sources.list()])


@router.get("/user_sources/{source_id}", summary="Get an identity provider (never its secret)")
def get_source(
    source_id: ResourceId, principal: Annotated[Principal, _admin("get")], services: ServicesDep
) -> Envelope[UserSourceOut]:
    source = services.user_sources.get(source_id)
    return Envelope(data=UserSourceOut.of(source, services.site.public_url))


@router.post("/user_sources", status_code=201, summary="Connect an identity provider")
def create_source(
    body: NewUserSourceIn, principal: Annotated[Principal, _admin("post")], services: ServicesDep
) -> Envelope[UserSourceOut]:
    try:
        source = services.user_sources.create(
            body.settings(), kind=body.kind, actor=principal.person.id
        )
    except InvalidInput as error:
        raise _under_kinds(error) from None
    return Envelope(data=UserSourceOut.of(source, services.site.public_url))


@router.put(
    "/user_sources/{source_id}",
    status_code=204,
    summary="Change an identity provider; is_enabled false ends its people's sessions and tokens",
)
def update_source(
    source_id: ResourceId,
    body: UserSourceChangesIn,
    principal: Annotated[Principal, _admin("put")],
    services: ServicesDep,
) -> Response:
    try:
        services.user_sources.update(source_id, body.settings(), actor=principal.person.id)
    except InvalidInput as error:
        raise _under_kinds(error) from None
    return Response(status_code=204)


@router.delete(
    "/user_sources/{source_id}",
    summary="Remove an identity provider; its people's sessions and tokens end at once",
)
def delete_source(
    source_id: ResourceId, principal: Annotated[Principal, _admin("delete")], services: ServicesDep
) -> Envelope[UserSourceOut]:
    source = services.user_sources.delete(source_id, actor=principal.person.id)
    return Envelope(data=UserSourceOut.of(source, services.site.public_url))
