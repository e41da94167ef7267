"""Client keys and assertions for the private_key_jwt tests (ADR 0052): made with joserfc."""

import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from joserfc import jwt
from joserfc.jwk import ECKey, RSAKey

from tessera.services.container import Services
from tessera.services.oauth_clients import IssuedOAuthClient, NewOAuthClient
from tests.oauth.flows import WEB_CALLBACK

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


@dataclass(frozen=True)
class ClientKey:
    """A client's key pair: the private key signs, the public JWK is what Tessera keeps."""

    private: ECKey | RSAKey
    alg: str

    @property
    def kid(self) -> str:
        kid = self.private.kid
        assert kid is not None
        return kid

    @property
    def public_jwk(self) -> dict[str, Any]:
        return dict(self.private.as_dict(private=False))

    @property
    def private_jwk(self) -> dict[str, Any]:
        return {**self.private.as_dict(private=True), "alg": self.alg}


def ec_key(kid: str | None = None) -> ClientKey:
    key = ECKey.generate_key("P-256", parameters={"kid": kid or secrets.token_hex(4)})
    return ClientKey(key, "ES256")


def rsa_key(kid: str | None = None) -> ClientKey:
    key = RSAKey.generate_key(2048, parameters={"kid": kid or secrets.token_hex(4)})
    return ClientKey(key, "RS256")


def jwks(*keys: ClientKey) -> dict[str, Any]:
    return {"keys": [key.public_jwk for key in keys]}


def key_client(
    services: Services,
    *,
    keys: Mapping[str, Any] | None = None,
    jwks_uri: str | None = None,
    name: str = "Key App",
) -> IssuedOAuthClient:
    """A confidential client that signs assertions (no secret): inline keys or a jwks_uri."""
    return services.oauth_clients.create(
        NewOAuthClient(
            name=name,
            redirect_uris=[WEB_CALLBACK],
            token_endpoint_auth_method="private_key_jwt",
            jwks=keys,
            jwks_uri=jwks_uri,
        )
    )


def assertion(
    key: ClientKey,
    client_id: str,
    audience: str | list[str],
    *,
    lifetime: int = 60,
    header: Mapping[str, Any] | None = None,
    **claims: Any,
) -> str:
    """A client assertion as RFC 7523 §3 describes it; ``claims`` override (None removes)."""
    now = int(time.time())
    values: dict[str, Any] = {
        "iss": client_id,
        "sub": client_id,
        "aud": audience,
        "iat": now,
        "exp": now + lifetime,
        "jti": secrets.token_urlsafe(16),
    }
    values.update(claims)
    values = {name: value for name, value in values.items() if value is not None}
    protected = {"alg": key.alg, "kid": key.kid, **(header or {})}
    return jwt.encode(protected, values, key.private, algorithms=[protected["alg"]])


def assertion_form(value: str, **extra: str) -> dict[str, str]:
    return {"client_assertion_type": ASSERTION_TYPE, "client_assertion": value, **extra}
