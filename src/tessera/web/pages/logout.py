"""``/oauth/logout``: OpenID Connect RP-Initiated Logout 1.0 (the ``end_session_endpoint``).

app ──GET (or POST) /oauth/logout?id_token_hint&client_id&post_logout_redirect_uri&state──► Tessera
  bad client, hint for another app, unregistered post_logout_redirect_uri ──► error page
  a POST from the app's page ──► 303 to the same GET (our cookie is SameSite=Lax: a cross-site
    POST arrives without it, a top-level GET with it)
  nobody signed in ──► straight on
  an id_token_hint naming the person signed in ──► signed out, straight on
  otherwise ──► "Sign out of Tessera?" (CSRF token); POST "Sign out" ──► signed out, on
"straight on": 303 post_logout_redirect_uri?state=…, or our "signed out" page without one.
"""

from urllib.parse import urlencode

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.responses import RedirectResponse, Response

from tessera.oauth.logout import LogoutRequest
from tessera.oauth.messages import OAuthRequest, RefusedRequest
from tessera.web.deps import client_address
from tessera.web.oauth_http import oauth_service, snapshot
from tessera.web.pages.csrf import CSRF_FIELD, csrf_ok, csrf_token, remember_csrf
from tessera.web.pages.oauth_pages_openapi import LOGOUT_GET, LOGOUT_POST
from tessera.web.pages.rendering import PAGE_HEADERS, csp_source_of, render
from tessera.web.pages.session import (
    forget_session_cookie,
    services_of,
    session_cookie,
    signed_in_session,
)

#: Described in the OpenAPI document as a browser endpoint (``oauth_pages_openapi``).
router = APIRouter(tags=["oauth"])

LOGOUT = "/oauth/logout"
#: The confirmation form's own field: the person's answer.
_DECISION = "logout_decision"


def _refused(refused: RefusedRequest) -> Response:
    return render("error.html", status=400, error=refused.error, description=refused.description)


def _onwards(request: Request, logout: LogoutRequest, *, signed_out: bool) -> Response:
    if logout.redirect_uri is None or not signed_out:
        app = None if logout.client is None else logout.client.name
        return render("signed_out.html", signed_out=signed_out, app_name=app)
    target = logout.redirect_uri
    if logout.state is not None:
        target += ("&" if "?" in target else "?") + urlencode({"state": logout.state})
    return RedirectResponse(target, status_code=303, headers=PAGE_HEADERS)


async def _sign_out(
    request: Request, logout: LogoutRequest, person_id: int, *, confirmed: bool
) -> Response:
    await run_in_threadpool(
        lambda: services_of(request).web_sessions.sign_out_for_app(
            session_cookie(request),
            person_id,
            oauth_client_id=None if logout.client is None else logout.client.client_id,
            confirmed=confirmed,
            client_address=client_address(request),
        )
    )
    response = _onwards(request, logout, signed_out=True)
    forget_session_cookie(request, response)
    return response


def _fields(request: OAuthRequest) -> list[tuple[str, str]]:
    return [
        (name, value)
        for source in (request.query, request.form)
        for name, values in source.items()
        for value in values
        if name != _DECISION
    ]


async def _logout(
    request: Request, oauth_request: OAuthRequest, *, decision: str | None
) -> Response:
    logout = await run_in_threadpool(oauth_service(request).check_logout, oauth_request)
    if isinstance(logout, RefusedRequest):
        return _refused(logout)
    live = await run_in_threadpool(signed_in_session, request)
    if live is None:
        return _onwards(request, logout, signed_out=True)  # nobody to sign out
    if decision == "logout":
        return await _sign_out(request, logout, live.person.id, confirmed=True)
    if decision == "stay":
        return _onwards(request, logout, signed_out=False)
    if logout.hint_names(live.person.id):
        return await _sign_out(request, logout, live.person.id, confirmed=False)
    targets = () if logout.redirect_uri is None else (csp_source_of(logout.redirect_uri),)
    response = render(
        "logout_confirm.html",
        form_targets=targets,
        person=live.person,
        app_name=None if logout.client is None else logout.client.name,
        fields=_fields(oauth_request),
        decision_field=_DECISION,
        csrf_field=CSRF_FIELD,
        csrf_token=csrf_token(request),
    )
    remember_csrf(request, response)
    return response


@router.get(
    LOGOUT, summary="Sign out at an app's request (browser endpoint)", openapi_extra=LOGOUT_GET
)
async def logout_page(request: Request) -> Response:
    return await _logout(request, snapshot(request), decision=None)


@router.post(
    LOGOUT,
    summary="An app's logout form, or the person's answer (browser endpoint)",
    openapi_extra=LOGOUT_POST,
)
async def logout_form(request: Request) -> Response:
    form: FormData = await request.form()
    if CSRF_FIELD not in form:
        # The app's own form (RP-Initiated Logout §2 allows POST): its cross-site POST carries
        # no Lax cookie, so the same request goes on as a top-level GET, which does.
        query = urlencode([(k, v) for k, v in form.multi_items() if isinstance(v, str)])
        return RedirectResponse(f"{LOGOUT}?{query}", status_code=303, headers=PAGE_HEADERS)
    if not csrf_ok(request, str(form.get(CSRF_FIELD) or "")):
        return render(
            "error.html",
            status=403,
            error="invalid_request",
            description="The form expired; ask the app to sign you out again.",
        )
    decision = str(form.get(_DECISION) or "")
    return await _logout(request, snapshot(request, form), decision=decision)
