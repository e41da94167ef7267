"""``/api/v2/helpdesk``: what apps learn about the helpdesk before they start.

``discover`` is open: apps recognise a helpdesk by it (shared/spec §6). ``agent-client/info``
needs a credential: the helpdesk's name and which apps its API serves (E20), as the operator
configured them — Tessera serves the credentials, not the tickets.
"""

from typing import Annotated, Any, Self

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from tessera.core.principals import Principal
from tessera.core.site import AGENT_CLIENT_APPS, SiteInfo
from tessera.web.deps import Access, ServicesDep
from tessera.web.envelope import Envelope

router = APIRouter(prefix="/api/v2", tags=["helpdesk"])


class DiscoverOut(BaseModel):
    """Deskpro's fields, in the order its 2023 builds send them (shared/spec §6)."""

    #: The same on every node and after restarts (configured, or derived from the secret key).
    helpdesk_uuid: str
    is_deskpro: bool = True
    is_cloud: bool = False
    helpdesk_url: str
    base_api_url: str
    build: str
    #: The version as one number (1.2.3 → 1002003).
    build_id: int
    build_name: str
    #: Where Deskpro apps find the helpdesk API's proxies (Tessera itself serves none).
    apps_oauth_proxy_url: str
    apps_http_proxy_url: str

    @classmethod
    def of(cls, site: SiteInfo) -> Self:
        return cls(
            helpdesk_uuid=site.helpdesk_uuid,
            helpdesk_url=site.helpdesk_url,
            base_api_url=site.base_api_url,
            build=site.version,
            build_id=site.build_id,
            build_name=f"Tessera {site.version}",
            apps_oauth_proxy_url=site.apps_oauth_proxy_url,
            apps_http_proxy_url=site.apps_http_proxy_url,
        )


@router.get("/helpdesk/discover", summary="Is this a helpdesk, and where is its API?")
async def discover(services: ServicesDep) -> Envelope[DiscoverOut]:
    return Envelope(data=DiscoverOut.of(services.site))


class AgentClientSettingsOut(BaseModel):
    helpdesk_name: str
    multi_lang: bool = False
    brands: list[dict[str, Any]] = Field(default_factory=list)
    features: list[str] = Field(default_factory=list)


class AccountInfoOut(BaseModel):
    """The caller's own preferences."""

    timezone: str
    language: int


class AppOut(BaseModel):
    enabled: bool


class AgentClientInfoOut(BaseModel):
    settings: AgentClientSettingsOut
    account_info: AccountInfoOut
    tickets: AppOut
    chat: AppOut
    crm: AppOut
    feedback: AppOut
    publish: AppOut
    tasks: AppOut


@router.get(
    "/helpdesk/agent-client/info",
    summary="The helpdesk's name and which apps its API serves (as the operator configured)",
)
async def agent_client_info(
    principal: Annotated[Principal, Depends(Access("helpdesk.agent_client.info"))],
    services: ServicesDep,
) -> Envelope[AgentClientInfoOut]:
    site = services.site
    apps = {name: AppOut(enabled=name in site.agent_client_apps) for name in AGENT_CLIENT_APPS}
    person = principal.person
    return Envelope(
        data=AgentClientInfoOut(
            settings=AgentClientSettingsOut(helpdesk_name=site.helpdesk_name),
            account_info=AccountInfoOut(timezone=person.timezone, language=person.language_id),
            **apps,
        )
    )
