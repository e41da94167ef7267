"""The composition root: ``create_app(settings)`` builds everything and owns the lifespan.

Nothing imports this module but the server entry point (``tessera serve`` names
``tessera.app:create_app`` as a factory, so each worker process builds its own).
"""

import asyncio
import contextlib
import ctypes
import gc
import logging
import os
import secrets
import signal
import threading
from collections.abc import AsyncIterator, Iterator
from types import FrameType
from typing import Any

import anyio.to_thread
from fastapi import FastAPI

from tessera.bootstrap import Runtime, build_runtime
from tessera.core.networks import Networks
from tessera.core.proxies import TrustedProxies
from tessera.logs import configure_logging
from tessera.oauth.sign_in import xmlsec1_missing
from tessera.services.change_stream import ChangeStream
from tessera.settings import Settings
from tessera.web.application import build_web_app
from tessera.web.authz import AuthzOptions
from tessera.web.body_limits import BodyLimitSettings
from tessera.web.http_protocol import LimitedHttpProtocol
from tessera.web.identity_headers import IDENTITY_PRESETS
from tessera.web.metrics import MetricsExposure
from tessera.web.tracing import tracing

log = logging.getLogger(__name__)

#: Collections of the middle generation between two full ones (CPython's default: 10).
_FULL_COLLECTION_EVERY = 100
#: How often each process copies what its parts hold into the metrics (``metrics.sampler``).
_SAMPLE_SECONDS = 1.0


def create_app(settings: Settings | None = None, runtime: Runtime | None = None) -> FastAPI:
    """Build the app; with ``runtime``, serve that one (its owner disposes of it)."""
    owns_runtime = runtime is None
    runtime = runtime or build_runtime(settings or Settings())

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        anyio.to_thread.current_default_thread_limiter().total_tokens = (
            runtime.settings.thread_pool_size
        )
        if owns_runtime:
            _settle_for_serving()
        if runtime.settings.oauth_allow_insecure_redirects:
            log.warning(
                "TESSERA_OAUTH_ALLOW_INSECURE_REDIRECTS is on: OAuth clients may register plain "
                "http redirect URIs to other hosts, where codes and tokens travel unencrypted"
            )
        saml_problem = await anyio.to_thread.run_sync(_saml_problem, runtime)
        if saml_problem is not None:
            log.error(saml_problem)
        if runtime.throttle.shared and not await anyio.to_thread.run_sync(
            runtime.throttle.store_answers
        ):
            log.warning(
                "TESSERA_REDIS_URL does not answer: attempts are counted in this process until "
                "it does (rate limits are then per process); /readyz reports it"
            )
        try:
            # Every worker process runs its own: each has its own cache to keep current.
            async with anyio.create_task_group() as background:
                background.start_soon(_flush_usage_forever, runtime)
                background.start_soon(runtime.changes.run)
                background.start_soon(_housekeeping_forever, runtime)
                if runtime.services.credential_cache.enabled:
                    background.start_soon(_refresh_credentials_forever, runtime)
                if runtime.settings.metrics_enabled:
                    background.start_soon(_sample_metrics_forever, runtime)
                try:
                    with _streams_end_when_stopping(runtime.services.change_stream):
                        yield
                finally:
                    # Cancelled through AnyIO, a task whose work is in a worker thread ends when
                    # that work ends (a plain task.cancel() would end it at once and leave the
                    # thread running): no round, poll or flush outlives the lifespan, nor holds
                    # a connection while the database is disposed of.
                    background.cancel_scope.cancel()
        finally:
            runtime.services.change_stream.close(asyncio.get_running_loop())
            await _flush_usage(runtime)
            if owns_runtime:
                runtime.database.dispose()

    settings = runtime.settings
    app = build_web_app(
        runtime.services,
        runtime.oauth,
        lifespan,
        authz=AuthzOptions(
            routes=runtime.routes,
            identity=IDENTITY_PRESETS[settings.identity_headers],
            max_age=settings.authz_max_age_seconds,
        ),
        proxies=TrustedProxies.parse(settings.proxies),
        body_limits=BodyLimitSettings(
            max_bytes=settings.max_body_kib * 1024, body_seconds=settings.http_body_timeout_seconds
        ),
        metrics=MetricsExposure(Networks.parse(settings.metrics_networks), runtime.metrics.sample)
        if settings.metrics_enabled
        else None,
        tracing=tracing() if settings.otel_enabled else None,
    )
    app.state.runtime = runtime
    return app


def _saml_problem(runtime: Runtime) -> str | None:
    """A SAML source without xmlsec1 to check its signatures: said loudly at start-up."""
    try:
        sources = runtime.services.user_sources.list()
    except Exception:  # noqa: BLE001 - the database is not there yet: /readyz says so, not this
        return None
    return xmlsec1_missing(sources)


#: The signals on which uvicorn stops serving.
_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


@contextlib.contextmanager
def _streams_end_when_stopping(stream: ChangeStream) -> Iterator[None]:
    """End the open ``GET /authz/changes`` streams on the signal that stops the server.

    uvicorn waits for every response under way to finish before it runs the lifespan's
    shutdown, and an event stream never finishes by itself: without this, one subscriber
    would hold a stopping server up for good. The signal is still handed to uvicorn's own
    handler (installed before the lifespan starts), which stops the server as usual. Signals
    reach the main thread only: a server run in another thread (tests) is stopped by setting
    its flag, after its streams are closed.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    loop = asyncio.get_running_loop()
    previous: dict[int, Any] = {number: signal.getsignal(number) for number in _STOP_SIGNALS}

    def on_stop(number: int, frame: FrameType | None) -> None:
        # Only the loop's thread-safe door: the signal may interrupt code holding a lock.
        loop.call_soon_threadsafe(stream.close, loop)
        handler = previous[number]
        if callable(handler):
            handler(number, frame)
        else:
            signal.signal(number, handler)
            signal.raise_signal(number)

    for stop_signal in _STOP_SIGNALS:
        signal.signal(stop_signal, on_stop)
    try:
        yield
    finally:
        for number, earlier in previous.items():
            if signal.getsignal(number) is on_stop:
                signal.signal(number, earlier)


async def _flush_usage(runtime: Runtime) -> None:
    try:
        await anyio.to_thread.run_sync(runtime.services.usage.flush)
    except Exception:
        # Losing a last-used time is better than losing the server; the next flush retries.
        log.exception("could not record last use of credentials")


def _settle_for_serving() -> None:
    """Ready a serving process: the startup heap out of the collector's way, fewer full passes.

    A full garbage collection stops the process while it walks every tracked object. Under load
    with 10,000 credentials cached one such pass took 160 ms, enough alone to make the warm
    path's p99; with the startup heap frozen it walks only what requests and the cache made
    (55–62 ms measured, docs/benchmarks.md).

    Full passes are also made ten times rarer (the oldest generation's threshold, 10 → 100
    collections of the middle one): what reaches the oldest generation here is mostly the
    credential cache, which is freed by reference counting when entries go, not by the
    collector; cyclic garbage dies young and the two young generations keep their defaults.
    """
    gc.collect()
    gc.freeze()
    young, middle, _ = gc.get_threshold()
    gc.set_threshold(young, middle, _FULL_COLLECTION_EVERY)
    limit_heap_arenas()
    release_free_heap()


#: glibc's ``mallopt`` parameter for how many malloc arenas the process may have.
_M_ARENA_MAX = -8
#: Arenas a serving process keeps: one the loop's, one the worker threads share.
HEAP_ARENAS = 2


def limit_heap_arenas(arenas: int = HEAP_ARENAS) -> bool:
    """Let the worker threads share ``arenas`` malloc arenas instead of one each (glibc).

    glibc gives each new thread an arena of its own, up to eight per core, and each keeps what
    it freed. Under the soak's steady load (issue #16) the heap in use stayed flat while its
    freed but held part grew by about 1.4 MiB a minute; with two arenas it stayed at about
    2 MiB. Threads here run Python under the GIL, so they rarely allocate at once: where they
    do (cold checks through the thread pool on PostgreSQL), two arenas showed no cost in CPU
    per check against sixteen (ADR 0016's amendment).
    ``MALLOC_ARENA_MAX`` in the environment, when an operator set it, wins. False when nothing
    was changed (set by the environment, or not glibc).
    """
    if os.environ.get("MALLOC_ARENA_MAX"):
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False  # not glibc: its allocator has its own rules
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    return bool(mallopt(_M_ARENA_MAX, arenas))


def release_free_heap() -> bool:
    """Hand the C heap's free pages back to the system (glibc ``malloc_trim``); False elsewhere.

    Starting leaves about 20 MiB of freed C heap resident: importing, the migration check,
    the command line's own runtime. glibc keeps it because its trim threshold grows with the
    large blocks seen at start. One call here, before the first request, returns it; nothing
    on the request path changes (ADR 0016).
    """
    try:
        # The symbols the interpreter already has loaded, the C library's among them.
        trim = ctypes.CDLL(None).malloc_trim
    except (OSError, AttributeError):
        return False  # not glibc (musl, macOS): nothing to do
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    trim(0)
    return True


async def _flush_usage_forever(runtime: Runtime) -> None:
    while True:
        await asyncio.sleep(runtime.settings.usage_flush_seconds)
        await _flush_usage(runtime)


async def _housekeeping_forever(runtime: Runtime) -> None:
    """Prune ended rows (and old audit events) every few minutes, bounded batches each time.

    Each process waits a random part of the period first, so that workers started together do
    not all prune at the same moment; running at the same time would be safe, only wasteful.
    """
    period = runtime.settings.prune_every_seconds
    await asyncio.sleep(period * secrets.randbelow(1000) / 1000)
    while True:
        try:
            await anyio.to_thread.run_sync(runtime.housekeeping.run_round)
        except Exception:
            # An ended row kept a little longer harms no one; the next round tries again.
            log.exception("could not prune ended rows")
        await asyncio.sleep(period)


async def _sample_metrics_forever(runtime: Runtime) -> None:
    """Copy the caches', pools' and feed's state into the metrics every second (on the loop:
    a sample is a few dozen dictionary and counter steps)."""
    while True:
        try:
            runtime.metrics.sample()
        except Exception:
            # A metric a second late harms no one; the next round tries again.
            log.exception("could not sample the metrics")
        await asyncio.sleep(_SAMPLE_SECONDS)


async def _refresh_credentials_forever(runtime: Runtime) -> None:
    """Renew cached credentials in use before their TTL runs out (ADR 0010).

    Every quarter TTL: an entry becomes due half a TTL before it expires, so it is read again
    in time, in bulk, here rather than by a request.
    """
    interval = runtime.services.credential_cache.ttl.total_seconds() / 4
    while True:
        await asyncio.sleep(interval)
        try:
            await anyio.to_thread.run_sync(runtime.services.authenticator.refresh_due)
        except Exception:
            # The entries then simply expire, and requests read them: slower, never wrong.
            log.exception("could not refresh cached credentials")


def serve_app() -> FastAPI:
    """The factory ``tessera serve`` hands uvicorn: each worker configures logging and builds."""
    settings = Settings()
    configure_logging(
        settings.log_level,
        access_log=settings.access_log,
        verbose=settings.verbose,
        json_lines=settings.log_format == "json",
    )
    # The worker's connections are made by the protocol class ``tessera serve`` names; its
    # limits come from the settings this process read (a class cannot be sent to a worker).
    LimitedHttpProtocol.header_seconds = settings.http_header_timeout_seconds
    return create_app(settings)
