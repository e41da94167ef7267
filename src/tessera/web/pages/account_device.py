"""``/console/account/device``: connect the mobile app by scanning a QR code (shared/spec §8.1).

The code is a secret shown once: the POST that makes it redirects to the code's page
(``/console/account/device/{id}``, post-redirect-get through ``shown_once``), which shows it the
first time only (``no-store``); never in a URL, never logged. Every later look at that page,
a reload included, says whether the code was used, by the code's id: with JavaScript,
device.js polls ``…/status`` (JSON); without, the "Check again" link reloads the page.
"""

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import JSONResponse, Response

from tessera.core.account import DeviceSetup, DeviceSetupState, DeviceSetupStatus
from tessera.core.errors import Forbidden
from tessera.web.pages.account_kit import page_id, render_account
from tessera.web.pages.console import CheckedForm, ConsoleViewer, refusal
from tessera.web.pages.qr import qr_svg
from tessera.web.pages.rendering import PAGE_HEADERS
from tessera.web.pages.session import services_of
from tessera.web.pages.shown_once import show_next, take_shown

router = APIRouter(include_in_schema=False)

#: What the page says of a code, by state (device.js shows the same sentences).
STATE_SENTENCES = {
    DeviceSetupState.WAITING: "Waiting for your device: the code has not been used yet.",
    DeviceSetupState.USED: "Your device is connected: the code was used and cannot be used again.",
    DeviceSetupState.EXPIRED: "This code expired before it was used. Make a new code.",
    DeviceSetupState.GONE: "This code no longer works: a newer code replaced it.",
}


@router.get("/console/account/device")
async def device_page(request: Request, viewer: ConsoleViewer) -> Response:
    return render_account(request, "console/account/device.html", viewer, setup=None)


@router.post("/console/account/device")
async def new_device_code(request: Request, viewer: ConsoleViewer, form: CheckedForm) -> Response:
    services = services_of(request)
    try:
        setup = await run_in_threadpool(services.api_tokens.start_device_setup, viewer)
    except Forbidden:
        raise refusal(request, "Your account may not hold API tokens.") from None
    page = f"/console/account/device/{setup.id}"
    return await show_next(request, _subject(setup.id), {"code": setup.code}, page)


def _subject(setup_id: int) -> str:
    return f"device_setup/{setup_id}"


def _status(request: Request, viewer: ConsoleViewer, setup_id: str) -> DeviceSetupStatus:
    number = page_id(request, setup_id, STATE_SENTENCES[DeviceSetupState.GONE])
    return services_of(request).api_tokens.device_setup_status(viewer.id, number)


@router.get("/console/account/device/{setup_id}")
async def device_code_page(request: Request, setup_id: str, viewer: ConsoleViewer) -> Response:
    """The code as a QR code the first time (after the POST), its state every time after."""
    status = await run_in_threadpool(_status, request, viewer, setup_id)
    shown = await take_shown(request, _subject(status.id))
    if shown is not None and status.state is DeviceSetupState.WAITING and status.expires_at:
        setup_token = services_of(request).site.device_setup_token(shown["code"])
        return render_account(
            request,
            "console/account/device.html",
            viewer,
            setup=DeviceSetup(id=status.id, code=shown["code"], expires_at=status.expires_at),
            setup_token=setup_token,
            qr=qr_svg(setup_token, label="QR code to scan with the mobile app"),
            waiting=STATE_SENTENCES[DeviceSetupState.WAITING],
        )
    return render_account(
        request,
        "console/account/device_status.html",
        viewer,
        status=404 if status.state is DeviceSetupState.GONE else 200,
        code=status,
        sentence=STATE_SENTENCES[status.state],
    )


@router.get("/console/account/device/{setup_id}/status")
def device_code_status(request: Request, setup_id: str, viewer: ConsoleViewer) -> Response:
    status = _status(request, viewer, setup_id)
    return JSONResponse(
        {"status": status.state.value, "message": STATE_SENTENCES[status.state]},
        headers=PAGE_HEADERS,
    )
