"""The server's secret keys: numbered versions, one of them active (ADR 0035).

Every stored digest of a code is keyed by one of these. New digests use the active key; a
digest made under an older key still verifies while that key is kept, so a key can change
without ending every credential. The text form is what the key file (and, for containers,
``TESSERA_SECRET_KEY``) holds::

    # comments and blank lines are ignored
    1 verify <old key>
    2 active <new key>

A bare key alone (the only form before versions) is version 1, active.
"""

import re
import secrets
from dataclasses import dataclass
from enum import StrEnum

#: Stored digests carry their version in one byte, so 255 rotations at most.
MAX_VERSION = 255
MIN_KEY_LENGTH = 32
_LINE = re.compile(r"([0-9]{1,3})\s+([a-z]+)\s+(\S+)")


class KeyState(StrEnum):
    #: Keys new digests and signatures.
    ACTIVE = "active"
    #: Only checks: an older key whose codes are still in use, or a newer one being rolled out.
    VERIFY = "verify"


class InvalidKeyRing(ValueError):
    """The text does not describe a usable set of secret keys."""


@dataclass(frozen=True, slots=True)
class SecretKey:
    version: int
    state: KeyState
    value: bytes = b""

    def __repr__(self) -> str:  # never the key itself, wherever this ends up printed
        return f"SecretKey(version={self.version}, state={self.state})"


@dataclass(frozen=True, slots=True)
class SecretKeyRing:
    """Keys by version, exactly one active; built only through ``parse`` or the methods."""

    keys: tuple[SecretKey, ...]

    @classmethod
    def single(cls, value: bytes) -> "SecretKeyRing":
        return cls((SecretKey(1, KeyState.ACTIVE, value),))

    @classmethod
    def parse(cls, text: str) -> "SecretKeyRing":
        """Read the text form.

        Raises:
            InvalidKeyRing: with the line at fault, never the key in it.
        """
        lines = [
            (number, line.strip())
            for number, line in enumerate(text.splitlines(), start=1)
            if line.strip() and not line.strip().startswith("#")
        ]
        if len(lines) == 1 and _LINE.fullmatch(lines[0][1]) is None:
            # One bare key, as before versions (a pass phrase with spaces included).
            value = lines[0][1]
            if len(value) < MIN_KEY_LENGTH:
                raise InvalidKeyRing(f"a secret key must be at least {MIN_KEY_LENGTH} characters")
            return cls.single(value.encode())
        keys = []
        for number, line in lines:
            match = _LINE.fullmatch(line)
            if match is None:
                raise InvalidKeyRing(f"line {number}: expected `VERSION active|verify KEY`")
            version, state, value = int(match[1]), match[2], match[3]
            if state not in KeyState.__members__.values():
                raise InvalidKeyRing(f"line {number}: the state must be active or verify")
            if len(value) < MIN_KEY_LENGTH:
                raise InvalidKeyRing(
                    f"line {number}: the key must be at least {MIN_KEY_LENGTH} characters"
                )
            keys.append(SecretKey(version, KeyState(state), value.encode()))
        return cls._checked(keys)

    @classmethod
    def _checked(cls, keys: list[SecretKey]) -> "SecretKeyRing":
        if not keys:
            raise InvalidKeyRing("no secret key")
        versions = [key.version for key in keys]
        if len(set(versions)) != len(versions):
            raise InvalidKeyRing("a version appears twice")
        if not all(1 <= version <= MAX_VERSION for version in versions):
            raise InvalidKeyRing(f"versions go from 1 to {MAX_VERSION}")
        if sum(key.state is KeyState.ACTIVE for key in keys) != 1:
            raise InvalidKeyRing("exactly one key must be active")
        return cls(tuple(sorted(keys, key=lambda key: key.version)))

    def text(self) -> str:
        """The text form, to write back to the key file."""
        lines = ["# Tessera's secret keys: version, state (active|verify), key. Keep private."]
        lines += [f"{key.version} {key.state} {key.value.decode()}" for key in self.keys]
        return "\n".join(lines) + "\n"

    @property
    def active(self) -> SecretKey:
        return next(key for key in self.keys if key.state is KeyState.ACTIVE)

    @property
    def oldest(self) -> SecretKey:
        return self.keys[0]

    def get(self, version: int) -> SecretKey | None:
        return next((key for key in self.keys if key.version == version), None)

    def with_new_key(self, value: bytes | None = None) -> "SecretKeyRing":
        """A ring with one more key (the next version), only checking until activated."""
        version = self.keys[-1].version + 1
        if version > MAX_VERSION:
            raise InvalidKeyRing(f"no version is left after {MAX_VERSION}")
        fresh = value if value is not None else new_key_value()
        return self._checked([*self.keys, SecretKey(version, KeyState.VERIFY, fresh)])

    def activating(self, version: int) -> "SecretKeyRing":
        if self.get(version) is None:
            raise InvalidKeyRing(f"there is no key version {version}")
        return self._checked(
            [
                SecretKey(
                    key.version,
                    KeyState.ACTIVE if key.version == version else KeyState.VERIFY,
                    key.value,
                )
                for key in self.keys
            ]
        )

    def without(self, version: int) -> "SecretKeyRing":
        found = self.get(version)
        if found is None:
            raise InvalidKeyRing(f"there is no key version {version}")
        if found.state is KeyState.ACTIVE:
            raise InvalidKeyRing("the active key cannot be retired: activate another first")
        return self._checked([key for key in self.keys if key.version != version])


def new_key_value() -> bytes:
    return secrets.token_urlsafe(48).encode()
