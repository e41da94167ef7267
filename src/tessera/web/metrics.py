"""``GET /metrics``: the Prometheus metrics, to the networks allowed or to a credential allowed.

Secure by default (ADR 0036): without a credential, only a client in ``metrics_networks``
(loopback unless configured) is answered. The client is the peer of the connection, or what a
*trusted* proxy says it is (``web.forwarded``); a request from any other peer that carries a
forwarding header came through a proxy Tessera was not told to trust, so its loopback address
says nothing and it needs a credential too. The credential is checked by the same ``authorize``
as every endpoint's: an admin's, a key tagged for ``METRICS_TAG`` (``metrics.*``) included.
Anyone else gets Deskpro's error envelope. Not in the OpenAPI document, not cached.
"""

from collections.abc import Callable
from dataclasses import dataclass

import anyio.to_thread
from fastapi import APIRouter, Request
from starlette.responses import Response
from starlette.types import Scope

from tessera.core.networks import Networks
from tessera.metrics.catalogue import exposition
from tessera.web.deps import authorize
from tessera.web.forwarded import is_from_trusted_proxy

METRICS_PATH = "/metrics"
#: The endpoint tag a key needs (with admin rights): ``tessera keys create --tags "metrics.*"``.
METRICS_TAG = "metrics.metrics.read"
LOOPBACK = "127.0.0.0/8, ::1"
#: Headers a proxy adds about the client it forwards.
_FORWARDING = frozenset({b"x-forwarded-for", b"forwarded", b"x-real-ip"})

router = APIRouter()


@dataclass(frozen=True, slots=True)
class MetricsExposure:
    """Who may read the metrics without a credential, and how to bring them up to date."""

    networks: Networks
    #: Brings the sampled metrics (caches, pools, the change feed) up to date before a scrape.
    sample: Callable[[], None] = lambda: None

    def open_to(self, scope: Scope) -> bool:
        client = scope.get("client")
        if not client or not self.networks.contains(str(client[0])):
            return False
        if is_from_trusted_proxy(scope):
            return True
        return not any(name in _FORWARDING for name, _ in scope["headers"])


@router.get(METRICS_PATH, include_in_schema=False)
async def metrics(request: Request) -> Response:
    exposure: MetricsExposure = request.app.state.metrics
    if not exposure.open_to(request.scope):
        await authorize(request, (METRICS_TAG,), admin=True, sessions=False)
    exposure.sample()
    # Reading every worker's files is file I/O: not on the event loop.
    body, media_type = await anyio.to_thread.run_sync(exposition)
    return Response(body, headers={"Content-Type": media_type, "Cache-Control": "no-store"})
