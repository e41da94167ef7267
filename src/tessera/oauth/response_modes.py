"""How an authorization response reaches the app: ``response_mode`` (OAuth 2.0 Multiple
Response Type Encoding Practices §2.1, OAuth 2.0 Form Post Response Mode).

Authlib's code grant always answers in the query, and its ``form_post`` page (for the implicit
and hybrid grants) submits itself with an inline script that our page policy forbids. So the
grants answer as they do, and this module moves the answer's parameters to where the request
asked for them: the query (the code's default), the fragment (the token's default, allowed for
the code) or an HTML form the browser posts to the redirect URI (``form_post``), which the
web layer renders (``FormPost``). Errors travel the same way as successes.
"""

from enum import StrEnum
from urllib.parse import parse_qsl, urlsplit

from authlib.common.urls import add_params_to_uri

from tessera.oauth.messages import FormPost, OAuthResponse


class ResponseMode(StrEnum):
    QUERY = "query"
    FRAGMENT = "fragment"
    FORM_POST = "form_post"


RESPONSE_MODES = [mode.value for mode in ResponseMode]


class UnsupportedResponseMode(ValueError):
    """The request names a response mode it may not use (an ``invalid_request``)."""


def default_mode(response_type: str | None) -> ResponseMode:
    """A token never travels in the query (Multiple Response Types §3.0); a code does."""
    return ResponseMode.FRAGMENT if "token" in (response_type or "").split() else ResponseMode.QUERY


def requested_mode(
    response_mode: str | None, response_type: str | None, redirect_uri: str | None
) -> ResponseMode:
    """The mode to answer in.

    Raises:
        UnsupportedResponseMode: an unknown mode, ``query`` for a token, or ``form_post`` to a
            redirect URI a browser cannot post a form to (an app's own scheme).
    """
    fallback = default_mode(response_type)
    if not response_mode:
        return fallback
    if response_mode not in RESPONSE_MODES:
        raise UnsupportedResponseMode(f"The response_mode {response_mode[:40]!r} is not supported.")
    mode = ResponseMode(response_mode)
    if mode is ResponseMode.QUERY and fallback is ResponseMode.FRAGMENT:
        raise UnsupportedResponseMode("A token is never sent in the query: use fragment.")
    if mode is ResponseMode.FORM_POST and urlsplit(redirect_uri or "").scheme not in (
        "http",
        "https",
    ):
        raise UnsupportedResponseMode("form_post needs an http or https redirect URI.")
    return mode


def deliver(
    answer: OAuthResponse, redirect_uri: str, mode: ResponseMode
) -> OAuthResponse | FormPost:
    """The grant's redirect to ``redirect_uri`` again, its parameters where ``mode`` puts them.

    A redirect already in that mode, or anything else (a page, an answer that goes
    elsewhere), passes unchanged.
    """
    location = answer.location
    if answer.status != 302 or location is None:
        return answer
    parts = urlsplit(location)
    if parts[:3] != urlsplit(redirect_uri)[:3]:
        return answer
    if mode is (ResponseMode.FRAGMENT if parts.fragment else ResponseMode.QUERY):
        return answer
    params = added_parameters(location, redirect_uri)
    if mode is ResponseMode.FORM_POST:
        return FormPost(action=redirect_uri, fields=tuple(params))
    moved = add_params_to_uri(redirect_uri, params, fragment=mode is ResponseMode.FRAGMENT)
    headers = [(name, value) for name, value in answer.headers if name.lower() != "location"]
    return OAuthResponse(answer.status, [*headers, ("Location", moved)], answer.body)


def added_parameters(location: str, redirect_uri: str) -> list[tuple[str, str]]:
    """What the grant added to ``redirect_uri``: the whole fragment, or the query after the
    redirect URI's own parameters (Authlib appends its own after them)."""
    parts = urlsplit(location)
    if parts.fragment:
        return parse_qsl(parts.fragment, keep_blank_values=True)
    own = parse_qsl(urlsplit(redirect_uri).query, keep_blank_values=True)
    return parse_qsl(parts.query, keep_blank_values=True)[len(own) :]
