"""CSRF protection for forms: a token bound to the session that each form must carry.

The token is an HMAC of the session cookie under a random secret kept in its own cookie
(``web.cookies``): a page from another origin can read neither, so it cannot put the token in
the form it makes a browser submit. The secret cookie is SameSite=Strict, HttpOnly, and
replaced at sign-in (``rotate_csrf``).
"""

import secrets
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import Response

from tessera.web.cookies import (
    CSRF_COOKIE,
    SESSION_COOKIE,
    bound_csrf_token,
    cookie_name,
    csrf_matches,
    read_cookie,
    served_securely,
)

CSRF_FIELD = "csrf_token"


def _secret(request: Request) -> str:
    """The CSRF secret of this browser, or a new one this response will set."""
    existing = read_cookie(request, CSRF_COOKIE)
    if existing and 20 <= len(existing) <= 100:
        return existing
    token: str = request.state.__dict__.setdefault("new_csrf_secret", secrets.token_urlsafe(32))
    return token


def csrf_token(request: Request) -> str:
    """The token forms on this page must carry."""
    return bound_csrf_token(_secret(request), read_cookie(request, SESSION_COOKIE))


def rotate_csrf(request: Request) -> None:
    """A new CSRF secret for this browser (set by ``remember_csrf``): at sign-in."""
    request.state.__dict__["new_csrf_secret"] = secrets.token_urlsafe(32)


def remember_csrf(request: Request, response: Response, *, secure: bool | None = None) -> None:
    """Set the secret cookie if this request made a new one."""
    secret = request.state.__dict__.get("new_csrf_secret")
    if secret:
        secure = served_securely(request) if secure is None else secure
        response.set_cookie(
            cookie_name(CSRF_COOKIE, secure=secure),
            secret,
            httponly=True,
            samesite="strict",
            secure=secure,
            path="/",
        )


def csrf_ok(request: Request, submitted: str | None) -> bool:
    """The form came from one of our pages: its ``Origin`` (when the browser sends one, as
    every current browser does on a POST) is ours, and it carries this session's token."""
    return _from_our_origin(request) and csrf_matches(request, submitted)


def _from_our_origin(request: Request) -> bool:
    origin = request.headers.get("origin")
    if origin is None:
        return True  # an older browser: the token alone decides
    own = {f"{request.url.scheme}://{request.url.netloc}", _origin_of(public_url_of(request))}
    return origin in own  # "null" (a sandboxed frame, a redirect chain) is never ours


def _origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def public_url_of(request: Request) -> str:
    public_url: str = request.app.state.services.site.public_url
    return public_url
