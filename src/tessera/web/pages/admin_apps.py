"""``/console/apps``: admins register OAuth apps, change them, rotate secrets, remove them.

A confidential app's secret is shown once, by the page its creation or rotation redirects to
(``…/{id}/issued``, post-redirect-get through ``shown_once``); a reload says it was shown.
"""

import json
from typing import Any

from fastapi import APIRouter, Request
from starlette.datastructures import FormData
from starlette.responses import Response

from tessera.core.client_keys import ClientAuthMethod
from tessera.core.errors import FieldError, FieldErrors, InvalidInput
from tessera.core.oauth_clients import (
    AccessTokenFormat,
    ClientContext,
    GrantType,
    OAuthClient,
    authorization_endpoint,
    is_insecure_redirect_uri,
    token_endpoint,
)
from tessera.core.oauth_scopes import SESSION_SCOPE
from tessera.core.people import Person
from tessera.core.signing_keys import DEFAULT_ALGORITHM, SigningAlgorithm
from tessera.services.oauth_clients import (
    AUTH_METHOD_FIELD,
    SIGNATURE_FIELD,
    TOKEN_FORMAT_FIELD,
    IssuedOAuthClient,
    NewOAuthClient,
    OAuthClientChanges,
)
from tessera.web.pages.admin_kit import (
    call,
    field_problems,
    page_request,
    pager,
    render_admin,
    resource_id,
    services,
)
from tessera.web.pages.console import AdminViewer, CheckedForm, back_to, field
from tessera.web.pages.shown_once import show_next, take_shown

router = APIRouter(include_in_schema=False)

LIST = "/console/apps"
GRANTS = [
    (GrantType.AUTHORIZATION_CODE.value, "Authorization code (recommended)"),
    (GrantType.IMPLICIT.value, "Implicit: token in the redirect (legacy apps only)"),
    (GrantType.DEVICE_CODE.value, "Device code: TVs, scripts, command-line tools (RFC 8628)"),
]
#: How the list names each grant type.
GRANT_NAMES = {
    GrantType.AUTHORIZATION_CODE: "Authorization code",
    GrantType.IMPLICIT: "Implicit",
    GrantType.DEVICE_CODE: "Device code",
}
CONTEXTS = [
    (ClientContext.AGENT.value, "Agents and admins"),
    (ClientContext.USER.value, "Helpdesk users"),
]
#: OpenID Connect Registration's id_token_signed_response_alg, in words.
SIGNATURE_CHOICES = [
    (SigningAlgorithm.RS256.value, "RS256 (RSA; every OpenID Connect library checks it)"),
    (SigningAlgorithm.ES256.value, "ES256 (P-256; only for an app that asks for it)"),
]
#: How a confidential app proves itself (ADR 0052); a public app uses none.
AUTH_METHODS = [
    (ClientAuthMethod.CLIENT_SECRET_BASIC.value, "A client secret (HTTP Basic or the form)"),
    (
        ClientAuthMethod.PRIVATE_KEY_JWT.value,
        "A JWT signed with its own key (private_key_jwt): no secret",
    ),
]

#: The form of the app's access tokens (ADR 0051), in words.
TOKEN_FORMAT_CHOICES = [
    (AccessTokenFormat.OPAQUE.value, "Opaque ID:CODE (Deskpro's; the default)"),
    (AccessTokenFormat.JWT.value, "JWT (RFC 9068; for APIs that read the token themselves)"),
]
FIELDS = (
    "name",
    "redirect_uris",
    "post_logout_redirect_uris",
    "allowed_grant_type",
    "context",
    "is_public",
    SIGNATURE_FIELD,
    "allowed_scopes",
    AUTH_METHOD_FIELD,
    "jwks_uri",
    "jwks",
    TOKEN_FORMAT_FIELD,
)
NOTICES = {
    "changed": "The changes were saved.",
    "enabled": "The app is enabled: people can connect it again.",
    "disabled": "The app is disabled: it cannot sign anybody in or refresh tokens.",
    "deleted": "The app was deleted, with every token issued through it.",
}
BLANK_FORM = {
    "name": "",
    "redirect_uris": "",
    "post_logout_redirect_uris": "",
    "allowed_grant_type": GrantType.AUTHORIZATION_CODE.value,
    "context": ClientContext.AGENT.value,
    "is_public": "",
    SIGNATURE_FIELD: DEFAULT_ALGORITHM.value,
    "allowed_scopes": SESSION_SCOPE,
    AUTH_METHOD_FIELD: ClientAuthMethod.CLIENT_SECRET_BASIC.value,
    "jwks_uri": "",
    "jwks": "",
    TOKEN_FORMAT_FIELD: AccessTokenFormat.OPAQUE.value,
}
NOT_JSON = FieldError("invalid_jwks", 'This is not JSON: paste the JWK Set, {"keys": [...]}.')


def _typed(form: FormData) -> dict[str, str]:
    return {name: field(form, name) for name in FIELDS}


def _uris(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def _jwks(text: str) -> dict[str, Any] | None:
    """The inline JWK Set typed in the form; blank: none. Not JSON: the field's problem (the
    service judges the rest, with the other fields)."""
    if not text.strip():
        return None
    try:
        value = json.loads(text)
    except ValueError:
        problems = FieldErrors()
        problems.add(("jwks",), NOT_JSON)
        raise InvalidInput(problems) from None
    # Anything but an object is the service's problem to name ("a JSON object with keys").
    return value if isinstance(value, dict) else {"keys": None}


def _keys_typed(typed: dict[str, str], *, public: bool) -> dict[str, Any]:
    """The method and keys as the service takes them: none of them for a public app; for a
    confidential one, blank fields are not keys (on a change: the kept ones stay)."""
    if public:
        return {}
    return {
        "token_endpoint_auth_method": typed[AUTH_METHOD_FIELD] or None,
        "jwks_uri": typed["jwks_uri"].strip() or None,
        "jwks": _jwks(typed["jwks"]),
    }


async def _apps_page(
    request: Request,
    viewer: AdminViewer,
    *,
    typed: dict[str, str] | None = None,
    problems: dict[str, list[str]] | None = None,
) -> Response:
    clients = services(request).oauth_clients
    page = await call(clients.list, page_request(request.query_params.get("page")))
    connected = await call(clients.connected_people)
    return render_admin(
        request,
        "console/admin/apps.html",
        viewer,
        status=400 if problems else 200,
        notices=NOTICES,
        page=page,
        pages=pager(page, LIST, {}),
        connected=connected,
        grant_names=GRANT_NAMES,
        typed=typed or BLANK_FORM,
        problems=problems or {},
        grants=GRANTS,
        contexts=CONTEXTS,
        id_token_algs=SIGNATURE_CHOICES,
        auth_methods=AUTH_METHODS,
        token_formats=TOKEN_FORMAT_CHOICES,
    )


@router.get(LIST)
async def apps_page(request: Request, viewer: AdminViewer) -> Response:
    return await _apps_page(request, viewer)


@router.post(LIST)
async def create_app(request: Request, viewer: AdminViewer, form: CheckedForm) -> Response:
    typed = _typed(form)
    public = typed["is_public"] == "on"
    try:
        keys = _keys_typed(typed, public=public)
    except InvalidInput as error:
        problems = field_problems(error, FIELDS)
        return await _apps_page(request, viewer, typed=typed, problems=problems)
    new = NewOAuthClient(
        name=typed["name"],
        redirect_uris=_uris(typed["redirect_uris"]),
        post_logout_redirect_uris=_uris(typed["post_logout_redirect_uris"]),
        # Plain text: the service checks it is one of the choices.
        allowed_grant_type=typed["allowed_grant_type"],
        context=typed["context"],
        is_public=public,
        # Absent (a form of an older page): the default, as for a client of the API.
        id_token_signed_response_alg=typed[SIGNATURE_FIELD] or DEFAULT_ALGORITHM,
        # Absent (a form of an older page): the default. Present but blank: refused, as blank
        # would allow nothing.
        allowed_scopes=typed["allowed_scopes"] if "allowed_scopes" in form else SESSION_SCOPE,
        **keys,
        # Absent (a form of an older page): the default.
        access_token_format=typed[TOKEN_FORMAT_FIELD] or AccessTokenFormat.OPAQUE,
    )
    try:
        issued = await call(services(request).oauth_clients.create, new, actor=viewer.id)
    except InvalidInput as error:
        problems = field_problems(error, FIELDS)
        return await _apps_page(request, viewer, typed=typed, problems=problems)
    return await _show_issued(request, issued, created=True)


def _subject(app_id: int) -> str:
    return f"oauth_client/{app_id}"


async def _show_issued(request: Request, issued: IssuedOAuthClient, *, created: bool) -> Response:
    values = {"secret": issued.secret or "", "created": "yes" if created else ""}
    page = f"{LIST}/{issued.client.id}/issued"
    return await show_next(request, _subject(issued.client.id), values, page)


@router.get(LIST + "/{app_id}/issued")
async def issued_page(request: Request, viewer: AdminViewer, app_id: str) -> Response:
    """The new secret, the first time only; afterwards, that it was shown."""
    app = await call(services(request).oauth_clients.get, resource_id(app_id))
    shown = await take_shown(request, _subject(app.id))
    site = services(request).site
    return render_admin(
        request,
        "console/admin/app_issued.html",
        viewer,
        app=app,
        shown=shown is not None,
        secret=shown["secret"] if shown else None,
        created=bool(shown and shown["created"]),
        authorize_url=authorization_endpoint(site),
        token_url=token_endpoint(site),
    )


async def _app_page(
    request: Request,
    viewer: AdminViewer,
    app: OAuthClient,
    *,
    typed: dict[str, str] | None = None,
    problems: dict[str, list[str]] | None = None,
) -> Response:
    clients = services(request).oauth_clients
    connected = await call(clients.connected_people)
    site = services(request).site
    shown = typed or {
        "name": app.name,
        "redirect_uris": "\n".join(app.redirect_uris),
        "post_logout_redirect_uris": "\n".join(app.post_logout_redirect_uris),
        "allowed_grant_type": app.allowed_grant_type.value,
        "context": app.context.value,
        SIGNATURE_FIELD: app.id_token_signed_response_alg.value,
        "allowed_scopes": app.allowed_scopes,
        AUTH_METHOD_FIELD: app.token_endpoint_auth_method.value,
        "jwks_uri": app.jwks_uri or "",
        "jwks": "" if app.jwks is None else json.dumps(dict(app.jwks), indent=2),
        TOKEN_FORMAT_FIELD: app.access_token_format.value,
    }
    return render_admin(
        request,
        "console/admin/app.html",
        viewer,
        status=400 if problems else 200,
        notices=NOTICES,
        app=app,
        people=connected.get(app.id, 0),
        # Decision 17: plain http to other hosts, and whether the operator's switch allows it.
        insecure_uris=[uri for uri in app.redirect_uris if is_insecure_redirect_uri(uri)],
        insecure_allowed=clients.allows_insecure_redirects,
        typed=shown,
        problems=problems or {},
        grants=GRANTS,
        contexts=CONTEXTS,
        id_token_algs=SIGNATURE_CHOICES,
        auth_methods=AUTH_METHODS,
        key_ids=_key_ids(app),
        token_formats=TOKEN_FORMAT_CHOICES,
        authorize_url=authorization_endpoint(site),
        token_url=token_endpoint(site),
    )


def _key_ids(app: OAuthClient) -> list[str]:
    """The ``kid`` of each inline key, as the page lists them (``(no kid)`` for a key without)."""
    keys = (app.jwks or {}).get("keys") or []
    return [str(key.get("kid") or "(no kid)") for key in keys if isinstance(key, dict)]


@router.get(LIST + "/{app_id}")
async def app_page(request: Request, viewer: AdminViewer, app_id: str) -> Response:
    app = await call(services(request).oauth_clients.get, resource_id(app_id))
    return await _app_page(request, viewer, app)


@router.post(LIST + "/{app_id}")
async def change_app(
    request: Request, viewer: AdminViewer, form: CheckedForm, app_id: str
) -> Response:
    number = resource_id(app_id)
    typed = _typed(form)
    # Only a confidential app's page has the method and keys: a public one sends none.
    try:
        keys = _keys_typed(typed, public=AUTH_METHOD_FIELD not in form)
    except InvalidInput as error:
        app = await call(services(request).oauth_clients.get, number)
        problems = field_problems(error, FIELDS)
        return await _app_page(request, viewer, app, typed=typed, problems=problems)
    changes = OAuthClientChanges(
        name=typed["name"],
        redirect_uris=_uris(typed["redirect_uris"]),
        post_logout_redirect_uris=_uris(typed["post_logout_redirect_uris"]),
        allowed_grant_type=typed["allowed_grant_type"],
        context=typed["context"],
        # Absent: unchanged.
        id_token_signed_response_alg=typed[SIGNATURE_FIELD] or None,
        allowed_scopes=typed["allowed_scopes"] if "allowed_scopes" in form else None,
        **keys,
        # Absent: unchanged.
        access_token_format=typed[TOKEN_FORMAT_FIELD] or None,
    )
    try:
        await call(services(request).oauth_clients.change, number, changes, actor=viewer.id)
    except InvalidInput as error:
        app = await call(services(request).oauth_clients.get, number)
        problems = field_problems(error, FIELDS)
        return await _app_page(request, viewer, app, typed=typed, problems=problems)
    return back_to(f"{LIST}/{number}", done="changed")


async def _set_enabled(request: Request, viewer: Person, app_id: str, enabled: bool) -> Response:
    number = resource_id(app_id)
    changes = OAuthClientChanges(is_enabled=enabled)
    await call(services(request).oauth_clients.change, number, changes, actor=viewer.id)
    return back_to(f"{LIST}/{number}", done="enabled" if enabled else "disabled")


@router.post(LIST + "/{app_id}/enable")
async def enable_app(
    request: Request, viewer: AdminViewer, form: CheckedForm, app_id: str
) -> Response:
    return await _set_enabled(request, viewer, app_id, True)


@router.post(LIST + "/{app_id}/disable")
async def disable_app(
    request: Request, viewer: AdminViewer, form: CheckedForm, app_id: str
) -> Response:
    return await _set_enabled(request, viewer, app_id, False)


@router.post(LIST + "/{app_id}/rotate")
async def rotate_secret(
    request: Request, viewer: AdminViewer, form: CheckedForm, app_id: str
) -> Response:
    number = resource_id(app_id)
    try:
        issued = await call(services(request).oauth_clients.rotate_secret, number, actor=viewer.id)
    except InvalidInput as error:
        app = await call(services(request).oauth_clients.get, number)
        return await _app_page(request, viewer, app, problems=field_problems(error, ()))
    return await _show_issued(request, issued, created=False)


@router.get(LIST + "/{app_id}/delete")
async def confirm_delete(request: Request, viewer: AdminViewer, app_id: str) -> Response:
    app = await call(services(request).oauth_clients.get, resource_id(app_id))
    connected = await call(services(request).oauth_clients.connected_people)
    return render_admin(
        request,
        "console/admin/app_delete.html",
        viewer,
        app=app,
        people=connected.get(app.id, 0),
    )


@router.post(LIST + "/{app_id}/delete")
async def delete_app(
    request: Request, viewer: AdminViewer, form: CheckedForm, app_id: str
) -> Response:
    await call(services(request).oauth_clients.delete, resource_id(app_id), actor=viewer.id)
    return back_to(LIST, done="deleted")
