"""Human passwords: argon2id with OWASP's parameters, and timing parity for unknown people."""

from dataclasses import dataclass
from functools import cached_property

import argon2
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

#: OWASP Password Storage Cheat Sheet, argon2id: m=19 MiB, t=2, p=1.
OWASP_TIME_COST = 2
OWASP_MEMORY_COST_KIB = 19 * 1024
OWASP_PARALLELISM = 1

MIN_PASSWORD_LENGTH = 8
#: argon2 takes any length; the cap keeps one request from hashing megabytes.
MAX_PASSWORD_LENGTH = 1024


@dataclass(frozen=True, slots=True)
class PasswordCheck:
    ok: bool
    #: The stored hash was made with other parameters: store a fresh one after a success.
    needs_rehash: bool = False


class PasswordHasher:
    def __init__(
        self,
        time_cost: int = OWASP_TIME_COST,
        memory_cost_kib: int = OWASP_MEMORY_COST_KIB,
        parallelism: int = OWASP_PARALLELISM,
    ) -> None:
        self._argon2 = argon2.PasswordHasher(
            time_cost=time_cost,
            memory_cost=memory_cost_kib,
            parallelism=parallelism,
            hash_len=32,
            salt_len=16,
            type=argon2.Type.ID,
        )

    @cached_property
    def _dummy_hash(self) -> str:
        """Verified against when there is no real hash, so that "no such person" costs exactly
        what "wrong password" costs. Made on first need: a command that only lists people
        would otherwise pay one argon2 hash (30 ms) to start; a server makes it before its
        first request (``prepare``), so that no sign-in pays for it."""
        return self._argon2.hash("tessera timing parity")

    def prepare(self) -> None:
        """Do now the one-time work that checking a password for an unknown person needs."""
        _ = self._dummy_hash

    def hash(self, password: str) -> str:
        return self._argon2.hash(password)

    def verify(self, stored_hash: str | None, password: str) -> PasswordCheck:
        """Check a password; a missing or unreadable hash fails after the same amount of work."""
        if stored_hash is None:
            self._verify_quietly(self._dummy_hash, password)
            return PasswordCheck(ok=False)
        if not self._verify_quietly(stored_hash, password):
            return PasswordCheck(ok=False)
        return PasswordCheck(ok=True, needs_rehash=self._argon2.check_needs_rehash(stored_hash))

    def _verify_quietly(self, stored_hash: str, password: str) -> bool:
        try:
            return self._argon2.verify(stored_hash, password)
        except (VerifyMismatchError, VerificationError):
            return False
        except InvalidHashError:
            # A corrupt stored hash must not answer faster than a real one.
            self._verify_quietly(self._dummy_hash, password)
            return False


def password_problem(password: str) -> str | None:
    """Say what is wrong with a new password, or None when it is acceptable."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"A password needs at least {MIN_PASSWORD_LENGTH} characters."
    if len(password) > MAX_PASSWORD_LENGTH:
        return f"A password may have at most {MAX_PASSWORD_LENGTH} characters."
    return None
