"""Dynamic client registration (RFC 7591, RFC 7592): what a client may register, in words.

Authlib's endpoints read the JSON and check each field's type (``oauth.registration``); here,
without I/O, Tessera's own rules turn the metadata into what a client row holds, the same
rules an admin's client meets (ADR 0045):

- ``token_endpoint_auth_method``: ``none`` (a public client: no secret, PKCE),
  ``client_secret_basic`` / ``client_secret_post`` (a secret is issued; RFC 7591 §2's default
  is ``client_secret_basic``), or ``private_key_jwt`` (no secret: exactly one of ``jwks_uri``
  and ``jwks`` holds the public keys its assertions are checked with, ADR 0052; without that
  method, keys are not kept: Tessera uses them for nothing else);
- ``grant_types``: ``authorization_code`` (default), or the device grant, each with
  ``refresh_token`` if asked; implicit, password and client credentials are refused;
- ``response_types``: ``code`` for the code grant, nothing for the device grant;
- ``redirect_uris``: required for the code grant, under the console's rule (ADR 0019);
- ``client_name``: at most 200 characters; a default when absent.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from tessera.core.client_keys import KeysRefused, jwks_uri_problem, parse_jwks
from tessera.core.errors import FieldErrors
from tessera.core.oauth_clients import GrantType, check_redirect_uris

DEVICE_CODE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
#: What a registered client may name, by grant.
_CODE_GRANTS = frozenset({"authorization_code", "refresh_token"})
_DEVICE_GRANTS = frozenset({DEVICE_CODE_GRANT, "refresh_token"})
AUTH_METHODS = ("none", "client_secret_basic", "client_secret_post", "private_key_jwt")
DEFAULT_CLIENT_NAME = "Registered app"
MAX_CLIENT_NAME = 200
#: RFC 7591 §2 fields kept as they were sent (besides the columns), for reading back.
KEPT_FIELDS = (
    "client_uri",
    "logo_uri",
    "tos_uri",
    "policy_uri",
    "contacts",
    "software_id",
    "software_version",
    "scope",
)


class RegistrationMode(StrEnum):
    """The operator's switch (``TESSERA_OAUTH_REGISTRATION``)."""

    OFF = "off"
    #: Only with an initial access token an admin made (an invitation to register).
    INVITED = "initial_token"
    #: Anyone may register (rate-limited per address).
    OPEN = "open"


class RegistrationRefused(Exception):
    """RFC 7591 §3.2.2: ``error`` is ``invalid_redirect_uri`` or ``invalid_client_metadata``."""

    def __init__(self, error: str, description: str) -> None:
        super().__init__(description)
        self.error = error
        self.description = description


@dataclass(frozen=True, slots=True)
class Registration:
    """What a registration (or its replacement, RFC 7592 §2.2) asks for, judged."""

    name: str
    redirect_uris: tuple[str, ...]
    grant_type: GrantType
    is_public: bool
    #: ``token_endpoint_auth_method``, ``grant_types``, ``response_types`` and ``KEPT_FIELDS``.
    metadata: Mapping[str, Any] = field(default_factory=dict)
    #: ``private_key_jwt``: no secret; its public keys at ``jwks_uri`` or in ``jwks``.
    private_key_jwt: bool = False
    jwks_uri: str | None = None
    jwks: Mapping[str, Any] | None = None


def judge_registration(
    claims: Mapping[str, Any], *, allow_insecure_redirects: bool = False
) -> Registration:
    """The client that RFC 7591 metadata (already type-checked) describes, or a refusal."""
    method = claims.get("token_endpoint_auth_method") or "client_secret_basic"
    if method not in AUTH_METHODS:
        raise RegistrationRefused(
            "invalid_client_metadata",
            "token_endpoint_auth_method must be none, client_secret_basic, client_secret_post "
            "or private_key_jwt.",
        )
    key_jwt = method == "private_key_jwt"
    jwks_uri, jwks = judge_keys(claims) if key_jwt else (None, None)
    grant_types = list(claims.get("grant_types") or ["authorization_code"])
    device = DEVICE_CODE_GRANT in grant_types
    allowed = _DEVICE_GRANTS if device else _CODE_GRANTS
    refused = [grant for grant in grant_types if grant not in allowed]
    if refused:
        raise RegistrationRefused(
            "invalid_client_metadata",
            "grant_types may be authorization_code or the device code grant (not both), "
            f"each with refresh_token; not {', '.join(sorted(refused))}.",
        )
    if not device and "authorization_code" not in grant_types:
        raise RegistrationRefused(
            "invalid_client_metadata", "grant_types must include authorization_code."
        )
    response_types = list(claims.get("response_types") or ([] if device else ["code"]))
    if response_types != ([] if device else ["code"]):
        raise RegistrationRefused(
            "invalid_client_metadata",
            "response_types must be code for the code grant, and empty for the device grant.",
        )
    uris = list(claims.get("redirect_uris") or [])
    checked: list[str] = []
    if uris or not device:
        problems = FieldErrors()
        valid = check_redirect_uris(problems, uris, allow_insecure_http=allow_insecure_redirects)
        if valid is None:
            raise RegistrationRefused(
                "invalid_redirect_uri",
                "redirect_uris must hold 1 to 20 URIs: https, http to 127.0.0.1, [::1] or "
                "localhost (any port at use), or the app's own scheme; no fragments or "
                "wildcards.",
            )
        checked = valid
    name = str(claims.get("client_name") or "").strip() or DEFAULT_CLIENT_NAME
    if len(name) > MAX_CLIENT_NAME:
        raise RegistrationRefused(
            "invalid_client_metadata", f"client_name is longer than {MAX_CLIENT_NAME} characters."
        )
    metadata: dict[str, Any] = {
        "token_endpoint_auth_method": method,
        "grant_types": grant_types,
        "response_types": response_types,
    }
    metadata.update({key: claims[key] for key in KEPT_FIELDS if claims.get(key) is not None})
    return Registration(
        name=name,
        redirect_uris=tuple(checked),
        grant_type=GrantType.DEVICE_CODE if device else GrantType.AUTHORIZATION_CODE,
        is_public=method == "none",
        metadata=metadata,
        private_key_jwt=key_jwt,
        jwks_uri=jwks_uri,
        jwks=jwks,
    )


def judge_keys(claims: Mapping[str, Any]) -> tuple[str | None, dict[str, Any] | None]:
    """A private_key_jwt client's keys: exactly one of ``jwks_uri`` and ``jwks`` (RFC 7591
    §2: never both)."""
    uri, keys = claims.get("jwks_uri"), claims.get("jwks")
    if bool(uri) == bool(keys):
        raise RegistrationRefused(
            "invalid_client_metadata",
            "A private_key_jwt client registers exactly one of jwks_uri and jwks.",
        )
    if uri:
        problem = jwks_uri_problem(str(uri))
        if problem is not None:
            raise RegistrationRefused("invalid_client_metadata", problem)
        return str(uri), None
    try:
        return None, parse_jwks(keys)
    except KeysRefused as refused:
        raise RegistrationRefused("invalid_client_metadata", refused.reason) from None


@dataclass(frozen=True, slots=True)
class InitialAccessToken:
    """An admin's permission to register clients (RFC 7591 §3), never its value."""

    id: int
    note: str
    created_at: datetime
    expires_at: datetime
    single_use: bool
    uses: int
    used_at: datetime | None
    revoked_at: datetime | None
    created_by: int | None

    def is_usable(self, now: datetime) -> bool:
        if self.revoked_at is not None or self.expires_at <= now:
            return False
        return not (self.single_use and self.uses > 0)
