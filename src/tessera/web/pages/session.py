"""The login session cookie: who is signed in on this browser."""

from starlette.requests import Request
from starlette.responses import Response

from tessera.core.people import Person
from tessera.services.container import Services
from tessera.services.password_login import TRUSTED_DAYS
from tessera.services.web_sessions import SignedInSession
from tessera.web.cookies import (
    DEVICE_COOKIE,
    SESSION_COOKIE,
    cookie_name,
    read_cookie,
    served_securely,
)


def services_of(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


def secure_cookies(request: Request) -> bool:
    return served_securely(request)


def signed_in_person(request: Request) -> Person | None:
    """The person of this browser's session, if any (a database read: call it off the loop)."""
    return services_of(request).web_sessions.person_of(read_cookie(request, SESSION_COOKIE))


def signed_in_session(request: Request) -> SignedInSession | None:
    """This browser's live session (who, and since when), if any (off the loop, as above)."""
    return services_of(request).web_sessions.session_of(read_cookie(request, SESSION_COOKIE))


def set_session_cookie(request: Request, response: Response, value: str) -> None:
    lifetime = services_of(request).web_sessions.lifetime
    secure = secure_cookies(request)
    response.set_cookie(
        cookie_name(SESSION_COOKIE, secure=secure),
        value,
        max_age=int(lifetime.total_seconds()),
        httponly=True,
        # Lax: the cookie must come along when an app sends the browser to /oauth/authorize.
        samesite="lax",
        secure=secure,
        path="/",
    )


def set_device_cookie(request: Request, response: Response, value: str) -> None:
    """The browser's device token for the account it signed in to (ADR 0034)."""
    secure = secure_cookies(request)
    response.set_cookie(
        cookie_name(DEVICE_COOKIE, secure=secure),
        value,
        max_age=TRUSTED_DAYS * 86400,
        httponly=True,
        samesite="strict",
        secure=secure,
        path="/",
    )


def forget_session_cookie(request: Request, response: Response) -> None:
    secure = secure_cookies(request)
    response.delete_cookie(
        cookie_name(SESSION_COOKIE, secure=secure), path="/", secure=secure, httponly=True
    )


def session_cookie(request: Request) -> str | None:
    return read_cookie(request, SESSION_COOKIE)
