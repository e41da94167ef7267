"""Django: every request (or only the views decorated) checked by Tessera.

In ``settings.py``::

    TESSERA_GUARD = Guard("https://auth.example.com", stream_key=...)
    MIDDLEWARE = [..., "tessera.guard.django.TesseraMiddleware"]   # every view
    TESSERA_GUARD_EXEMPT = ["/health"]                             # optional

or, view by view, ``@guarded`` (``from tessera.guard.django import guarded``). The caller is
``request.tessera`` (an ``Identity``); a refusal is Tessera's own answer.
"""

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from tessera.guard.answers import Identity, Refusal
from tessera.guard.client import Guard
from tessera.guard.wsgi import check_environ

Handler = Callable[[HttpRequest], HttpResponse]


def _guard() -> Guard:
    guard = getattr(settings, "TESSERA_GUARD", None)
    if not isinstance(guard, Guard):
        raise RuntimeError("settings.TESSERA_GUARD must be a tessera.guard.Guard")
    return guard


def _check(request: HttpRequest) -> HttpResponse | None:
    if isinstance(getattr(request, "tessera", None), Identity):
        return None
    answer = check_environ(_guard(), request.META)
    if isinstance(answer, Refusal):
        return refusal_response(answer)
    request.tessera = answer
    return None


class TesseraMiddleware:
    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response
        self._exempt = frozenset(getattr(settings, "TESSERA_GUARD_EXEMPT", ()))

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path not in self._exempt:
            refused = _check(request)
            if refused is not None:
                return refused
        return self.get_response(request)


def guarded(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Check the request with Tessera before this view runs."""

    @wraps(view)
    def checked(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        refused = _check(request)
        return refused if refused is not None else view(request, *args, **kwargs)

    return checked


def refusal_response(refusal: Refusal) -> HttpResponse:
    response = HttpResponse(refusal.body, status=refusal.status)
    for name, value in refusal.headers:
        if name == "www-authenticate" and "WWW-Authenticate" in response:
            # Django keeps one value per header: join challenges as RFC 9110 §11.6.1 allows.
            value = f"{response['WWW-Authenticate']}, {value}"
        response[name] = value
    return response
