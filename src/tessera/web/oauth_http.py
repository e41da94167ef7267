"""The only bridge between Starlette and the OAuth server: requests in, responses out.

The form is read once, through Starlette's public API, into an ``OAuthRequest`` snapshot; the
OAuth step (database I/O, Authlib) runs in the thread pool; its ``OAuthResponse`` becomes a
Starlette response. ``Cache-Control: no-store`` comes from Authlib on token responses.
"""

from collections import defaultdict
from typing import Any

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response

from tessera.oauth.messages import OAuthRequest, OAuthResponse
from tessera.oauth.service import OAuthService

#: Never part of the OAuth request itself: our own form fields.
PAGE_FIELDS = {"csrf_token", "decision"}


def oauth_service(request: Request) -> OAuthService:
    service: OAuthService = request.app.state.oauth
    return service


def _header_name(name: str) -> str:
    # Authlib looks headers up by their canonical spelling ("Authorization").
    return "-".join(part.capitalize() for part in name.split("-"))


def _multi(items: list[tuple[str, str]]) -> dict[str, list[str]]:
    values: dict[str, list[str]] = defaultdict(list)
    for name, value in items:
        if name not in PAGE_FIELDS:
            values[name].append(value)
    return dict(values)


def snapshot(
    request: Request, form: FormData | None = None, *, json: dict[str, Any] | None = None
) -> OAuthRequest:
    form_items = [(k, v) for k, v in form.multi_items() if isinstance(v, str)] if form else []
    return OAuthRequest(
        method=request.method,
        url=str(request.url),
        headers={_header_name(name): value for name, value in request.headers.items()},
        query=_multi(list(request.query_params.multi_items())),
        form=_multi(form_items),
        json=json,
    )


def to_response(answer: OAuthResponse, extra_headers: dict[str, str] | None = None) -> Response:
    response = Response(answer.body, status_code=answer.status)
    for name, value in answer.headers:
        response.headers[name] = value
    for name, value in (extra_headers or {}).items():
        response.headers.setdefault(name, value)
    return response
