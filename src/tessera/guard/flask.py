"""Flask: every request (or only the views marked) checked by Tessera.

::

    guard = Guard("https://auth.example.com", stream_key=...)
    tessera = TesseraFlask(app, guard)              # every view guarded

    tessera = TesseraFlask(app, guard, every_view=False)
    @app.get("/tickets")
    @tessera.guarded                                # only the views marked
    def tickets(): return {"caller": g.tessera.email}

The caller is ``flask.g.tessera`` (an ``Identity``); a refusal is Tessera's own answer.
"""

from collections.abc import Callable, Iterable
from functools import wraps
from typing import Any, TypeVar, cast

from flask import Flask, Response, g, request

from tessera.guard.answers import Identity, Refusal
from tessera.guard.client import Guard
from tessera.guard.wsgi import check_environ

View = TypeVar("View", bound=Callable[..., Any])


class TesseraFlask:
    def __init__(
        self, app: Flask, guard: Guard, *, every_view: bool = True, exempt: Iterable[str] = ()
    ) -> None:
        self.guard = guard
        self._exempt = frozenset(exempt)
        app.extensions["tessera"] = self
        if every_view:
            app.before_request(self._before_request)

    def _before_request(self) -> Response | None:
        if request.endpoint in self._exempt or request.path in self._exempt:
            return None
        return self._check()

    def _check(self) -> Response | None:
        if isinstance(getattr(g, "tessera", None), Identity):
            return None
        answer = check_environ(self.guard, request.environ)
        if isinstance(answer, Refusal):
            return refusal_response(answer)
        g.tessera = answer
        return None

    def guarded(self, view: View) -> View:
        """Check the request with Tessera before this view runs."""

        @wraps(view)
        def checked(*args: Any, **kwargs: Any) -> Any:
            refused = self._check()
            return refused if refused is not None else view(*args, **kwargs)

        return cast(View, checked)


def refusal_response(refusal: Refusal) -> Response:
    response = Response(refusal.body, status=refusal.status)
    response.headers.clear()
    for name, value in refusal.headers:
        response.headers.add(name, value)
    return response
