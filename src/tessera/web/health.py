"""``/healthz`` (alive) and ``/readyz`` (ready to serve) for orchestrators and load balancers.

No credential, no envelope (probes read the status code), ``no-store``; successful probes are
not written to the access log at the info level (``tessera.logs``). The readiness round runs in
a worker thread of its own (one at a time, ``CapacityLimiter(1)``), so that probes against a
hung database can neither take the threads requests need nor pile up: a probe that waits longer
than ``READY_WAIT_SECONDS`` answers 503 at once.
"""

from typing import Any

import anyio
import anyio.to_thread
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from tessera.services.container import Services
from tessera.services.health import Readiness

router = APIRouter(tags=["operations"])

HEALTH_PATHS = ("/healthz", "/readyz")
#: How long a probe waits for a readiness round (a kubelet's default probe timeout is 1 s;
#: the database's own connect and pool waits are longer, so the probe does not wait for them).
READY_WAIT_SECONDS = 2.0
_NO_STORE = {"Cache-Control": "no-store"}


@router.get("/healthz", summary="Alive: the process answers")
@router.head("/healthz", include_in_schema=False)
async def healthz() -> JSONResponse:
    return JSONResponse({"status": "alive"}, headers=_NO_STORE)


@router.get(
    "/readyz",
    summary="Ready: the database answers, its schema is current, Redis answers when configured",
    responses={503: {"description": "Not ready; the failing checks say why"}},
)
@router.head("/readyz", include_in_schema=False)
async def readyz(request: Request) -> JSONResponse:
    services: Services = request.app.state.services
    readiness: Readiness | None = None
    with anyio.move_on_after(READY_WAIT_SECONDS):
        readiness = await anyio.to_thread.run_sync(
            services.readiness.readiness, abandon_on_cancel=True, limiter=_limiter(request)
        )
    if readiness is None:
        body: dict[str, Any] = {
            "status": "not ready",
            "checks": {
                "readiness": {
                    "ok": False,
                    "detail": "the checks did not finish in time",
                    "required": True,
                }
            },
        }
        return JSONResponse(body, status_code=503, headers=_NO_STORE)
    body = {
        "status": "ready" if readiness.ready else "not ready",
        "checks": {
            c.name: {"ok": c.ok, "detail": c.detail, "required": c.required}
            for c in readiness.checks
        },
    }
    return JSONResponse(body, status_code=200 if readiness.ready else 503, headers=_NO_STORE)


def _limiter(request: Request) -> anyio.CapacityLimiter:
    """The app's one readiness thread (made on first use: a limiter needs a running loop)."""
    state = request.app.state
    limiter: anyio.CapacityLimiter | None = getattr(state, "readiness_limiter", None)
    if limiter is None:
        limiter = state.readiness_limiter = anyio.CapacityLimiter(1)
    return limiter
