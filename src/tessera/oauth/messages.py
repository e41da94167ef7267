"""What crosses between the web layer and the OAuth server: plain snapshots, no framework."""

from dataclasses import dataclass, field

from tessera.core.scope_words import ScopeLine


@dataclass(frozen=True, slots=True)
class OAuthRequest:
    method: str
    #: The full URL as the client used it (scheme, host, path, query).
    url: str
    #: Header names in lower case.
    headers: dict[str, str]
    query: dict[str, list[str]] = field(default_factory=dict)
    form: dict[str, list[str]] = field(default_factory=dict)


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
    #: Each granted scope value and what it allows, in words, for the page (ADR 0042).
    scope_lines: tuple[ScopeLine, ...] = ()


@dataclass(frozen=True, slots=True)
class RefusedRequest:
    """An authorization request that must not redirect anywhere: show this on our error page."""

    error: str
    description: str
