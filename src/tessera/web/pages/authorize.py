"""``/oauth/authorize``: the consent page, and ``/oauth/error``.

app ──GET /oauth/authorize?client_id&redirect_uri&state&code_challenge…──► Tessera
  bad client or redirect URI ──► error page, never a redirect (RFC 9700 §4.1)
  other invalid request ──► 302 redirect_uri?error=…&state=…
  (both judged first: nobody signs in for a request that cannot succeed)
  not signed in ──► 303 /login?next=… ──(e-mail, password)──► back here
  valid ──► consent page ("Access" / "Deny", CSRF token)
POST /oauth/authorize
  Access ──► 302 redirect_uri?code=…&state=…
  Deny   ──► 302 redirect_uri?error=access_denied&state=…
"""

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.responses import RedirectResponse, Response

from tessera.oauth.messages import ConsentRequest, RefusedRequest
from tessera.web.oauth_http import oauth_service, snapshot, to_response
from tessera.web.pages.csrf import CSRF_FIELD, csrf_ok, csrf_token, remember_csrf
from tessera.web.pages.rendering import PAGE_HEADERS, csp_source_of, render
from tessera.web.pages.session import services_of, signed_in_person, signed_in_session

router = APIRouter(include_in_schema=False)


def _refused(refused: RefusedRequest, status: int = 400) -> Response:
    return render(
        "error.html",
        status=status,
        error=refused.error,
        description=refused.description,
        oauth_flow=True,
    )


@router.get("/oauth/authorize")
async def authorize(request: Request) -> Response:
    person = await run_in_threadpool(signed_in_person, request)
    answer = await run_in_threadpool(
        oauth_service(request).check_authorization, snapshot(request), person
    )
    if isinstance(answer, RefusedRequest):
        return _refused(answer, 403 if answer.error == "access_denied" else 400)
    if not isinstance(answer, ConsentRequest):
        return to_response(answer, PAGE_HEADERS)
    if person is None:
        target = request.url.path + ("?" + request.url.query if request.url.query else "")
        login = request.url_for("login_page").include_query_params(next=target)
        return RedirectResponse(str(login.path) + "?" + login.query, 303, headers=PAGE_HEADERS)
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


@router.post("/oauth/authorize")
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
            snapshot(request, form), live.person, allow=allow, signed_in_at=live.signed_in_at
        )
    )
    if isinstance(answer, RefusedRequest):
        return _refused(answer, 403 if answer.error == "access_denied" else 400)
    return to_response(answer, PAGE_HEADERS)


@router.get("/oauth/error")
async def oauth_error(
    request: Request, error: str = "invalid_request", error_description: str | None = None
) -> Response:
    return _refused(RefusedRequest(error[:100], (error_description or "")[:500]))
