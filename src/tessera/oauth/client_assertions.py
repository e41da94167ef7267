"""``private_key_jwt``: a client proves itself with a JWT signed by its key (ADR 0052).

Authlib's ``JWTBearerClientAssertion`` (RFC 7523 §2.2, §3) reads the assertion, finds the
client by ``sub``, verifies the signature with the key we give it, and checks ``iss`` = ``sub``,
``aud`` among ours, ``exp`` (and ``nbf``/``iat`` when present) and that a ``jti`` is there.
Ours, because Authlib leaves them to the server:

- the key: the client's inline ``jwks`` or the set at its ``jwks_uri`` as kept by
  ``ClientKeySets`` (when it must be fetched first, ``KeysNeeded`` ends the step), picked by
  ``kid``;
- the algorithms: only ``ASSERTION_ALGORITHMS`` (Authlib would accept joserfc's defaults, HS256
  among them);
- the lifetime: ``exp`` at most ``MAX_ASSERTION_LIFETIME`` ahead, so a ``jti`` is remembered
  for a bounded time;
- the ``jti`` used once, per client, in the database (``store.client_assertions``), so that
  every process agrees;
- a ``client_id`` sent beside the assertion must be the one it names;
- refusals are ``invalid_client`` with a description in words, as our other methods answer.
"""

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, cast

from authlib.oauth2.rfc6749.errors import InvalidClientError
from authlib.oauth2.rfc7523 import JWTBearerClientAssertion
from joserfc import jws, jwt
from joserfc.errors import InvalidKeyIdError, JoseError
from joserfc.jwk import GuestProtocol, Key, KeySet, KeySetSerialization

from tessera.core.client_keys import (
    ASSERTION_ALGORITHMS,
    ASSERTION_TYPE,
    CLOCK_LEEWAY,
    MAX_ASSERTION_LIFETIME,
    MAX_JTI_LENGTH,
    KeysRefused,
    jti_digest,
)
from tessera.oauth.context import OAuthContext
from tessera.oauth.models import ClientModel

#: Remember a ``jti`` for a client (its row id) until the given time; False: used before.
UseOnce = Callable[[int, bytes, datetime], bool]

METHOD = "private_key_jwt"


def refused(description: str) -> InvalidClientError:
    return InvalidClientError(status_code=400, description=description)


class PrivateKeyJWT(JWTBearerClientAssertion):
    CLIENT_AUTH_METHOD = METHOD

    def __init__(self, context: OAuthContext, use_once: UseOnce) -> None:
        super().__init__(validate_jti=True, leeway=int(CLOCK_LEEWAY.total_seconds()))
        self._context = context
        self._use_once = use_once
        #: The client the assertion names, once found (its ``jti`` is remembered under it).
        self._client: ClientModel | None = None

    def __call__(self, query_client: Any, request: Any) -> ClientModel | None:
        form = request.form
        assertion = form.get("client_assertion")
        if form.get("client_assertion_type") != ASSERTION_TYPE or not assertion:
            return None
        named = form.get("client_id")
        if named:
            # Before anything is verified or spent: one request names one client.
            _headers, claims = self.extract_assertion(assertion)
            if claims.get("sub") != named:
                raise refused("The client_id is not the client the client assertion names.")
        client: ClientModel | None = super().__call__(query_client, request)
        return client

    def get_audiences(self) -> list[str]:
        """RFC 7523 §3: the authorization server. OpenID Connect Core §9 names the token
        endpoint; the issuer is accepted too (RFC 7523 and the draft that replaces it), and the
        revocation and introspection endpoints for assertions made for them."""
        issuer = self._context.issuer.rstrip("/")
        return [
            issuer,
            f"{issuer}/",
            f"{issuer}/oauth/token",
            f"{issuer}/oauth/revoke",
            f"{issuer}/oauth/introspect",
        ]

    def resolve_client_public_key(self, client: ClientModel) -> Callable[[GuestProtocol], Key]:
        self._client = client
        if not client.client.private_key_jwt:
            raise refused("This client does not authenticate with private_key_jwt.")
        return lambda token: self._pick(client, token)

    def _pick(self, client: ClientModel, token: GuestProtocol) -> Key:
        kid = token.headers().get("kid")
        if kid is not None and not isinstance(kid, str):
            raise refused("The client assertion's kid is not a string.")
        keys = self._key_set(client, kid)
        try:
            return keys.get_by_kid(kid)
        except InvalidKeyIdError:
            if kid is None:
                raise refused(
                    "The client assertion names no kid, and the client has several keys."
                ) from None
            raise refused(
                "The client assertion is signed with a key (kid) the client's JWK Set "
                "does not hold."
            ) from None

    def _key_set(self, client: ClientModel, kid: str | None) -> KeySet:
        inline, uri = client.client.jwks, client.client.jwks_uri
        try:
            if inline is not None:
                # Checked as a public JWK Set when an admin or the client gave it.
                return KeySet.import_key_set(cast(KeySetSerialization, dict(inline)))
            key_sets = self._context.client_keys
            if uri is None or key_sets is None:
                raise refused("The client has no public keys to check its assertion with.")
            # Kept only: a fetch would hold the transaction; KeysNeeded ends it, and the
            # service fetches the set and runs the step again.
            kept = key_sets.kept(uri, kid)  # checked as a public JWK Set when fetched
            return KeySet.import_key_set(cast(KeySetSerialization, kept))
        except KeysRefused as problem:
            raise refused(f"The client's JWK Set could not be used: {problem.reason}") from None
        except (JoseError, ValueError):
            raise refused("The client's JWK Set could not be read.") from None

    def process_assertion_claims(self, assertion: str, resolve_key: Any) -> Any:
        try:
            token = jwt.decode(assertion, resolve_key, algorithms=list(ASSERTION_ALGORITHMS))
        except JoseError as error:
            raise refused(
                f"The client assertion did not verify ({error.error}): sign it with the "
                f"client's key, using one of {', '.join(ASSERTION_ALGORITHMS)}."
            ) from None
        self.verify_claims(token.claims)
        return token.claims

    def verify_claims(self, claims: Any) -> None:
        now = self._context.clock.now().timestamp()
        exp = claims.get("exp")
        if isinstance(exp, int | float) and not isinstance(exp, bool):
            longest = (MAX_ASSERTION_LIFETIME + CLOCK_LEEWAY).total_seconds()
            if exp - now > longest:
                raise refused(
                    "The client assertion lives too long: its exp may be at most "
                    f"{int(MAX_ASSERTION_LIFETIME.total_seconds())} seconds ahead."
                )
        jti = claims.get("jti")
        if jti is not None and (not isinstance(jti, str) or not 0 < len(jti) <= MAX_JTI_LENGTH):
            raise refused(f"The client assertion's jti must be a string of 1 to {MAX_JTI_LENGTH}.")
        try:
            super().verify_claims(claims)
        except InvalidClientError as error:
            raise refused(f"The client assertion was refused: {error.description}") from None

    def validate_jti(self, claims: Any, jti: str) -> bool:
        client = self._client
        if client is None:  # resolve_client_public_key always runs first
            return False
        until = datetime.fromtimestamp(float(claims["exp"]), UTC) + CLOCK_LEEWAY
        return self._use_once(client.client.id, jti_digest(jti), until)

    def authenticate_client(self, client: ClientModel) -> ClientModel:
        # Which endpoint may use which method is judged by TesseraClientAuthentication.
        return client


def unverified_names(assertion: str) -> tuple[str, str | None] | None:
    """The client (``sub``) and key (``kid``) an assertion names, read without verifying it:
    only to know whom to fetch keys or a metadata document for before the step's transaction.
    None when it cannot be read (the step itself then refuses it)."""
    try:
        token = jws.extract_compact(assertion.encode("ascii"))
        claims = json.loads(token.payload)
    except (JoseError, ValueError, UnicodeError):
        return None
    if not isinstance(claims, dict) or not isinstance(claims.get("sub"), str):
        return None
    kid = token.headers().get("kid")
    return claims["sub"], kid if isinstance(kid, str) else None
