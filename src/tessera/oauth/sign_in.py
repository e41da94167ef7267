"""What every sign-in protocol of a user source offers the web flow (ADR 0047, ADR 0049).

A protocol ``start``s a sign-in (where to send the browser, and what to keep until it comes
back: sealed in the browser's cookie by the web flow) and ``finish``es it with what the browser
brought back (a redirect's query, or a posted form), returning who the provider vouched for.
OpenID Connect (``oauth.user_sources``) and SAML 2.0 (``oauth.saml_sign_in``) differ only
here; the pages, E8/E9, the cookie and ``UserSourceService.resolve`` are shared.
"""

import shutil
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from tessera.core.user_sources import ProviderIdentity, SourceKind, UserSource


class ProviderUnavailable(Exception):
    """The provider could not be reached or answered with something unusable."""


class ProviderRefused(Exception):
    """The provider's answer does not sign anybody in (an error, a forged or stale token)."""


@dataclass(frozen=True, slots=True)
class Begun:
    """Where to send the browser, and what to keep (strings) until it comes back."""

    url: str
    kept: dict[str, str]


@dataclass(frozen=True, slots=True)
class OneTime:
    """A proof the provider gave once and that must not sign anybody in twice (a SAML
    assertion): its id, and until when it would otherwise still be accepted."""

    id: str
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class Vouched:
    """Who the provider vouched for; ``once`` when the proof must be used only once."""

    identity: ProviderIdentity
    once: OneTime | None = None


class SignInProtocol(Protocol):
    def start(self, source: UserSource, return_url: str) -> Begun:
        """The request to send the browser to; ``return_url`` is where the answer comes.

        Raises:
            ProviderUnavailable: the provider cannot be asked now.
        """
        ...

    def finish(
        self,
        source: UserSource,
        client_secret: str | None,
        kept: Mapping[str, str],
        return_url: str,
        answer: Mapping[str, str],
    ) -> Vouched:
        """Who the provider says came back to ``return_url`` with ``answer`` (the query or
        form parameters).

        Raises:
            ProviderRefused: the answer does not check out.
            ProviderUnavailable: the provider could not be asked, or answered nonsense.
        """
        ...


def xmlsec1_binary() -> str | None:
    """Where Debian's ``xmlsec1`` is (pysaml2 verifies SAML signatures with it); None if absent."""
    return shutil.which("xmlsec1")


def xmlsec1_missing(sources: Iterable[UserSource]) -> str | None:
    """What to tell the operator when a SAML source exists but xmlsec1 does not; else None."""
    saml = [f"{source.id} ({source.title})" for source in sources if source.kind is SourceKind.SAML]
    if not saml or xmlsec1_binary() is not None:
        return None
    return (
        f"SAML user source {', '.join(saml)} is configured but xmlsec1 is not installed: nobody"
        " can sign in through it until it is (Debian: apt-get install xmlsec1)"
    )
