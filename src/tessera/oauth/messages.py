"""What crosses between the web layer and the OAuth server: plain snapshots, no framework."""

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from tessera.core.people import Person
from tessera.core.scope_words import ScopeLine
from tessera.core.sign_in_methods import SignInMethod


@dataclass(frozen=True, slots=True)
class OAuthRequest:
    method: str
    #: The full URL as the client used it (scheme, host, path, query).
    url: str
    #: Header names in lower case.
    headers: dict[str, str]
    query: dict[str, list[str]] = field(default_factory=dict)
    form: dict[str, list[str]] = field(default_factory=dict)
    #: A JSON body (dynamic client registration, RFC 7591): the object as read, else None.
    json: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class OAuthResponse:
    status: int
    headers: list[tuple[str, str]]
    body: str

    @property
    def location(self) -> str | None:
        return next((value for name, value in self.headers if name.lower() == "location"), None)


@dataclass(frozen=True, slots=True)
class ConsentRequest:
    """A valid authorization request, waiting for the person's decision."""

    client_name: str
    client_id: str
    #: What will be granted: the request's scope narrowed (core.oauth_scopes).
    scope: str
    redirect_uri: str
    #: A metadata-document client: the host its document came from (the page shows it).
    document_host: str | None = None
    #: The answer goes to this machine (``localhost``): any program on it could take it.
    loopback_redirect: bool = False
    #: The resources (RFC 8707) the token will be bound to; empty: Tessera's own API.
    resources: tuple[str, ...] = ()
    #: Each granted scope value and what it allows, in words, for the page (ADR 0042).
    scope_lines: tuple[ScopeLine, ...] = ()


@dataclass(frozen=True, slots=True)
class RefusedRequest:
    """An authorization request that must not redirect anywhere: show this on our error page."""

    error: str
    description: str


@dataclass(frozen=True, slots=True)
class FormPost:
    """An authorization response for ``response_mode=form_post``: a form the browser posts to
    the app's redirect URI (the web layer renders it)."""

    action: str
    fields: tuple[tuple[str, str], ...]


@dataclass(frozen=True, slots=True)
class SignInRequired:
    """The person must sign in (again) before the authorization request can go on."""

    #: The request to go on with after signing in (what asked for the sign-in taken out).
    resume: tuple[tuple[str, str], ...]
    #: Someone is signed in, but not freshly enough, or not the person the app expects.
    again: bool
    #: The app's ``login_hint``: an e-mail address to prefill, never trusted.
    login_hint: str | None = None


@dataclass(frozen=True, slots=True)
class SignedInPerson:
    """Who is signed in on the browser that sent the request, and since when."""

    person: Person
    signed_in_at: datetime
    #: How (``acr``, ``amr``); None for a session from before it was kept.
    method: SignInMethod | None = None
