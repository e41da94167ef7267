"""How the authorization server's browser endpoints are described in the OpenAPI document.

``/oauth/authorize`` and ``/oauth/logout`` are pages a browser is sent to, not JSON APIs: they
answer HTML or a redirect. Their routes read the query and form themselves (the OAuth layer
takes the whole request), so the parameters each reads are listed here by hand, from
``oauth.grants``, ``oauth.sign_in_checks``, ``oauth.resources``, ``oauth.service`` and
``oauth.logout``.
"""

from typing import Any

_TEXT: dict[str, Any] = {"type": "string"}

#: Every parameter of an authorization request that Tessera takes (others, such as
#: ``ui_locales``, ``claims`` or ``request``, are ignored; docs/oidc.md).
AUTHORIZATION_PARAMETERS: dict[str, tuple[dict[str, Any], str]] = {
    "response_type": (_TEXT, "`code`, or `token` for a client allowed the implicit grant."),
    "client_id": (_TEXT, "The app's client ID (or its client ID metadata document's URL)."),
    "redirect_uri": (_TEXT, "One the app registered, compared exactly."),
    "scope": (_TEXT, "Space-separated scopes (`openid`, `profile`, `email`, API scopes …)."),
    "state": (_TEXT, "Given back unchanged with the answer."),
    "code_challenge": (_TEXT, "PKCE (RFC 7636), required with `response_type=code`."),
    "code_challenge_method": (_TEXT, "`S256` (the only method)."),
    "nonce": (_TEXT, "With `openid`: copied into the ID token."),
    "prompt": (
        _TEXT,
        "`none` (never a page: an error or a code at once), `login`, `consent`, `select_account`.",
    ),
    "max_age": (_TEXT, "Seconds: an older sign-in must be made again."),
    "id_token_hint": (
        _TEXT,
        "An ID token this server issued to this client: the person expected to be signed in.",
    ),
    "login_hint": (_TEXT, "An e-mail address to fill in on the sign-in page."),
    "response_mode": (_TEXT, "`query`, `fragment` or `form_post`."),
    "resource": (
        {"type": "array", "items": _TEXT},
        "RFC 8707 resource indicators, one per resource; repeatable.",
    ),
    "acr_values": (
        _TEXT,
        "Voluntary: accepted; the ID token's `acr` says how the person actually signed in.",
    ),
}

#: Every parameter of an RP-initiated logout request (OpenID Connect RP-Initiated Logout 1.0).
LOGOUT_PARAMETERS: dict[str, tuple[dict[str, Any], str]] = {
    "id_token_hint": (
        _TEXT,
        "An ID token this server issued (expired or not): when it names the person signed "
        "in, no confirmation is asked.",
    ),
    "client_id": (_TEXT, "The app; with a hint, one of the hint's audiences."),
    "post_logout_redirect_uri": (
        _TEXT,
        "One the app registered, compared exactly; needs `client_id` or `id_token_hint`.",
    ),
    "state": (_TEXT, "Given back unchanged with the redirect."),
}

_CSRF = "The page form's CSRF token (set with its cookie when the page was shown)."
_DECISION_FIELDS: dict[str, tuple[dict[str, Any], str]] = {
    "csrf_token": (_TEXT, _CSRF),
    "decision": (
        {"type": "string", "enum": ["accept", "deny"]},
        "The person's answer: `accept` gives the app a code; anything else denies.",
    ),
}
_LOGOUT_FORM_FIELDS: dict[str, tuple[dict[str, Any], str]] = {
    "csrf_token": (
        _TEXT,
        _CSRF + " Without it the post is the app's own logout request, sent on as a GET.",
    ),
    "logout_decision": (
        {"type": "string", "enum": ["logout", "stay"]},
        "The person's answer on the confirmation page.",
    ),
}

_HTML = {"text/html": {"schema": {"type": "string"}}}
_LOCATION = {
    "Location": {"description": "Where the browser goes next.", "schema": {"type": "string"}}
}


def _query(fields: dict[str, tuple[dict[str, Any], str]]) -> list[dict[str, Any]]:
    return [
        {"name": name, "in": "query", "required": False, "schema": schema, "description": text}
        | ({"style": "form", "explode": True} if schema.get("type") == "array" else {})
        for name, (schema, text) in fields.items()
    ]


def _form(fields: dict[str, tuple[dict[str, Any], str]]) -> dict[str, Any]:
    properties = {name: schema | {"description": text} for name, (schema, text) in fields.items()}
    encoding = {
        name: {"style": "form", "explode": True}
        for name, (schema, _) in fields.items()
        if schema.get("type") == "array"
    }
    media: dict[str, Any] = {"schema": {"type": "object", "properties": properties}}
    if encoding:
        media["encoding"] = encoding
    return {"required": False, "content": {"application/x-www-form-urlencoded": media}}


def _page(description: str) -> dict[str, Any]:
    return {"description": description, "content": _HTML}


def _redirect(description: str) -> dict[str, Any]:
    return {"description": description, "headers": _LOCATION}


_AUTHORIZATION_REFUSED = _page(
    "An error page, never a redirect: an unknown client, an unregistered redirect URI, or a "
    "request that cannot be sent back to the app."
)
_FORM_POST = "`response_mode=form_post`: a page whose form the browser posts to the app"

AUTHORIZE_GET: dict[str, Any] = {
    "description": "A browser endpoint (RFC 6749 §3.1, OpenID Connect Core §3.1.2): it "
    "answers HTML pages or redirects, never JSON. Errors the app can be told go back to "
    "its redirect URI, in the response mode it asked for.",
    "parameters": _query(AUTHORIZATION_PARAMETERS),
    "responses": {
        "200": _page(f"The consent page (signed in), or {_FORM_POST}."),
        "302": _redirect(
            "To the redirect URI with a code (`prompt=none`, consent given before) or an "
            "error (`invalid_request`, `login_required`, `consent_required` …), and `state`, "
            "`iss`."
        ),
        "303": _redirect("To `/login?next=…`: sign in (again) first."),
        "400": _AUTHORIZATION_REFUSED,
        "403": _page("`access_denied`: the person signed in may not use this app."),
    },
}

AUTHORIZE_POST: dict[str, Any] = {
    "description": "The consent page's form posts here: the authorization request's "
    "parameters again (its hidden fields), the CSRF token and the person's decision.",
    "requestBody": _form(AUTHORIZATION_PARAMETERS | _DECISION_FIELDS),
    "responses": {
        "200": _page(f"{_FORM_POST}."),
        "302": _redirect(
            "To the redirect URI with `code` (accepted) or `error=access_denied` (denied), "
            "and `state`, `iss`."
        ),
        "400": _AUTHORIZATION_REFUSED,
        "403": _page("The form expired (CSRF), nobody is signed in, or `access_denied`."),
    },
}

_LOGOUT_REFUSED = _page(
    "`invalid_request`: an unknown client, a hint issued to another app, or an unregistered "
    "`post_logout_redirect_uri`; never followed."
)

LOGOUT_GET: dict[str, Any] = {
    "description": "OpenID Connect RP-Initiated Logout 1.0 (the `end_session_endpoint`), a "
    "browser endpoint: it answers HTML pages or redirects, never JSON.",
    "parameters": _query(LOGOUT_PARAMETERS),
    "responses": {
        "200": _page(
            "“Sign out of Tessera?” (the hint does not name the person signed in), or the "
            "“signed out” page when there is no `post_logout_redirect_uri`."
        ),
        "303": _redirect("Signed out (or nobody was): to `post_logout_redirect_uri?state=…`."),
        "400": _LOGOUT_REFUSED,
    },
}

LOGOUT_POST: dict[str, Any] = {
    "description": "The app's own logout form (the same parameters, answered with a 303 to "
    "the GET, where the session cookie comes along), or the confirmation page's form.",
    "requestBody": _form(LOGOUT_PARAMETERS | _LOGOUT_FORM_FIELDS),
    "responses": {
        "200": _page("The “signed out” page, or the confirmation page again."),
        "303": _redirect(
            "The app's request, sent on as a GET; or, signed out, to "
            "`post_logout_redirect_uri?state=…`."
        ),
        "400": _LOGOUT_REFUSED,
        "403": _page("The confirmation form expired (CSRF)."),
    },
}
