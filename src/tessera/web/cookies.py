"""Tessera's browser cookies: their names, how they are read, and the CSRF token bound to them.

Served securely (the public URL is ``https://``, or a trusted proxy says the request came over
https), each cookie is ``Secure`` and named with the ``__Host-`` prefix, which a browser
accepts only from a secure origin, for the whole host (``Path=/``, no ``Domain``): a sibling
subdomain cannot plant one (cookie tossing). Over plain http (development on loopback) the
plain names are used; a request is read with the names of how it is served, never both.

The CSRF token a form or the ``X-DeskPRO-Request-Token`` header must carry is bound to the
browser's session: an HMAC, keyed by the CSRF cookie's secret, of the session cookie (empty
before sign-in). A token from before sign-in, or from another session, does not pass; the CSRF
secret is replaced at sign-in too.
"""

import hashlib
import hmac

from starlette.requests import HTTPConnection

#: The login session (HttpOnly, SameSite=Lax): Deskpro's ``agent_session`` on the API.
SESSION_COOKIE = "tessera_session"
#: The CSRF secret (HttpOnly, SameSite=Strict).
CSRF_COOKIE = "tessera_csrf"
#: This browser signed in to an account before (HttpOnly, SameSite=Strict): its attempts for
#: that account have a budget of their own (ADR 0034).
DEVICE_COOKIE = "tessera_device"
#: An API request authenticated by the session cookie and changing something must carry the
#: CSRF token in this header (Deskpro v1's name for its request token).
CSRF_HEADER = "x-deskpro-request-token"
_SECURE_PREFIX = "__Host-"


def served_securely(request: HTTPConnection) -> bool:
    """Whether the browser talks to us over https (the public URL, or a trusted proxy says)."""
    if request.url.scheme == "https":
        return True
    public_url: str = request.app.state.services.site.public_url
    return public_url.startswith("https://")


def cookie_name(base: str, *, secure: bool) -> str:
    return _SECURE_PREFIX + base if secure else base


def read_cookie(request: HTTPConnection, base: str) -> str | None:
    """The cookie ``base`` under the name this request is served with."""
    return request.cookies.get(cookie_name(base, secure=served_securely(request)))


def bound_csrf_token(csrf_secret: str, session: str | None) -> str:
    """The token forms and the header carry: the session, signed with the CSRF secret."""
    message = b"tessera-csrf:" + (session or "").encode()
    return hmac.new(csrf_secret.encode(), message, hashlib.sha256).hexdigest()


def csrf_matches(request: HTTPConnection, submitted: str | None) -> bool:
    """Whether ``submitted`` is this browser's CSRF token for its current session."""
    secret = read_cookie(request, CSRF_COOKIE)
    if not secret or not submitted:
        return False
    expected = bound_csrf_token(secret, read_cookie(request, SESSION_COOKIE))
    return hmac.compare_digest(expected.encode(), submitted.encode())
