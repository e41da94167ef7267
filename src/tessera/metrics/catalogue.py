"""Every metric Tessera exports, named and labelled here once (ADR 0036).

Label values come from bounded sets only: route templates (never a raw path), a fixed set of
methods, status codes, error codes (``TesseraError.code``), names of caches, rules and pools.
No label ever holds a credential, an address or anything a client chose freely.

Under ``tessera serve``, prometheus_client runs in its multiprocess mode: the serve command
sets ``PROMETHEUS_MULTIPROC_DIR`` to a private directory before any worker imports the
library, each process writes its values to files there, and a scrape adds them up. Each gauge
says how: ``livesum`` for what the processes hold between them (cache entries, connections),
``livemax`` for the worst process (the change feed's lag). Counters and histograms are summed,
dead workers included, as counters must be.
"""

import os

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.multiprocess import MultiProcessCollector

#: Set by ``tessera serve`` for its workers; read by prometheus_client when it is imported.
MULTIPROCESS_DIRECTORY = "PROMETHEUS_MULTIPROC_DIR"

REQUEST_SECONDS = Histogram(
    "tessera_http_request_duration_seconds",
    "Time from a request's arrival to the end of its answer, by route template, method and"
    " status (the count is the number of requests).",
    ["route", "method", "status"],
    # The credential check answers in well under a millisecond; sign-ins take tens of ms.
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
CREDENTIAL_DECISIONS = Counter(
    "tessera_credential_decisions",
    "Credential checks: outcome allowed (reason: how the caller authenticated), refused"
    " (reason: the error code) or failed (reason: the error code, e.g. service_unavailable).",
    ["outcome", "reason"],
)
CACHE_ENTRIES = Gauge(
    "tessera_cache_entries",
    "Entries held by the credential cache (cache=credentials) and the refusal cache"
    " (cache=refusals), every process together.",
    ["cache"],
    multiprocess_mode="livesum",
)
CACHE_LOOKUPS = Counter(
    "tessera_cache_lookups",
    "Cache lookups by result (hit, miss). credentials: every key, token and person looked up;"
    " refusals: refused credentials, answered from memory (hit) or by the database (miss).",
    ["cache", "result"],
)
CHANGE_FEED_LAG = Gauge(
    "tessera_change_feed_lag_seconds",
    "Seconds since the credential change feed was last read successfully (the worst process).",
    multiprocess_mode="livemax",
)
PASSWORD_HASH_QUEUE = Gauge(
    "tessera_password_hash_queue_depth",
    "Sign-ins waiting for a password-hashing thread, every process together.",
    multiprocess_mode="livesum",
)
PASSWORD_HASH_SECONDS = Histogram(
    "tessera_password_hash_duration_seconds",
    "Time one password hash or verification (argon2id) took on a hashing thread.",
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
RATE_LIMIT_REFUSALS = Counter(
    "tessera_rate_limit_refusals",
    "Attempts refused with 429, by rule (login-email, login-address, device-setup-address,"
    " password-hash-queue).",
    ["rule"],
)
MAILS = Counter(
    "tessera_mails",
    "Mails (magic links) by outcome: sent, failed (every try failed), dropped (the queue was"
    " full).",
    ["outcome"],
)
MAIL_QUEUE = Gauge(
    "tessera_mail_queue_depth",
    "Mails waiting to be sent (or waiting to be tried again).",
    multiprocess_mode="livesum",
)
RATE_LIMIT_STORE_OUTAGES = Counter(
    "tessera_rate_limit_store_outages",
    "Times the shared rate-limit store (Redis) stopped answering and a process began counting"
    " attempts itself.",
)
RATE_LIMIT_STORE_FALLBACK = Gauge(
    "tessera_rate_limit_store_fallback",
    "1 while some process counts attempts itself because Redis does not answer, else 0.",
    multiprocess_mode="livemax",
)
DB_POOL_IN_USE = Gauge(
    "tessera_db_pool_connections_in_use",
    "Database connections checked out of a pool (main; hot: the credential check's own).",
    ["pool"],
    multiprocess_mode="livesum",
)
THREADS_IN_USE = Gauge(
    "tessera_worker_threads_in_use",
    "Worker threads busy for a purpose with threads of its own (credentials, sign-in; ADR 0038).",
    ["purpose"],
    multiprocess_mode="livesum",
)
THREADS_MAX = Gauge(
    "tessera_worker_threads_max",
    "The most worker threads a purpose may hold at once, every process together.",
    ["purpose"],
    multiprocess_mode="livesum",
)
DB_POOL_SIZE = Gauge(
    "tessera_db_pool_connections_max",
    "The most connections a pool holds (PostgreSQL: the connection budget, ADR 0021).",
    ["pool"],
    multiprocess_mode="livesum",
)


def exposition() -> tuple[bytes, str]:
    """Every metric in Prometheus' text format, every process's values added up; its type."""
    directory = os.environ.get(MULTIPROCESS_DIRECTORY)
    if directory:
        registry = CollectorRegistry()
        MultiProcessCollector(registry, path=directory)  # type: ignore[no-untyped-call]
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
