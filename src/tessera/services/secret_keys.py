"""Changing the server's secret key without ending every credential (ADR 0035).

The keys live in the key file; this service edits it (atomically, readable by its owner only)
and says how many live digests each version still checks. A process reads the file when it
starts: every change here takes effect as the servers restart, which is why a rotation for
several servers is two steps (``add``, restart all; ``activate``, restart all): no server may
issue codes under a key another server does not know yet.

Values sealed under a key (ID token signing keys, identity providers' client secrets) are not
credentials that may end: ``retire`` seals each one anew under the active key, in one
transaction, before the key leaves the file. The active key is one every server knows once the
rotation's restarts are done, which is why a retirement comes after them.
"""

import os
import tempfile
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from tessera.core.clock import Clock
from tessera.core.errors import FieldError, InvalidInput
from tessera.core.secret_keys import InvalidKeyRing, KeyState, SecretKeyRing
from tessera.core.signing_keys import SigningKeyUnavailable, reseal_private_key
from tessera.core.user_sources import ClientSecretUnavailable, reseal_client_secret
from tessera.store import key_versions as stored
from tessera.store import signing_keys as stored_signing_keys
from tessera.store import user_sources as stored_user_sources
from tessera.store.database import Database
from tessera.store.key_versions import SIGNING_KEYS, SOURCE_SECRETS

FROM_ENVIRONMENT = FieldError(
    "from_environment",
    "The keys come from TESSERA_SECRET_KEY: edit that value (docs/operations.md#secret-keys).",
)


@dataclass(frozen=True, slots=True)
class KeyVersionStatus:
    version: int
    state: KeyState
    #: Live digests this key checks, by kind of credential.
    in_use: dict[str, int]
    #: Values sealed under this key, by kind: re-sealed under the active key when it retires.
    sealed: dict[str, int] = field(default_factory=dict)

    @property
    def total_in_use(self) -> int:
        return sum(self.in_use.values())


@dataclass(frozen=True, slots=True)
class Retirement:
    """What a retirement did: what the key still checked (ended), what was sealed anew."""

    status: KeyVersionStatus
    #: Sealed values now under the active key, by kind.
    resealed: dict[str, int]
    #: Sealed values that did not open even with the retired key (already unreadable: another
    #: value under that version sealed them); only with ``force``.
    unreadable: dict[str, int]


class SecretKeyService:
    def __init__(self, database: Database, clock: Clock, keys: Path | SecretKeyRing) -> None:
        """``keys``: the key file, or the keys themselves when the environment holds them."""
        self._database = database
        self._clock = clock
        self._keys = keys

    def status(self) -> list[KeyVersionStatus]:
        """Every key the file holds (as it is now on disk), oldest first, with its use."""
        ring = self._current_ring()
        with self._database.read() as session:
            counts = stored.count_by_key_version(session, now=self._clock.now())
            sealed = stored.count_sealed_by_key_version(session)
        return [
            KeyVersionStatus(
                key.version, key.state, _uses(counts, key.version), _uses(sealed, key.version)
            )
            for key in ring.keys
        ]

    def orphaned(self) -> dict[str, int]:
        """Live digests and sealed values made under a key no longer kept: lost."""
        kept = {key.version for key in self._current_ring().keys}
        with self._database.read() as session:
            counts = stored.count_by_key_version(session, now=self._clock.now())
            counts |= stored.count_sealed_by_key_version(session)
        lost = {
            kind: sum(n for version, n in found.items() if version not in kept)
            for kind, found in counts.items()
        }
        return {kind: n for kind, n in lost.items() if n}

    def add(self) -> int:
        """Add a new key that only checks for now; its version."""
        ring = self._change(lambda ring: ring.with_new_key())
        return ring.keys[-1].version

    def activate(self, version: int) -> None:
        """Make ``version`` the key of new codes (at each server's next start)."""
        self._change(lambda ring: ring.activating(version))

    def rotate(self) -> int:
        """``add`` and ``activate`` at once: for a single server. The new version."""
        ring = self._change(lambda ring: ring.with_new_key())
        version = ring.keys[-1].version
        self._change(lambda ring: ring.activating(version))
        return version

    def retire(self, version: int, *, force: bool = False) -> Retirement:
        """Forget a key. What it sealed is sealed anew under the active key first (nothing
        sealed is lost); the live digests it checks stop working, so they refuse the
        retirement unless ``force``.

        Raises:
            InvalidInput: no such key, the active key, still in use without ``force``, a sealed
                value that does not open (without ``force``), or keys from the environment.
        """
        if not isinstance(self._keys, Path):
            raise InvalidInput.for_field("secret_key", FROM_ENVIRONMENT)
        ring = self._current_ring()
        try:
            ring.without(version)
        except InvalidKeyRing as error:
            raise InvalidInput.for_field("version", FieldError("invalid", str(error))) from None
        found = next(status for status in self.status() if status.version == version)
        if found.total_in_use and not force:
            raise InvalidInput.for_field(
                "version",
                FieldError(
                    "in_use",
                    f"Key {version} still checks {found.total_in_use} live credentials or"
                    " sessions: wait until they end, or retire it with --force to end them.",
                ),
            )
        # The database first, the file after: should the file not be written, the values are
        # sealed under the active key, which the file still holds. Nothing is lost either way.
        resealed, unreadable = self._reseal(ring, version, force=force)
        self._change(lambda ring: ring.without(version))
        return Retirement(found, resealed, unreadable)

    def reseal(self, version: int) -> dict[str, int]:
        """Seal anew under the active key what ``version`` sealed, keeping the key: what an
        operator whose keys are in ``TESSERA_SECRET_KEY`` runs before removing a line.

        Raises:
            InvalidInput: ``version`` is not kept, or a value under it does not open.
        """
        ring = self._current_ring()
        if ring.get(version) is None:
            raise InvalidInput.for_field(
                "version", FieldError("invalid", f"there is no key version {version}")
            )
        resealed, _ = self._reseal(ring, version, force=False)
        return resealed

    def _reseal(
        self, ring: SecretKeyRing, version: int, *, force: bool
    ) -> tuple[dict[str, int], dict[str, int]]:
        """Every value sealed under ``version`` sealed under the active key, in one
        transaction: (re-sealed, unreadable) by kind. Without ``force`` an unreadable value
        rolls everything back."""
        resealed: Counter[str] = Counter()
        unreadable: Counter[str] = Counter()
        if version == ring.active.version:
            return {}, {}
        with self._database.write() as session:
            for key in stored_signing_keys.sealed_under(session, version):
                try:
                    now_version, sealed = reseal_private_key(ring, key)
                except SigningKeyUnavailable:
                    unreadable[SIGNING_KEYS] += 1
                    continue
                stored_signing_keys.reseal(
                    session, key.id, secret_key_version=now_version, sealed=sealed
                )
                resealed[SIGNING_KEYS] += 1
            for source in stored_user_sources.sealed_under(session, version):
                try:
                    again = reseal_client_secret(ring, source)
                except ClientSecretUnavailable:
                    unreadable[SOURCE_SECRETS] += 1
                    continue
                if again is not None:
                    stored_user_sources.reseal(
                        session, source.id, secret_key_version=again[0], sealed=again[1]
                    )
                    resealed[SOURCE_SECRETS] += 1
            if unreadable and not force:
                raise InvalidInput.for_field(  # rolls the transaction back
                    "version",
                    FieldError(
                        "unreadable_sealed_values",
                        f"Under key {version}, {_uses_text(dict(unreadable))} do not open with it"
                        " (another value was kept under that version): they are unreadable"
                        " already. Rotate the signing keys (tessera signing-keys rotate) and"
                        " give those identity providers their client secret again, or retire"
                        " with --force.",
                    ),
                )
        return dict(resealed), dict(unreadable)

    def _current_ring(self) -> SecretKeyRing:
        if isinstance(self._keys, SecretKeyRing):
            return self._keys
        try:
            return SecretKeyRing.parse(self._keys.read_text(encoding="utf-8"))
        except (OSError, UnicodeError, InvalidKeyRing) as error:
            raise InvalidInput.for_field(
                "secret_key_file", FieldError("invalid_secret_key", str(error))
            ) from None

    def _change(self, edit: Callable[[SecretKeyRing], SecretKeyRing]) -> SecretKeyRing:
        if not isinstance(self._keys, Path):
            raise InvalidInput.for_field("secret_key", FROM_ENVIRONMENT)
        try:
            changed = edit(self._current_ring())
        except InvalidKeyRing as error:
            raise InvalidInput.for_field("version", FieldError("invalid", str(error))) from None
        _write_privately(self._keys, changed.text())
        return changed


def _uses(counts: dict[str, Counter[int]], version: int) -> dict[str, int]:
    return {kind: found[version] for kind, found in counts.items() if found[version]}


def _uses_text(counts: dict[str, int]) -> str:
    return ", ".join(f"{n} {kind}" for kind, n in counts.items())


def _write_privately(path: Path, text: str) -> None:
    """Replace the file in one step: a crash leaves the old keys or the new, never half."""
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as file:  # mkstemp: mode 0600
            file.write(text)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
