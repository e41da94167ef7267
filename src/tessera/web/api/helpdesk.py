"""``/api/v2/helpdesk/discover``: the open endpoint apps use to recognise a helpdesk (§6)."""

from typing import Self

from fastapi import APIRouter
from pydantic import BaseModel

from tessera.core.site import SiteInfo
from tessera.web.deps import ServicesDep
from tessera.web.envelope import Envelope

router = APIRouter(prefix="/api/v2", tags=["helpdesk"])


class DiscoverOut(BaseModel):
    is_deskpro: bool = True
    helpdesk_url: str
    base_api_url: str
    build: str
    build_name: str
    is_cloud: bool = False

    @classmethod
    def of(cls, site: SiteInfo) -> Self:
        return cls(
            helpdesk_url=site.helpdesk_url,
            base_api_url=site.base_api_url,
            build=site.version,
            build_name=f"Tessera {site.version}",
        )


@router.get("/helpdesk/discover", summary="Is this a helpdesk, and where is its API?")
async def discover(services: ServicesDep) -> Envelope[DiscoverOut]:
    return Envelope(data=DiscoverOut.of(services.site))
