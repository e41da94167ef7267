"""CSRF protection for forms: a random cookie that each form must echo (double submit).

A page from another origin cannot read our cookie, so it cannot put its value in the form
it makes a browser submit. The cookie is SameSite=Strict, HttpOnly.
"""

import hmac
import secrets

from starlette.requests import Request
from starlette.responses import Response

from tessera.web.cookies import CSRF_COOKIE

CSRF_FIELD = "csrf_token"


def csrf_token(request: Request) -> str:
    """The token forms on this page must carry (the cookie's, or a new one to set)."""
    existing = request.cookies.get(CSRF_COOKIE)
    if existing and 20 <= len(existing) <= 100:
        return existing
    token: str = request.state.__dict__.setdefault("new_csrf_token", secrets.token_urlsafe(32))
    return token


def remember_csrf(request: Request, response: Response, *, secure: bool) -> None:
    """Set the cookie if this request made a new token."""
    token = request.state.__dict__.get("new_csrf_token")
    if token:
        response.set_cookie(
            CSRF_COOKIE, token, httponly=True, samesite="strict", secure=secure, path="/"
        )


def csrf_ok(request: Request, submitted: str | None) -> bool:
    cookie = request.cookies.get(CSRF_COOKIE)
    if not cookie or not submitted:
        return False
    return hmac.compare_digest(cookie.encode(), submitted.encode())
