"""``/api/v2/oauth_clients``: admins register the apps that may use OAuth (spec §1.3 E12–E17).

Deskpro's shapes and statuses: the list is not paginated, POST answers 201, PUT 204 and
DELETE 200 with the removed client (decision 11.15). A client's secret is in the answers to its
creation and to ``rotate_secret`` only.
"""

from collections.abc import Sequence
from contextvars import ContextVar
from datetime import datetime
from typing import Annotated, Any, Self

from fastapi import APIRouter, Depends, Response
from pydantic import AfterValidator, BaseModel, Field, ValidationInfo

from tessera.core.client_keys import ClientAuthMethod, check_jwks, check_jwks_uri
from tessera.core.errors import FieldErrors
from tessera.core.oauth_clients import (
    AccessTokenFormat,
    ClientContext,
    GrantType,
    OAuthClient,
    authorization_endpoint,
    check_allowed_scopes,
    check_redirect_uris,
    token_endpoint,
)
from tessera.core.principals import Principal
from tessera.core.signing_keys import DEFAULT_ALGORITHM, SigningAlgorithm
from tessera.core.site import SiteInfo
from tessera.services.oauth_clients import (
    IssuedOAuthClient,
    NewOAuthClient,
    OAuthClientChanges,
    check_name,
)
from tessera.web.deps import Access, ResourceId, ServicesDep
from tessera.web.envelope import Envelope
from tessera.web.field_rules import checked, problems_error

router = APIRouter(prefix="/api/v2", tags=["oauth_clients"])

#: Deskpro's list has no pages; this bounds the answer all the same.
LIST_LIMIT = 1000


def _admin(operation: str) -> object:
    return Depends(Access(f"oauth_clients.oauth_clients.{operation}", admin=True))


#: The operator's switch for plain ``http`` redirect URIs to other hosts, for the request whose
#: body is being read. Pydantic runs the body's rules with no request at hand, and the switch is
#: the deployment's: ``_redirect_uri_policy`` sets it for the request, and FastAPI solves a
#: route's dependencies before it reads the body, in the request's own task.
_insecure_redirects_allowed: ContextVar[bool] = ContextVar(
    "insecure_redirects_allowed", default=False
)


async def _redirect_uri_policy(services: ServicesDep) -> None:
    _insecure_redirects_allowed.set(services.oauth_clients.allows_insecure_redirects)


def _checked_redirect_uris(uris: list[str] | None, info: ValidationInfo) -> list[str] | None:
    """The redirect URI rules; none at all only beside ``allowed_grant_type`` ``device_code``
    in the same body (a device takes no redirect). Checked while the body is read, so that an
    empty list is reported with every other invalid field; the service checks it again against
    the client's stored grant."""
    if uris is None:
        return uris
    grant = info.data.get("allowed_grant_type")
    problems = FieldErrors()
    check_redirect_uris(
        problems,
        uris,
        allow_insecure_http=_insecure_redirects_allowed.get(),
        required=grant is not GrantType.DEVICE_CODE,
    )
    if problems:
        raise problems_error(problems)
    return uris


def _check_post_logout_redirect_uris(problems: FieldErrors, uris: list[str]) -> None:
    check_redirect_uris(
        problems,
        uris,
        allow_insecure_http=_insecure_redirects_allowed.get(),
        field="post_logout_redirect_uris",
        required=False,
    )


#: The services' own rules, run while the body is read: every invalid field in one answer.
ClientName = Annotated[str, Field(max_length=200), checked(check_name)]
RedirectUris = Annotated[
    list[str],
    Field(examples=[["https://app.example.com/oauth/callback"]]),
    AfterValidator(_checked_redirect_uris),
]
#: Where the app may send people after asking Tessera to sign them out (OpenID Connect
#: RP-Initiated Logout): the rules of redirect URIs; may be empty.
PostLogoutRedirectUris = Annotated[
    list[str],
    Field(examples=[["https://app.example.com/signed-out"]]),
    checked(_check_post_logout_redirect_uris),
]

#: ADR 0042: ``session`` (all of the person's rights) and endpoint tag patterns.
AllowedScopes = Annotated[
    str,
    Field(max_length=1000, examples=["session", "tickets.* -*.delete"]),
    checked(check_allowed_scopes),
]


#: ADR 0052: an https address of the app's public keys (RFC 7517 JWK Set), or the set itself.
JwksUri = Annotated[
    str,
    Field(max_length=2000, examples=["https://app.example.com/.well-known/jwks.json"]),
    checked(check_jwks_uri),
]
Jwks = Annotated[
    dict[str, Any],
    Field(examples=[{"keys": [{"kty": "EC", "crv": "P-256", "x": "…", "y": "…", "kid": "1"}]}]),
    checked(check_jwks),
]


class NewOAuthClientIn(BaseModel):
    name: ClientName
    #: Decision 11.11: the implicit grant (``token``) only when asked for. Before
    #: ``redirect_uris``, whose rule reads it.
    allowed_grant_type: GrantType = GrantType.AUTHORIZATION_CODE
    redirect_uris: RedirectUris
    context: ClientContext = ClientContext.AGENT
    is_enabled: bool = True
    #: A public client (mobile, single-page app) gets no secret and must use PKCE.
    is_public: bool = False
    #: What signs its ID tokens (OpenID Connect Registration): RS256, or ES256 when it asks.
    id_token_signed_response_alg: SigningAlgorithm = DEFAULT_ALGORITHM
    post_logout_redirect_uris: PostLogoutRedirectUris = Field(default_factory=list)
    #: The API scopes the app may be granted; a request for more is narrowed to these.
    allowed_scopes: AllowedScopes = "session"
    #: None: ``none`` for a public client, a secret otherwise. ``private_key_jwt``: no secret;
    #: the app signs a JWT with its key (ADR 0052), whose public half is at ``jwks_uri`` or in
    #: ``jwks`` (exactly one).
    token_endpoint_auth_method: ClientAuthMethod | None = None
    jwks_uri: JwksUri | None = None
    jwks: Jwks | None = None
    #: ``opaque`` (Deskpro's ``ID:CODE``, the default) or ``jwt`` (RFC 9068 JWT access tokens).
    access_token_format: AccessTokenFormat = AccessTokenFormat.OPAQUE


class OAuthClientChangesIn(BaseModel):
    name: ClientName | None = None
    #: Before ``redirect_uris``, whose rule reads it.
    allowed_grant_type: GrantType | None = None
    redirect_uris: RedirectUris | None = None
    context: ClientContext | None = None
    is_enabled: bool | None = None
    #: Cannot change; accepted when it is the current value, as Deskpro clients send it back.
    is_public: bool | None = None
    id_token_signed_response_alg: SigningAlgorithm | None = None
    #: Replaces the whole list; ``[]`` removes them all.
    post_logout_redirect_uris: PostLogoutRedirectUris | None = None
    allowed_scopes: AllowedScopes | None = None
    #: To ``private_key_jwt`` (the secret is dropped) or back to ``client_secret_basic`` (the
    #: client then needs ``rotate_secret``); ``none`` only for public clients.
    token_endpoint_auth_method: ClientAuthMethod | None = None
    #: Either replaces the client's keys (the other is cleared).
    jwks_uri: JwksUri | None = None
    jwks: Jwks | None = None
    #: Counts from the next token issued; tokens already issued keep their form.
    access_token_format: AccessTokenFormat | None = None


class OAuthClientOut(BaseModel):
    """Deskpro's representation (spec §7.2), without the secret."""

    id: int
    #: ``<id>_<random_id>``: the OAuth ``client_id``; Deskpro calls it ``public_id``.
    public_id: str
    client_id: str
    name: str
    context: ClientContext
    random_id: str
    redirect_uris: list[str]
    post_logout_redirect_uris: list[str]
    allowed_grant_type: GrantType
    is_enabled: bool
    is_public: bool
    has_secret: bool
    #: What signs its OpenID Connect ID tokens: ``RS256`` (the default) or ``ES256``.
    id_token_signed_response_alg: SigningAlgorithm
    #: The API scopes it may be granted, as stored (``session``, tag patterns).
    allowed_scopes: str
    #: ``none`` (public), ``client_secret_basic`` (a secret, by HTTP Basic or the form) or
    #: ``private_key_jwt`` (a JWT signed with the key at ``jwks_uri`` or in ``jwks``).
    token_endpoint_auth_method: ClientAuthMethod
    jwks_uri: str | None
    #: The public keys, as kept.
    jwks: dict[str, Any] | None
    #: What its access tokens look like: ``opaque`` (``ID:CODE``) or ``jwt`` (RFC 9068).
    access_token_format: AccessTokenFormat
    auth_endpoint: str
    token_endpoint: str
    date_created: datetime

    @classmethod
    def of(cls, client: OAuthClient, site: SiteInfo) -> Self:
        return cls(
            id=client.id,
            public_id=client.client_id,
            client_id=client.client_id,
            name=client.name,
            context=client.context,
            random_id=client.random_id,
            redirect_uris=list(client.redirect_uris),
            post_logout_redirect_uris=list(client.post_logout_redirect_uris),
            allowed_grant_type=client.allowed_grant_type,
            is_enabled=client.is_enabled,
            is_public=client.is_public,
            has_secret=client.has_secret,
            id_token_signed_response_alg=client.id_token_signed_response_alg,
            allowed_scopes=client.allowed_scopes,
            token_endpoint_auth_method=client.token_endpoint_auth_method,
            jwks_uri=client.jwks_uri,
            jwks=None if client.jwks is None else dict(client.jwks),
            access_token_format=client.access_token_format,
            auth_endpoint=authorization_endpoint(site),
            token_endpoint=token_endpoint(site),
            date_created=client.created_at,
        )

    @classmethod
    def all(cls, clients: Sequence[OAuthClient], site: SiteInfo) -> list[Self]:
        return [cls.of(client, site) for client in clients]


class IssuedOAuthClientOut(OAuthClientOut):
    #: In this response only: it is stored nowhere and cannot be shown again. None when public.
    secret: str | None

    @classmethod
    def issued(cls, issued: IssuedOAuthClient, site: SiteInfo) -> Self:
        return cls(**OAuthClientOut.of(issued.client, site).model_dump(), secret=issued.secret)


class CountsOut(BaseModel):
    total: int


@router.get("/oauth_clients", summary="List OAuth clients (not paginated, as in Deskpro)")
def list_clients(
    principal: Annotated[Principal, _admin("list")], services: ServicesDep
) -> Envelope[list[OAuthClientOut]]:
    clients = services.oauth_clients.list_all(LIST_LIMIT)
    return Envelope(data=OAuthClientOut.all(clients, services.site))


# Before ``/oauth_clients/{oauth_client_id}``, which would otherwise take "counts" as an id.
@router.get("/oauth_clients/counts", summary="Count OAuth clients")
def count_clients(
    principal: Annotated[Principal, _admin("counts")], services: ServicesDep
) -> Envelope[CountsOut]:
    return Envelope(data=CountsOut(total=services.oauth_clients.count()))


class ConnectionsOut(BaseModel):
    oauth_client_id: int
    #: People with live tokens from this app.
    people: int


@router.get(
    "/oauth_clients/connections",
    summary="How many people have each app connected (apps nobody connected are left out)",
)
def count_connections(
    principal: Annotated[Principal, _admin("connections")], services: ServicesDep
) -> Envelope[list[ConnectionsOut]]:
    counts = services.oauth_clients.connected_people()
    return Envelope(
        data=[ConnectionsOut(oauth_client_id=i, people=n) for i, n in sorted(counts.items())]
    )


@router.get("/oauth_clients/{oauth_client_id}", summary="Get an OAuth client (never its secret)")
def get_client(
    oauth_client_id: ResourceId,
    principal: Annotated[Principal, _admin("get")],
    services: ServicesDep,
) -> Envelope[OAuthClientOut]:
    client = services.oauth_clients.get(oauth_client_id)
    return Envelope(data=OAuthClientOut.of(client, services.site))


@router.post(
    "/oauth_clients",
    status_code=201,
    summary="Register an OAuth client; its secret (confidential clients) is shown once",
    dependencies=[Depends(_redirect_uri_policy)],
)
def create_client(
    body: NewOAuthClientIn,
    principal: Annotated[Principal, _admin("post")],
    services: ServicesDep,
) -> Envelope[IssuedOAuthClientOut]:
    issued = services.oauth_clients.create(
        NewOAuthClient(**body.model_dump()), actor=principal.person.id
    )
    return Envelope(data=IssuedOAuthClientOut.issued(issued, services.site))


@router.put(
    "/oauth_clients/{oauth_client_id}",
    status_code=204,
    summary="Change an OAuth client",
    dependencies=[Depends(_redirect_uri_policy)],
)
def update_client(
    oauth_client_id: ResourceId,
    body: OAuthClientChangesIn,
    principal: Annotated[Principal, _admin("put")],
    services: ServicesDep,
) -> Response:
    services.oauth_clients.change(
        oauth_client_id, OAuthClientChanges(**body.model_dump()), actor=principal.person.id
    )
    return Response(status_code=204)


@router.post(
    "/oauth_clients/{oauth_client_id}/rotate_secret",
    summary="Give a confidential client a new secret (shown once); the old one stops working",
)
def rotate_secret(
    oauth_client_id: ResourceId,
    principal: Annotated[Principal, _admin("rotate_secret")],
    services: ServicesDep,
) -> Envelope[IssuedOAuthClientOut]:
    issued = services.oauth_clients.rotate_secret(oauth_client_id, actor=principal.person.id)
    return Envelope(data=IssuedOAuthClientOut.issued(issued, services.site))


@router.delete(
    "/oauth_clients/{oauth_client_id}",
    summary="Remove an OAuth client, with every grant and token issued through it",
)
def delete_client(
    oauth_client_id: ResourceId,
    principal: Annotated[Principal, _admin("delete")],
    services: ServicesDep,
) -> Envelope[OAuthClientOut]:
    client = services.oauth_clients.delete(oauth_client_id, actor=principal.person.id)
    return Envelope(data=OAuthClientOut.of(client, services.site))
