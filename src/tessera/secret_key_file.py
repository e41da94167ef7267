"""The server's secret keys as configured: ``TESSERA_SECRET_KEY``, or the key file (made on first
use). Read once per process; ``tessera secret-keys`` edits the file (ADR 0035)."""

import logging
import os
import secrets
from pathlib import Path

from tessera.core.secret_keys import InvalidKeyRing, SecretKeyRing
from tessera.settings import Settings

log = logging.getLogger(__name__)


class InvalidSecretKey(ValueError):
    """The secret key file cannot serve as the key of the code digests."""


def secret_keys(settings: Settings) -> SecretKeyRing:
    """The configured secret keys, or those kept in ``secret_key_file`` (made on first use).

    Either holds one bare key (version 1) or the versioned text form (ADR 0035).
    """
    if settings.secret_key is not None:
        origin, text = "TESSERA_SECRET_KEY", settings.secret_key.get_secret_value()
    else:
        path = settings.secret_key_file
        if not path.exists():
            _create_secret_file(path)
        origin = str(path)
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeError) as error:
            raise InvalidSecretKey(f"cannot read the secret key file {path}: {error}") from error
    try:
        return SecretKeyRing.parse(text)
    except InvalidKeyRing as error:
        raise InvalidSecretKey(f"{origin}: {error}") from None


def _create_secret_file(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    # O_EXCL: of two processes starting at once, one creates and the other reads.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    with os.fdopen(fd, "w", encoding="utf-8") as file:
        file.write(secrets.token_urlsafe(48) + "\n")
    log.warning("generated a new secret key in %s; keep it with the database", path)
