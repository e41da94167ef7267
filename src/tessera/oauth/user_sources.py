"""Signing in through an OpenID provider: Tessera as the relying party (ADR 0047).

The authorization code flow of OpenID Connect Core §3.1 with PKCE (RFC 7636, S256), ``state``
and ``nonce``. Authlib builds the authorization request, checks the redirect's ``state`` and
error, and prepares the token request; joserfc checks the ID token against the provider's
published keys (signature, ``iss``, ``aud``/``azp``, ``exp``, ``iat``, ``nonce``). The few HTTP
calls (discovery, keys, token, userinfo) go through the standard library with a short timeout
and no redirects: Tessera's server has no HTTP client library, and these are four GETs and one
POST. Discovery and keys are kept a few minutes per issuer; an unknown ``kid`` refetches the
keys once (the provider rotated).
"""

import base64
import json
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from typing import Any, cast
from urllib.parse import urlencode

from authlib.common.errors import AuthlibBaseError
from authlib.common.security import generate_token
from authlib.oauth2.rfc6749.parameters import (
    parse_authorization_code_response,
    prepare_grant_uri,
)
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet, KeySetSerialization

from tessera.core.user_sources import ProviderIdentity, UserSource
from tessera.oauth.sign_in import Begun, ProviderRefused, ProviderUnavailable, Vouched

__all__ = ["OpenIdSignIn", "ProviderRefused", "ProviderUnavailable"]

#: Signature algorithms an ID token may use: asymmetric only (no ``none``, no shared secret).
ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "EdDSA"]
#: How long discovery documents and key sets are kept per issuer.
CACHE_SECONDS = 300
#: Clocks differ: ``exp`` and ``iat`` are judged with this much slack.
LEEWAY_SECONDS = 60
#: The longest answer read from a provider.
MAX_ANSWER_BYTES = 512 * 1024
#: Scopes asked of every provider; the groups claim is asked for as a scope when offered.
BASE_SCOPES = ("openid", "email", "profile")


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_OPENER = urllib.request.build_opener(_NoRedirects)


class OpenIdSignIn:
    def __init__(self, *, timeout: float = 10.0) -> None:
        self._timeout = timeout
        self._lock = threading.Lock()
        self._cache: dict[str, tuple[float, dict[str, Any]]] = {}

    def start(self, source: UserSource, return_url: str) -> Begun:
        """The authorization request to send the browser to (``return_url``: the redirect URI);
        keeps the ``state``, ``nonce`` and PKCE verifier.

        Raises:
            ProviderUnavailable: discovery failed.
        """
        redirect_uri = return_url
        metadata = self._discovery(source.issuer)
        state, nonce, verifier = generate_token(32), generate_token(32), generate_token(64)
        url = prepare_grant_uri(
            _endpoint(metadata, "authorization_endpoint"),
            source.client_id,
            "code",
            redirect_uri=redirect_uri,
            scope=" ".join(_scopes(source, metadata)),
            state=state,
            nonce=nonce,
            code_challenge=create_s256_code_challenge(verifier),
            code_challenge_method="S256",
        )
        return Begun(url, {"state": state, "nonce": nonce, "verifier": verifier})

    def finish(
        self,
        source: UserSource,
        client_secret: str | None,
        kept: Mapping[str, str],
        return_url: str,
        answer: Mapping[str, str],
    ) -> Vouched:
        """Who the provider says came back to ``return_url`` (the redirect URI) with ``answer``
        (its query, or its form with ``response_mode=form_post``).

        Raises:
            ProviderRefused: an error answer, a wrong ``state``, or an ID token that does not
                check out.
            ProviderUnavailable: the provider could not be reached, or answered nonsense.
        """
        redirect_uri = return_url
        try:
            parsed = parse_authorization_code_response(
                f"{redirect_uri}?{urlencode(answer)}", state=kept["state"]
            )
        except AuthlibBaseError as error:
            raise ProviderRefused(f"the provider answered {error.error}") from None
        metadata = self._discovery(source.issuer)
        form = {
            "grant_type": "authorization_code",
            "code": str(parsed["code"]),
            "redirect_uri": redirect_uri,
            "code_verifier": kept["verifier"],
        }
        headers = {"Accept": "application/json"}
        if client_secret:
            # client_secret_basic (RFC 6749 §2.3.1): both parts form-encoded, then Basic.
            pair = f"{_form(source.client_id)}:{_form(client_secret)}"
            headers["Authorization"] = "Basic " + base64.b64encode(pair.encode()).decode()
        else:
            form["client_id"] = source.client_id
        status, tokens = self._call(
            _endpoint(metadata, "token_endpoint"), data=urlencode(form).encode(), headers=headers
        )
        if status != 200:
            raise ProviderRefused(f"the token endpoint answered {status} {tokens.get('error')}")
        id_token = tokens.get("id_token")
        if not isinstance(id_token, str):
            raise ProviderRefused("the token answer has no ID token")
        claims = self._checked_claims(source, metadata, id_token, kept["nonce"])
        userinfo = metadata.get("userinfo_endpoint")
        access_token = tokens.get("access_token")
        if isinstance(userinfo, str) and isinstance(access_token, str):
            claims = {**self._userinfo(userinfo, access_token, claims["sub"]), **claims}
        return Vouched(_identity(source, claims))

    def _checked_claims(
        self, source: UserSource, metadata: Mapping[str, Any], id_token: str, nonce: str
    ) -> dict[str, Any]:
        keys = self._keys(metadata, refresh=False)
        try:
            try:
                decoded = jwt.decode(id_token, keys, algorithms=ALGORITHMS)
            except (ValueError, JoseError):
                # A key we have not seen: the provider may have rotated; look once more.
                decoded = jwt.decode(
                    id_token, self._keys(metadata, refresh=True), algorithms=ALGORITHMS
                )
            jwt.JWTClaimsRegistry(
                leeway=LEEWAY_SECONDS,
                iss={"essential": True, "value": source.issuer},
                aud={"essential": True, "value": source.client_id},
                sub={"essential": True},
                exp={"essential": True},
                iat={"essential": True},
                nonce={"essential": True, "value": nonce},
            ).validate(decoded.claims)
        except (ValueError, JoseError) as error:
            raise ProviderRefused(f"the ID token does not check out: {error}") from None
        claims = dict(decoded.claims)
        audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
        if len(audiences) > 1 and claims.get("azp") != source.client_id:
            # OpenID Connect Core §3.1.3.7, items 4 and 5.
            raise ProviderRefused("the ID token names other audiences without azp")
        return claims

    def _userinfo(self, url: str, access_token: str, subject: str) -> dict[str, Any]:
        status, claims = self._call(url, headers={"Authorization": f"Bearer {access_token}"})
        if status != 200:
            return {}
        if claims.get("sub") != subject:
            # OpenID Connect Core §5.3.2: another subject's claims must not be used.
            raise ProviderRefused("the userinfo answer is about someone else")
        return claims

    def _discovery(self, issuer: str) -> dict[str, Any]:
        cached = self._cached(f"discovery {issuer}")
        if cached is not None:
            return cached
        status, document = self._call(issuer + "/.well-known/openid-configuration")
        if status != 200:
            raise ProviderUnavailable(f"discovery answered {status}")
        if document.get("issuer") != issuer:
            # OpenID Connect Discovery §4.3: the document must name the issuer asked.
            raise ProviderUnavailable("the discovery document names another issuer")
        for name in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
            _endpoint(document, name)
        self._keep(f"discovery {issuer}", document)
        return document

    def _keys(self, metadata: Mapping[str, Any], *, refresh: bool) -> KeySet:
        url = _endpoint(metadata, "jwks_uri")
        document = None if refresh else self._cached(f"keys {url}")
        if document is None:
            status, document = self._call(url)
            if status != 200:
                raise ProviderUnavailable(f"the key set answered {status}")
            self._keep(f"keys {url}", document)
        try:
            return KeySet.import_key_set(cast(KeySetSerialization, document))
        except (ValueError, KeyError, TypeError, JoseError):
            raise ProviderUnavailable("the key set is not one") from None

    def _cached(self, key: str) -> dict[str, Any] | None:
        with self._lock:
            found = self._cache.get(key)
        if found is None or found[0] < time.monotonic():
            return None
        return found[1]

    def _keep(self, key: str, value: dict[str, Any]) -> None:
        with self._lock:
            self._cache[key] = (time.monotonic() + CACHE_SECONDS, value)

    def _call(
        self, url: str, *, data: bytes | None = None, headers: Mapping[str, str] | None = None
    ) -> tuple[int, dict[str, Any]]:
        """(status, JSON object) of a GET (or a form POST with ``data``)."""
        request = urllib.request.Request(  # noqa: S310 - the operator's https (or loopback) URL
            url, data=data, headers={"Accept": "application/json", **(headers or {})}
        )
        if data is not None:
            request.add_header("Content-Type", "application/x-www-form-urlencoded")
        try:
            with _OPENER.open(request, timeout=self._timeout) as response:
                status, body = response.status, response.read(MAX_ANSWER_BYTES + 1)
        except urllib.error.HTTPError as error:
            status, body = error.code, error.read(MAX_ANSWER_BYTES + 1)
        except (OSError, ValueError) as error:
            raise ProviderUnavailable(f"{url} could not be reached: {error}") from None
        if len(body) > MAX_ANSWER_BYTES:
            raise ProviderUnavailable(f"{url} answered too much")
        try:
            parsed = json.loads(body) if body else {}
        except ValueError:
            raise ProviderUnavailable(f"{url} answered something other than JSON") from None
        if not isinstance(parsed, dict):
            raise ProviderUnavailable(f"{url} answered something other than a JSON object")
        return status, parsed


def _form(value: str) -> str:
    return urlencode({"": value})[1:]


def _endpoint(metadata: Mapping[str, Any], name: str) -> str:
    value = metadata.get(name)
    if not isinstance(value, str) or not value.startswith(("https://", "http://")):
        raise ProviderUnavailable(f"the discovery document has no usable {name}")
    return value


def _scopes(source: UserSource, metadata: Mapping[str, Any]) -> list[str]:
    offered = metadata.get("scopes_supported")
    scopes = list(BASE_SCOPES)
    if isinstance(offered, list):
        scopes = [scope for scope in scopes if scope == "openid" or scope in offered]
        if source.groups_claim and source.groups_claim in offered:
            scopes.append(source.groups_claim)
    return scopes


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value.strip() else None


def _identity(source: UserSource, claims: Mapping[str, Any]) -> ProviderIdentity:
    groups: tuple[str, ...] = ()
    if source.groups_claim:
        raw = claims.get(source.groups_claim)
        if isinstance(raw, str):
            raw = [raw]
        if isinstance(raw, list):
            groups = tuple(group for group in raw if isinstance(group, str))
    verified = claims.get("email_verified")
    return ProviderIdentity(
        subject=str(claims["sub"]),
        email=_text(claims.get(source.email_claim)),
        # Some providers send "true" as a string.
        email_verified=verified is True or verified == "true",
        name=_text(claims.get(source.name_claim)),
        groups=groups,
    )
