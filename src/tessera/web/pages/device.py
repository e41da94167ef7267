"""``/device``: where a person types the code a device shows, and approves it (RFC 8628).

device ──POST /oauth/device_authorization──► device code, user code, verification URI
person ──GET /device[?user_code=…]──► not signed in: 303 /login?next=… and back
  the code form (pre-filled from ``verification_uri_complete``, never submitted for them)
POST /device (CSRF) ──► the confirmation page: the app's name, a phishing warning
POST /device/decision (CSRF): Allow / Deny ──► done; the device's next poll gets tokens
  (or ``access_denied``)

Every code typed, on either form, counts against the guess limits (per person, per address).
"""

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.responses import RedirectResponse, Response

from tessera.core.errors import RateLimited
from tessera.core.people import Person
from tessera.core.scope_words import describe_scope
from tessera.services.device_authorizations import CodeRefusal, DeviceRequest
from tessera.web.deps import client_address
from tessera.web.oauth_http import oauth_service
from tessera.web.pages.csrf import CSRF_FIELD, csrf_ok, csrf_token, remember_csrf
from tessera.web.pages.rendering import PAGE_HEADERS, render
from tessera.web.pages.session import services_of, signed_in_person, signed_in_session

router = APIRouter(include_in_schema=False)

#: Longer than any code typed with dashes and blanks; anything longer is not one.
_MAX_TYPED = 20
_REFUSALS = {
    CodeRefusal.UNKNOWN: "That code is not valid. Check it against your device, or start again "
    "on the device for a new one.",
    CodeRefusal.EXPIRED: "That code has expired: start again on the device for a new one.",
    CodeRefusal.NOT_ALLOWED: "You cannot connect this app with your account.",
}


def _code_form(
    request: Request,
    person: Person,
    typed: str,
    *,
    status: int = 200,
    error: str | None = None,
) -> Response:
    response = render(
        "device_code.html",
        status=status,
        person=person,
        user_code=typed[:_MAX_TYPED],
        error=error,
        csrf_field=CSRF_FIELD,
        csrf_token=csrf_token(request),
    )
    remember_csrf(request, response)
    return response


def _to_login(request: Request) -> Response:
    target = request.url.path + ("?" + request.url.query if request.url.query else "")
    login = request.url_for("login_page").include_query_params(next=target)
    return RedirectResponse(str(login.path) + "?" + login.query, 303, headers=PAGE_HEADERS)


def _limited(request: Request, person: Person, typed: str, limited: RateLimited) -> Response:
    minutes = max(1, round(limited.retry_after_seconds / 60))
    page = _code_form(
        request, person, typed, status=429, error=f"Too many codes tried: wait {minutes} min."
    )
    page.headers["Retry-After"] = str(limited.retry_after_seconds)
    return page


def _expired_form() -> Response:
    return render(
        "error.html", status=403, error="invalid_request", description="The form expired."
    )


@router.get("/device")
async def device_page(request: Request, user_code: str = "") -> Response:
    person = await run_in_threadpool(signed_in_person, request)
    if person is None:
        return _to_login(request)
    # Only pre-filled: a link alone must never approve anything (RFC 8628 §5.4).
    return _code_form(request, person, user_code)


async def _posted_by_signed_in(request: Request) -> tuple[FormData, Person] | Response:
    """A form of these pages and who sent it; or the answer when its CSRF token is stale or
    nobody is signed in."""
    form = await request.form()
    if not csrf_ok(request, str(form.get(CSRF_FIELD) or "")):
        return _expired_form()
    person = await run_in_threadpool(signed_in_person, request)
    if person is None:
        return _to_login(request)
    return form, person


@router.post("/device")
async def enter_code(request: Request) -> Response:
    posted = await _posted_by_signed_in(request)
    if isinstance(posted, Response):
        return posted
    form, person = posted
    typed = str(form.get("user_code") or "")[: _MAX_TYPED * 5]
    devices = services_of(request).device_authorizations
    try:
        found = await run_in_threadpool(devices.look_up, person, typed, client_address(request))
    except RateLimited as limited:
        return _limited(request, person, typed, limited)
    if not isinstance(found, DeviceRequest):
        status = 403 if found is CodeRefusal.NOT_ALLOWED else 400
        return _code_form(request, person, typed, status=status, error=_REFUSALS[found])
    response = render(
        "device_confirm.html",
        device=found,
        # What each granted scope allows, in words, as on the consent page (ADR 0042).
        scope_lines=describe_scope(found.scope, oauth_service(request).context.scopes),
        person=person,
        helpdesk=services_of(request).site.helpdesk_url,
        csrf_field=CSRF_FIELD,
        csrf_token=csrf_token(request),
    )
    remember_csrf(request, response)
    return response


@router.post("/device/decision")
async def decide(request: Request) -> Response:
    posted = await _posted_by_signed_in(request)
    if isinstance(posted, Response):
        return posted
    form, person = posted
    typed = str(form.get("user_code") or "")[: _MAX_TYPED * 5]
    allow = form.get("decision") == "accept"
    devices = services_of(request).device_authorizations
    # When and how this browser signed in: the auth_time, acr and amr of the device's tokens.
    live = await run_in_threadpool(signed_in_session, request)
    try:
        decided = await run_in_threadpool(
            lambda: devices.decide(
                person,
                typed,
                client_address(request),
                allow=allow,
                signed_in_at=None if live is None else live.signed_in_at,
                signed_in_by=None if live is None else live.sign_in_method,
            )
        )
    except RateLimited as limited:
        return _limited(request, person, typed, limited)
    if not isinstance(decided, DeviceRequest):
        status = 403 if decided is CodeRefusal.NOT_ALLOWED else 400
        return _code_form(request, person, typed, status=status, error=_REFUSALS[decided])
    if allow:
        heading = f"{decided.client_name} is connected"
        sentence = f"Go back to your device: {decided.client_name} continues there in a moment."
    else:
        heading = "Request denied"
        sentence = f"{decided.client_name} was not connected. Your device will say so."
    return render("device_done.html", heading=heading, sentence=sentence)
