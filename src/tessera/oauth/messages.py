"""What crosses between the web layer and the OAuth server: plain snapshots, no framework."""

from dataclasses import dataclass, field
from typing import Any


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
    scope: str
    redirect_uri: str
    #: A metadata-document client: the host its document came from (the page shows it).
    document_host: str | None = None
    #: The answer goes to this machine (``localhost``): any program on it could take it.
    loopback_redirect: bool = False


@dataclass(frozen=True, slots=True)
class RefusedRequest:
    """An authorization request that must not redirect anywhere: show this on our error page."""

    error: str
    description: str
