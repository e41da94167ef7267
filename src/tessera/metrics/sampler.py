"""Copy what the parts of a process count and hold into the metrics, now and then.

The parts keep plain numbers (a cache's hits and misses, the rate limiter's refusals, a pool's
connections in use); nothing on the request path touches prometheus_client for them. Every
second, and right before a scrape is answered, ``sample`` adds what each count grew by to its
counter and sets each gauge. So a scrape of one process is exact, and with several workers the
others' values are at most a second old.
"""

import threading
from collections.abc import Sequence

from prometheus_client import Counter

from tessera.metrics import catalogue as m
from tessera.services.change_feed import ChangeFeed
from tessera.services.credential_cache import CredentialCache
from tessera.services.magic_links import MagicLinkService
from tessera.services.password_hashing import HashingPool
from tessera.services.refusal_cache import RefusalCache
from tessera.services.thread_capacity import ThreadCapacity
from tessera.services.throttle import Throttle
from tessera.store.database import Database

#: The hashing pool's full queue answers 429 like a rate limit: counted with them under this rule.
HASH_QUEUE_RULE = "password-hash-queue"


class MetricsSampler:
    def __init__(
        self,
        *,
        credentials: CredentialCache,
        refusals: RefusalCache,
        changes: ChangeFeed,
        hashing: HashingPool,
        throttle: Throttle,
        database: Database,
        threads: Sequence[ThreadCapacity] = (),
        mail: MagicLinkService | None = None,
    ) -> None:
        self._credentials = credentials
        self._refusals = refusals
        self._changes = changes
        self._hashing = hashing
        self._throttle = throttle
        self._database = database
        self._threads = tuple(threads)
        self._mail = mail
        #: What each count was at the last sample, by the counter child it feeds.
        self._seen: dict[object, int] = {}
        self._lock = threading.Lock()

    def sample(self) -> None:
        """Bring every sampled metric up to date. Cheap: run it on the event loop."""
        with self._lock:
            self._caches()
            m.CHANGE_FEED_LAG.set(self._changes.lag())
            hashing, throttle = self._hashing, self._throttle
            m.PASSWORD_HASH_QUEUE.set(hashing.waiting)
            self._count(m.RATE_LIMIT_REFUSALS.labels(HASH_QUEUE_RULE), hashing.refused)
            for rule, refused in list(throttle.refusals.items()):
                self._count(m.RATE_LIMIT_REFUSALS.labels(rule), refused)
            self._count(m.RATE_LIMIT_STORE_OUTAGES, throttle.outages)
            m.RATE_LIMIT_STORE_FALLBACK.set(1 if throttle.falling_back else 0)
            if self._mail is not None:
                self._mails(self._mail)
            for capacity in self._threads:
                m.THREADS_IN_USE.labels(capacity.purpose).set(capacity.in_use())
                m.THREADS_MAX.labels(capacity.purpose).set(capacity.threads)
            for pool, (in_use, size) in self._database.pool_use().items():
                m.DB_POOL_IN_USE.labels(pool).set(in_use)
                m.DB_POOL_SIZE.labels(pool).set(size)

    def _caches(self) -> None:
        for name, cache in (("credentials", self._credentials), ("refusals", self._refusals)):
            m.CACHE_ENTRIES.labels(name).set(len(cache))
            self._count(m.CACHE_LOOKUPS.labels(name, "hit"), cache.hits)
            self._count(m.CACHE_LOOKUPS.labels(name, "miss"), cache.misses)

    def _mails(self, mail: MagicLinkService) -> None:
        outcomes = mail.mail_outcomes()
        for outcome in ("sent", "failed", "dropped"):
            self._count(m.MAILS.labels(outcome), outcomes[outcome])
        m.MAIL_QUEUE.set(outcomes["waiting"])

    def _count(self, counter: Counter, total: int) -> None:
        """Add to ``counter`` what ``total`` grew by since the last sample."""
        grown = total - self._seen.get(counter, 0)
        if grown > 0:
            counter.inc(grown)
        self._seen[counter] = total
