"""The scanning partner's public keys, read from the operator's copy of its keys document.

GitHub rotates its signing keys now and then. A report signed by a key we do not know makes us
read the file again if it changed since it was read, so an operator who replaces the file need
not restart the server; a file that no longer reads keeps the keys we had (and says so).
"""

import logging
import os
import threading
from pathlib import Path

from tessera.core.partner_signatures import (
    InvalidPartnerKeys,
    PartnerKeys,
    parse_partner_keys,
    signature_verifies,
)

log = logging.getLogger(__name__)


def read_partner_keys(path: Path) -> PartnerKeys:
    """Raises InvalidPartnerKeys: unreadable, or not a keys document."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeError) as error:
        raise InvalidPartnerKeys(f"cannot read {path}: {error}") from None
    return parse_partner_keys(text)


class PartnerKeyring:
    def __init__(self, path: Path) -> None:
        """Raises InvalidPartnerKeys: the file does not hold the partner's keys (at start)."""
        self._path = path
        self._lock = threading.Lock()
        self._read_at = self._modified()
        self._keys = read_partner_keys(path)

    def verifies(self, key_identifier: str | None, signature: str | None, body: bytes) -> bool:
        """Whether the named key signed ``body``; an unknown name first reads a changed file."""
        keys = self._keys
        if key_identifier and key_identifier not in keys:
            keys = self._reread_if_changed()
        return signature_verifies(keys, key_identifier, signature, body)

    def _reread_if_changed(self) -> PartnerKeys:
        with self._lock:
            modified = self._modified()
            if modified == self._read_at:
                return self._keys
            self._read_at = modified
            try:
                self._keys = read_partner_keys(self._path)
            except InvalidPartnerKeys as error:
                log.warning("secret-scanning keys not reloaded, the old ones stay: %s", error)
            else:
                log.info("secret-scanning keys reloaded from %s", self._path)
            return self._keys

    def _modified(self) -> int | None:
        try:
            return os.stat(self._path).st_mtime_ns
        except OSError:
            return None
