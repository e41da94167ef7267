"""``/console/account/device``: connect the mobile app by scanning a QR code (shared/spec §8.1).

The code is a secret shown once: only in the answer to the POST that made it (``no-store``),
never in a URL, never logged. What the page can ask afterwards is whether the code it showed
was used, by the code's id: with JavaScript, device.js polls ``…/status`` (JSON); without, the
"Check again" link opens the same answer as a page.
"""

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import JSONResponse, Response

from tessera.core.account import DeviceSetupState, DeviceSetupStatus
from tessera.core.errors import Forbidden
from tessera.web.pages.account_kit import page_id, render_account
from tessera.web.pages.console import CheckedForm, ConsoleViewer, refusal
from tessera.web.pages.qr import qr_svg
from tessera.web.pages.rendering import PAGE_HEADERS
from tessera.web.pages.session import services_of

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
    setup_token = services.site.device_setup_token(setup.code)
    return render_account(
        request,
        "console/account/device.html",
        viewer,
        setup=setup,
        setup_token=setup_token,
        qr=qr_svg(setup_token, label="QR code to scan with the mobile app"),
        waiting=STATE_SENTENCES[DeviceSetupState.WAITING],
    )


def _status(request: Request, viewer: ConsoleViewer, setup_id: str) -> DeviceSetupStatus:
    number = page_id(request, setup_id, STATE_SENTENCES[DeviceSetupState.GONE])
    return services_of(request).api_tokens.device_setup_status(viewer.id, number)


@router.get("/console/account/device/{setup_id}")
def device_code_status_page(request: Request, setup_id: str, viewer: ConsoleViewer) -> Response:
    status = _status(request, viewer, setup_id)
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
