"""``/oauth/authorize``: the consent page, and ``/oauth/error``.

app ──GET /oauth/authorize?client_id&redirect_uri&state&code_challenge…──► Tessera
  bad client or redirect URI ──► error page, never a redirect (RFC 9700 §4.1)
  other invalid request ──► 302 redirect_uri?error=…&state=…
  (both judged first: nobody signs in for a request that cannot succeed)
  not signed in ──► 303 /login?next=… ──(e-mail, password)──► back here
  prompt=login, a sign-in older than max_age, an id_token_hint for someone else
    ──► 303 /login?again=1&next=… (the same, while signed in)
  prompt=none ──► never a page: 302 redirect_uri?error=login_required|consent_required…,
    or a code at once when the person agreed to all of it before
  valid ──► consent page ("Access" / "Deny", CSRF token)
POST /oauth/authorize
  Access ──► 302 redirect_uri?code=…&state=…
  Deny   ──► 302 redirect_uri?error=access_denied&state=…
Every answer to the app goes in the query, the fragment or, with response_mode=form_post,
a page whose form the browser posts to the redirect URI.
"""

from urllib.parse import urlencode

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.responses import RedirectResponse, Response

from tessera.oauth.messages import (
    ConsentRequest,
    FormPost,
    OAuthResponse,
    RefusedRequest,
    SignedInPerson,
    SignInRequired,
)
from tessera.web.oauth_http import oauth_service, snapshot, to_response
from tessera.web.pages.csrf import CSRF_FIELD, csrf_ok, csrf_token, remember_csrf
from tessera.web.pages.form_post import render_form_post
from tessera.web.pages.oauth_pages_openapi import AUTHORIZE_GET, AUTHORIZE_POST
from tessera.web.pages.rendering import PAGE_HEADERS, csp_source_of, render
from tessera.web.pages.session import services_of, signed_in_session

#: Described in the OpenAPI document as browser endpoints (``oauth_pages_openapi``).
router = APIRouter(tags=["oauth"])


def _refused(refused: RefusedRequest, status: int = 400) -> Response:
    return render(
        "error.html",
        status=status,
        error=refused.error,
        description=refused.description,
        oauth_flow=True,
    )


def _answer(answer: OAuthResponse | RefusedRequest | FormPost) -> Response:
    if isinstance(answer, RefusedRequest):
        return _refused(answer, 403 if answer.error == "access_denied" else 400)
    if isinstance(answer, FormPost):
        return render_form_post(answer)
    return to_response(answer, PAGE_HEADERS)


def _sign_in_first(request: Request, needed: SignInRequired) -> Response:
    target = request.url.path + "?" + urlencode(needed.resume)
    query: dict[str, str] = {"next": target}
    if needed.again:
        query["again"] = "1"
    if needed.login_hint:
        query["login_hint"] = needed.login_hint
    login = request.url_for("login_page").include_query_params(**query)
    return RedirectResponse(str(login.path) + "?" + login.query, 303, headers=PAGE_HEADERS)


@router.get(
    "/oauth/authorize",
    summary="Ask the person to authorize an app (browser endpoint)",
    openapi_extra=AUTHORIZE_GET,
)
async def authorize(request: Request) -> Response:
    live = await run_in_threadpool(signed_in_session, request)
    signed_in = (
        None
        if live is None
        else SignedInPerson(live.person, live.signed_in_at, live.sign_in_method)
    )
    answer = await run_in_threadpool(
        oauth_service(request).check_authorization, snapshot(request), signed_in
    )
    if isinstance(answer, SignInRequired):
        return _sign_in_first(request, answer)
    if not isinstance(answer, ConsentRequest):
        return _answer(answer)
    if signed_in is None:  # a consent page only for someone signed in (never reached)
        return _refused(RefusedRequest("access_denied", "Sign in first."), 403)
    person = signed_in.person
    response = render(
        "consent.html",
        form_targets=(csp_source_of(answer.redirect_uri),),
        consent=answer,
        person=person,
        helpdesk=services_of(request).site.helpdesk_url,
        fields=sorted(request.query_params.multi_items()),
        csrf_field=CSRF_FIELD,
        csrf_token=csrf_token(request),
    )
    remember_csrf(request, response)
    return response


@router.post(
    "/oauth/authorize",
    summary="The person's decision on the consent page (browser endpoint)",
    openapi_extra=AUTHORIZE_POST,
)
async def decide(request: Request) -> Response:
    form: FormData = await request.form()
    if not csrf_ok(request, str(form.get(CSRF_FIELD) or "")):
        return _refused(RefusedRequest("invalid_request", "The form expired; start again."), 403)
    live = await run_in_threadpool(signed_in_session, request)
    if live is None:
        return _refused(RefusedRequest("access_denied", "Sign in first."), 403)
    allow = form.get("decision") == "accept"
    answer = await run_in_threadpool(
        lambda: oauth_service(request).decide(
            snapshot(request, form),
            live.person,
            allow=allow,
            signed_in_at=live.signed_in_at,
            signed_in_by=live.sign_in_method,
        )
    )
    return _answer(answer)


@router.get("/oauth/error", include_in_schema=False)
async def oauth_error(
    request: Request, error: str = "invalid_request", error_description: str | None = None
) -> Response:
    return _refused(RefusedRequest(error[:100], (error_description or "")[:500]))
