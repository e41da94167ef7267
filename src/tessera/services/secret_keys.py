"""Changing the server's secret key without ending every credential (ADR 0035).

The keys live in the key file; this service edits it (atomically, readable by its owner only)
and says how many live digests each version still checks. A process reads the file when it
starts: every change here takes effect as the servers restart, which is why a rotation for
several servers is two steps (``add``, restart all; ``activate``, restart all): no server may
issue codes under a key another server does not know yet.
"""

import os
import tempfile
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from tessera.core.clock import Clock
from tessera.core.errors import FieldError, InvalidInput
from tessera.core.secret_keys import InvalidKeyRing, KeyState, SecretKeyRing
from tessera.store import key_versions as stored
from tessera.store.database import Database

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

    @property
    def total_in_use(self) -> int:
        return sum(self.in_use.values())


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
        return [
            KeyVersionStatus(key.version, key.state, _uses(counts, key.version))
            for key in ring.keys
        ]

    def orphaned(self) -> dict[str, int]:
        """Live digests made under a key no longer kept: those credentials no longer work."""
        kept = {key.version for key in self._current_ring().keys}
        with self._database.read() as session:
            counts = stored.count_by_key_version(session, now=self._clock.now())
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

    def retire(self, version: int, *, force: bool = False) -> KeyVersionStatus:
        """Forget a key; what it still checked stops working (refused unless ``force``).

        Raises:
            InvalidInput: no such key, the active key, or still in use without ``force``.
        """
        found = next((status for status in self.status() if status.version == version), None)
        if found is not None and found.total_in_use and not force:
            raise InvalidInput.for_field(
                "version",
                FieldError(
                    "in_use",
                    f"Key {version} still checks {found.total_in_use} live credentials or"
                    " sessions: wait until they end, or retire it with --force to end them.",
                ),
            )
        self._change(lambda ring: ring.without(version))
        return found or KeyVersionStatus(version, KeyState.VERIFY, {})

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
