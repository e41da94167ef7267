"""``/console/account``: an agent's own account — tokens, apps, password, sign-ins.

Every action is one call of the service the API's ``/me`` endpoints use.
"""

from typing import Annotated

from fastapi import APIRouter, Query, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import RedirectResponse, Response

from tessera.core.errors import InvalidInput, NotFound, RateLimited
from tessera.core.paging import PageRequest
from tessera.core.people import Person
from tessera.web.deps import client_address
from tessera.web.pages.account_kit import page_id, render_account
from tessera.web.pages.console import CheckedForm, ConsoleViewer, back_to, refusal
from tessera.web.pages.rendering import PAGE_HEADERS
from tessera.web.pages.session import forget_session_cookie, services_of, session_cookie

router = APIRouter(include_in_schema=False)

TOKENS_PER_PAGE = 25
#: How a token came to be, as the "My tokens" page says it.
TOKEN_SOURCES = {
    "exchange": "Password exchange",
    "device_setup": "Device setup (QR code)",
    "oauth": "OAuth app",
    "session": "Signed-in browser",
    "user_source": "Identity provider",
}


@router.get("/console/account")
async def overview(request: Request, viewer: ConsoleViewer) -> Response:
    return render_account(request, "console/account/overview.html", viewer)


# -- tokens ---------------------------------------------------------------------------------


@router.get("/console/account/tokens")
def my_tokens(
    request: Request,
    viewer: ConsoleViewer,
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
) -> Response:
    listing = services_of(request).account.tokens(viewer.id, PageRequest(page, TOKENS_PER_PAGE))
    return render_account(
        request,
        "console/account/tokens.html",
        viewer,
        listing=listing,
        sources=TOKEN_SOURCES,
        notices={"revoked": "The token is revoked: it no longer works anywhere."},
    )


@router.post("/console/account/tokens/{token_id}/revoke")
def revoke_token(
    request: Request, token_id: str, viewer: ConsoleViewer, form: CheckedForm
) -> Response:
    number = page_id(request, token_id, "You have no such token.")
    try:
        services_of(request).api_tokens.revoke(number, owner=viewer.id)
    except NotFound:
        raise refusal(request, "You have no such token.", status=404) from None
    return back_to("/console/account/tokens", done="revoked")


# -- connected apps -------------------------------------------------------------------------


#: How the list of devices says where each stands (``core.device_codes.DeviceListing``).
DEVICE_STATUSES = {
    "waiting": "Approved; waiting for the device to collect its token",
    "connected": "Connected",
    "denied": "Denied",
    "expired": "Approved, never collected (expired)",
    "ended": "Disconnected",
}


@router.get("/console/account/apps")
def connected_apps(request: Request, viewer: ConsoleViewer) -> Response:
    services = services_of(request)
    return render_account(
        request,
        "console/account/apps.html",
        viewer,
        apps=services.connected_apps.list_for(viewer.id),
        devices=services.device_authorizations.devices_of(viewer.id),
        device_statuses=DEVICE_STATUSES,
        notices={
            "disconnected": "The app is disconnected: every token it held for you ended.",
            "device_disconnected": "The device is disconnected: its tokens ended.",
        },
    )


@router.post("/console/account/apps/{client_id}/disconnect")
def disconnect_app(
    request: Request, client_id: str, viewer: ConsoleViewer, form: CheckedForm
) -> Response:
    try:
        services_of(request).connected_apps.disconnect(viewer.id, client_id)
    except NotFound:
        raise refusal(request, "You have not connected such an app.", status=404) from None
    return back_to("/console/account/apps", done="disconnected")


@router.post("/console/account/devices/{device_id}/disconnect")
def disconnect_device(
    request: Request, device_id: str, viewer: ConsoleViewer, form: CheckedForm
) -> Response:
    number = page_id(request, device_id, "You approved no such device.")
    try:
        services_of(request).device_authorizations.disconnect(viewer.id, number)
    except NotFound:
        raise refusal(request, "You approved no such device.", status=404) from None
    return back_to("/console/account/apps", done="device_disconnected")


# -- password -------------------------------------------------------------------------------

PASSWORD_NOTICES = {
    "changed": "Your password is changed. Every other browser you were signed in on is signed out."
}


@router.get("/console/account/password")
async def password_form(request: Request, viewer: ConsoleViewer) -> Response:
    return render_account(
        request, "console/account/password.html", viewer, errors={}, notices=PASSWORD_NOTICES
    )


@router.post("/console/account/password")
async def change_password(request: Request, viewer: ConsoleViewer, form: CheckedForm) -> Response:
    # Passwords are taken as typed: spaces may be part of them.
    current, new = str(form.get("current_password") or ""), str(form.get("new_password") or "")
    if new != str(form.get("repeat_password") or ""):
        errors = {"repeat_password": "The two new passwords are not the same."}
        return _password_problems(request, viewer, errors)
    try:
        await services_of(request).account.change_password(
            viewer,
            current,
            new,
            client_address=client_address(request),
            keep_cookie=session_cookie(request),
        )
    except InvalidInput as invalid:
        errors = {
            name: " ".join(e.message for e in problems.errors)
            for name, problems in invalid.problems.fields.items()
        }
        return _password_problems(request, viewer, errors)
    except RateLimited as limited:
        minutes = max(1, round(limited.retry_after_seconds / 60))
        errors = {"current_password": f"Too many attempts: try again in {minutes} min."}
        page = _password_problems(request, viewer, errors, status=429)
        page.headers["Retry-After"] = str(limited.retry_after_seconds)
        return page
    return back_to("/console/account/password", done="changed")


def _password_problems(
    request: Request, viewer: Person, errors: dict[str, str], *, status: int = 400
) -> Response:
    return render_account(
        request, "console/account/password.html", viewer, status=status, errors=errors
    )


# -- sign-ins -------------------------------------------------------------------------------


@router.get("/console/account/sign-ins")
def sign_ins(request: Request, viewer: ConsoleViewer) -> Response:
    services = services_of(request)
    limits = services.web_sessions.limits
    return render_account(
        request,
        "console/account/sign_ins.html",
        viewer,
        idle_minutes=int(limits.idle.total_seconds() // 60),
        lifetime_hours=int(limits.lifetime.total_seconds() // 3600),
        attempts=services.account.sign_ins(viewer.id),
        sessions=services.web_sessions.open_sessions(viewer.id, session_cookie(request)),
    )


@router.post("/console/account/sign-ins/sign-out-everywhere")
async def sign_out_everywhere(
    request: Request, viewer: ConsoleViewer, form: CheckedForm
) -> Response:
    await run_in_threadpool(
        services_of(request).web_sessions.sign_out_everywhere, viewer.id, client_address(request)
    )
    response = RedirectResponse("/login", status_code=303, headers=PAGE_HEADERS)
    forget_session_cookie(request, response)
    return response
