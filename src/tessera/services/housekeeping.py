"""Housekeeping: delete what can never authenticate again, a bounded batch at a time.

Revoked and expired rows are kept for a grace period (the admin views show when a token was
revoked or last used), then deleted: tokens, OAuth codes, refresh tokens and grants, web
sessions, device-setup and first-run codes, magic links. Revoked API keys are kept as long as the
audit trail (they are few, and their history is what admins look for); change-feed rows for an
hour; audit events by their own retention. Every server process runs ``run_round`` every few
minutes; several at once is safe (see ``tessera.store.housekeeping``). ``tessera prune`` runs it
by hand.
"""

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.orm import Session

from tessera.core.clock import Clock
from tessera.core.principals import TokenLifetime
from tessera.services.audit import AuditService
from tessera.services.signing_keys import SigningKeyService
from tessera.store import housekeeping as stored
from tessera.store.database import Database

log = logging.getLogger(__name__)

Pruner = Callable[[Session, stored.Cutoffs, int], int]

#: In this order: children before the grants they cascade from, so no delete cascades far.
PRUNERS: tuple[tuple[str, Pruner], ...] = (
    ("api_tokens", stored.prune_api_tokens),
    ("oauth_refresh_tokens", stored.prune_oauth_refresh_tokens),
    ("oauth_codes", stored.prune_oauth_codes),
    ("oauth_grants", stored.prune_oauth_grants),
    ("oauth_device_authorizations", stored.prune_oauth_device_authorizations),
    ("oauth_client_assertions", stored.prune_oauth_client_assertions),
    ("device_setup_codes", stored.prune_device_setup_codes),
    ("magic_links", stored.prune_magic_links),
    ("saml_assertions", stored.prune_saml_assertions),
    ("shown_once", stored.prune_shown_once),
    ("web_sessions", stored.prune_web_sessions),
    ("setup_codes", stored.prune_setup_codes),
    ("api_keys", stored.prune_api_keys),
    ("credential_changes", stored.prune_credential_changes),
)


@dataclass(frozen=True, slots=True)
class PrunePolicy:
    #: Revoked and expired rows stay this long after they end.
    grace: timedelta
    #: Revoked API keys stay this long after revocation.
    revoked_key_retention: timedelta
    #: Change-feed rows stay this long (far longer than any process goes without polling).
    change_retention: timedelta
    #: Rows per delete statement (and transaction).
    batch_size: int = 1000
    #: Pause between two batches, so a backlog never monopolises the database.
    pause_seconds: float = 0.05


class Housekeeping:
    def __init__(
        self,
        database: Database,
        clock: Clock,
        lifetime: TokenLifetime,
        policy: PrunePolicy,
        audit: AuditService,
        *,
        sleep: Callable[[float], None] = time.sleep,
        signing_keys: SigningKeyService | None = None,
    ) -> None:
        """``signing_keys``: rotated in each round once they are due (ADR 0039)."""
        self._database = database
        self._clock = clock
        self._lifetime = lifetime
        self.policy = policy
        self._audit = audit
        self._sleep = sleep
        self._signing_keys = signing_keys

    def run_round(self, *, max_batches: int | None = 20) -> dict[str, int]:
        """Prune every table; rows deleted per table (``audit_events`` included).

        ``max_batches`` bounds the batches per table in one round (a backlog is worked off over
        several rounds); None keeps going until nothing is left to delete (the CLI).
        """
        cutoffs = self._cutoffs()
        deleted = {name: self._prune(pruner, cutoffs, max_batches) for name, pruner in PRUNERS}
        deleted["audit_events"] = self._audit.prune(max_batches=max_batches)
        if self._signing_keys is not None:
            self._signing_keys.rotate_when_due()
        if any(deleted.values()):
            log.info("pruned ended rows", extra={"deleted": deleted})
        return deleted

    def _cutoffs(self) -> stored.Cutoffs:
        now = self._clock.now()
        return stored.Cutoffs(
            ended_before=now - self.policy.grace,
            token_idle=self._lifetime.idle,
            token_max_age=self._lifetime.max_age,
            key_revoked_before=now - self.policy.revoked_key_retention,
            change_before=now - self.policy.change_retention,
            now=now,
        )

    def _prune(self, pruner: Pruner, cutoffs: stored.Cutoffs, max_batches: int | None) -> int:
        size, total, batches = self.policy.batch_size, 0, 0
        while max_batches is None or batches < max_batches:
            if batches:
                self._sleep(self.policy.pause_seconds)
            with self._database.write() as session:
                count = pruner(session, cutoffs, size)
            total += count
            batches += 1
            if count < size:
                break
        return total
