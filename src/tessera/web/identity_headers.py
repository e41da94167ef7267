"""Who the caller is, as headers on an allowed forward-auth answer, for the guarded API.

The proxy copies them onto the request it passes upstream (nginx ``auth_request_set``, Traefik
``authResponseHeaders``, Caddy ``copy_headers``, Envoy ``allowed_upstream_headers``) after
deleting any copy the client sent. Names come in two presets (``TESSERA_IDENTITY_HEADERS``):
``tessera`` (``X-Tessera-*``) and ``authelia``, whose ``Remote-User``, ``Remote-Email`` and
``Remote-Name`` apps written for Authelia already read (the person's e-mail is the user name).

Values are ASCII: the e-mail and name are percent-encoded UTF-8 when they hold anything but
printable ASCII (or a ``%``, so that decoding is always right): ``Zoë`` → ``Zo%C3%AB``.
"""

from dataclasses import dataclass
from functools import lru_cache
from typing import Literal
from urllib.parse import quote

from tessera.core.principals import AuthMethod, Principal

IdentityPreset = Literal["tessera", "authelia"]
#: Printable ASCII but ``%``: what ``quote`` leaves alone.
_KEPT = "".join(chr(code) for code in range(32, 127) if chr(code) != "%")


@dataclass(frozen=True, slots=True)
class IdentityHeaderNames:
    person_id: bytes = b"X-Tessera-Person-Id"
    auth_method: bytes = b"X-Tessera-Auth-Method"
    credential: bytes = b"X-Tessera-Credential"
    client_id: bytes = b"X-Tessera-Client-Id"
    scopes: bytes = b"X-Tessera-Scopes"
    #: The person's primary e-mail, under each of these names.
    email: tuple[bytes, ...] = (b"X-Tessera-Email",)
    name: bytes = b"X-Tessera-Name"


IDENTITY_PRESETS: dict[IdentityPreset, IdentityHeaderNames] = {
    "tessera": IdentityHeaderNames(),
    "authelia": IdentityHeaderNames(email=(b"Remote-User", b"Remote-Email"), name=b"Remote-Name"),
}


#: People whose headers are kept ready: as many as the credential cache holds by default.
_PEOPLE_REMEMBERED = 100_000


class IdentityHeaders:
    """Builds an allowed answer's identity headers; a person's part is made once and kept."""

    def __init__(self, names: IdentityHeaderNames) -> None:
        self.names = names
        # Keyed by the values themselves: a changed name or e-mail is another entry.
        self._person = lru_cache(maxsize=_PEOPLE_REMEMBERED)(self._person_headers)

    def __call__(self, principal: Principal) -> list[tuple[bytes, bytes]]:
        names, person = self.names, principal.person
        if principal.auth_method is AuthMethod.API_KEY:
            credential = f"key:{principal.api_key_id}"
        else:
            credential = f"token:{principal.api_token_id}"
        headers = [
            (names.auth_method, principal.auth_method.value.encode()),
            (names.credential, credential.encode()),
        ]
        if principal.oauth_client_id is not None:
            headers.append((names.client_id, principal.oauth_client_id.encode("latin-1")))
        scope = principal.token_scope
        if scope is not None:
            headers.append((names.scopes, scope.encode()))
        headers.extend(self._person(person.id, person.primary_email, person.name))
        return headers

    def _person_headers(
        self, person_id: int, email: str, name: str
    ) -> tuple[tuple[bytes, bytes], ...]:
        names, encoded = self.names, header_text(email)
        return (
            (names.person_id, str(person_id).encode()),
            *((header, encoded) for header in names.email),
            (names.name, header_text(name)),
        )


def header_text(value: str) -> bytes:
    """The value itself if printable ASCII without ``%``, else percent-encoded UTF-8."""
    if value.isascii() and value.isprintable() and "%" not in value:
        return value.encode("ascii")
    return quote(value, safe=_KEPT).encode("ascii")
