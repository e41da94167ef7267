"""The keys that sign ID tokens: made on first need, rotated, published (ADR 0039).

Every process reads which key signs from the database each time it signs, so a rotation made
by the command line or by another process is followed at once; only the opened private keys
(immutable, by ``kid``) are kept in memory. Keys are generated with joserfc.
"""

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from joserfc.jwk import ECKey, KeyParameters, RSAKey

from tessera.core.clock import Clock
from tessera.core.secret_keys import SecretKeyRing
from tessera.core.signing_keys import (
    NoSigningKeyYet,
    SigningAlgorithm,
    SigningKeyUnavailable,
    StoredSigningKey,
    open_private_key,
    seal_private_key,
)
from tessera.store import signing_keys as stored
from tessera.store.database import Database

log = logging.getLogger(__name__)

SigningJwk = RSAKey | ECKey
_RSA_BITS = 2048
#: Beyond the lifetime of the last token a key signed: clocks differ a little.
_CLOCK_LEEWAY = timedelta(minutes=5)


@dataclass(frozen=True, slots=True)
class SigningKeyPolicy:
    #: How long an ID token lives: a retired key stays published that long (and a little).
    token_lifetime: timedelta
    #: Make new keys when the signing ones are this old; None: only by hand.
    rotate_after: timedelta | None


@dataclass(frozen=True, slots=True)
class Signer:
    kid: str
    algorithm: SigningAlgorithm
    key: SigningJwk


class SigningKeyService:
    def __init__(
        self, database: Database, clock: Clock, ring: SecretKeyRing, policy: SigningKeyPolicy
    ) -> None:
        self._database = database
        self._clock = clock
        self._ring = ring
        self.policy = policy
        self._opened: dict[str, SigningJwk] = {}

    def ensure(self) -> list[StoredSigningKey]:
        """Make a signing key for each algorithm that has none (first start); the keys made.

        Safe in several processes at once: the database takes one key per algorithm.
        """
        made = []
        for algorithm in SigningAlgorithm:
            with self._database.write() as session:
                if stored.signing_key(session, algorithm) is not None:
                    continue
                fresh = self._add(session, algorithm)
            if fresh is not None:
                log.info("made a new %s ID token signing key %s", algorithm, fresh.kid)
                made.append(fresh)
        return made

    def check(self) -> list[str]:
        """Why this process could not sign with each signing key it cannot open (empty: fine)."""
        problems = []
        with self._database.read() as session:
            keys = [stored.signing_key(session, algorithm) for algorithm in SigningAlgorithm]
        for key in keys:
            if key is None:
                continue
            try:
                self._open(key)
            except SigningKeyUnavailable as problem:
                problems.append(str(problem))
        return problems

    def signer(self, algorithm: SigningAlgorithm) -> Signer:
        """The key to sign with now (a read of its own, never a write: callers may be inside
        a write transaction).

        Raises:
            NoSigningKeyYet: there is none; ``ensure`` makes it.
            SigningKeyUnavailable: it cannot be opened by this process (the message says why).
        """
        with self._database.read() as session:
            key = stored.signing_key(session, algorithm)
        if key is None:
            raise NoSigningKeyYet(f"no {algorithm} key signs ID tokens yet")
        return Signer(key.kid, key.algorithm, self._open(key))

    def jwks(self) -> dict[str, Any]:
        """The public keys (RFC 7517 key set): signing now, or signed tokens still valid."""
        with self._database.read() as session:
            keys = stored.published_keys(session, now=self._clock.now())
        if sum(key.is_active for key in keys) < len(SigningAlgorithm):
            self.ensure()  # first start (or an emptied table): publish before anyone signs
            with self._database.read() as session:
                keys = stored.published_keys(session, now=self._clock.now())
        return {"keys": [_public(key.public_jwk) for key in keys]}

    def published_public_keys(self) -> list[dict[str, Any]]:
        """The JWKS's keys as they are now, public parts only; a read, never a write (unlike
        ``jwks``, which makes the first keys): for checking tokens presented to us."""
        with self._database.read() as session:
            keys = stored.published_keys(session, now=self._clock.now())
        return [_public(key.public_jwk) for key in keys]

    def every_public_key(self) -> dict[str, Any]:
        """Every key Tessera ever signed with and still holds, public parts only (RFC 7517).

        For ID tokens sent back to us as hints (``id_token_hint``): their expiry does not
        matter, so neither does whether their key is still published.
        """
        with self._database.read() as session:
            keys = stored.all_keys(session)
        return {"keys": [_public(key.public_jwk) for key in keys]}

    def keys(self) -> list[StoredSigningKey]:
        """Every key, oldest first (for the command line: no private part leaves this)."""
        with self._database.read() as session:
            return stored.all_keys(session)

    def rotate(self, *, only_if_older_than: datetime | None = None) -> list[StoredSigningKey]:
        """Retire the signing keys (published until their tokens expire) and make new ones.

        With ``only_if_older_than``, only keys made before then: the schedule's rotation,
        which every process may try; one does it.
        """
        now = self._clock.now()
        made = []
        for algorithm in SigningAlgorithm:
            with self._database.write() as session:
                current = stored.signing_key(session, algorithm)
                if current is not None:
                    if only_if_older_than is not None and current.created_at > only_if_older_than:
                        continue
                    until = now + self.policy.token_lifetime + _CLOCK_LEEWAY
                    if not stored.retire_signing_key(
                        session, current.id, now=now, published_until=until
                    ):
                        continue  # another process rotated it meanwhile
                fresh = self._add(session, algorithm)
            if fresh is not None:
                log.info("rotated the %s ID token signing key: %s signs now", algorithm, fresh.kid)
                made.append(fresh)
        return made

    def rotate_when_due(self) -> list[StoredSigningKey]:
        """The schedule: rotate the keys older than ``rotate_after`` (none without it)."""
        if self.policy.rotate_after is None:
            return []
        return self.rotate(only_if_older_than=self._clock.now() - self.policy.rotate_after)

    def _add(self, session: Any, algorithm: SigningAlgorithm) -> StoredSigningKey | None:
        key = _generate(algorithm)
        kid = key.thumbprint()
        private_pem = key.as_pem(private=True)
        version, sealed = seal_private_key(self._ring, kid, private_pem)
        public = {**key.as_dict(private=False), "kid": kid, "alg": algorithm.value, "use": "sig"}
        if not stored.add_signing_key(
            session,
            kid=kid,
            algorithm=algorithm,
            public_jwk=public,
            sealed=sealed,
            secret_key_version=version,
            now=self._clock.now(),
        ):
            return None  # another process made one first: that one signs
        self._opened[kid] = _imported(algorithm, private_pem, kid)
        return stored.signing_key(session, algorithm)

    def _open(self, key: StoredSigningKey) -> SigningJwk:
        opened = self._opened.get(key.kid)
        if opened is None:
            opened = _imported(key.algorithm, open_private_key(self._ring, key), key.kid)
            self._opened[key.kid] = opened
        return opened


def _generate(algorithm: SigningAlgorithm) -> SigningJwk:
    if algorithm is SigningAlgorithm.RS256:
        return RSAKey.generate_key(_RSA_BITS, private=True)
    return ECKey.generate_key("P-256", private=True)


def _imported(algorithm: SigningAlgorithm, private_pem: bytes, kid: str) -> SigningJwk:
    parameters: KeyParameters = {"kid": kid, "alg": algorithm.value, "use": "sig"}
    if algorithm is SigningAlgorithm.RS256:
        return RSAKey.import_key(private_pem, parameters)
    return ECKey.import_key(private_pem, parameters)


_PUBLIC_MEMBERS = {"kty", "kid", "alg", "use", "n", "e", "crv", "x", "y"}


def _public(jwk: dict[str, Any]) -> dict[str, Any]:
    """Only public members, whatever was stored (a private member never reaches an answer)."""
    return {name: value for name, value in jwk.items() if name in _PUBLIC_MEMBERS}
