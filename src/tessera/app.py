"""The composition root: ``create_app(settings)`` builds everything and owns the lifespan.

Nothing imports this module but the server entry point (``tessera serve`` names
``tessera.app:create_app`` as a factory, so each worker process builds its own).
"""

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

import anyio.to_thread
from fastapi import FastAPI

from tessera.bootstrap import Runtime, build_runtime
from tessera.logs import configure_logging
from tessera.settings import Settings
from tessera.web.application import build_web_app

log = logging.getLogger(__name__)


def create_app(settings: Settings | None = None, runtime: Runtime | None = None) -> FastAPI:
    """Build the app; with ``runtime``, serve that one (its owner disposes of it)."""
    owns_runtime = runtime is None
    runtime = runtime or build_runtime(settings or Settings())

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        anyio.to_thread.current_default_thread_limiter().total_tokens = (
            runtime.settings.thread_pool_size
        )
        background = [asyncio.create_task(_flush_usage_forever(runtime))]
        if runtime.services.credential_cache.enabled:
            background.append(asyncio.create_task(_refresh_credentials_forever(runtime)))
        try:
            yield
        finally:
            for task in background:
                task.cancel()
            for task in background:
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            await _flush_usage(runtime)
            if owns_runtime:
                runtime.database.dispose()

    app = build_web_app(runtime.services, runtime.oauth, lifespan)
    app.state.runtime = runtime
    return app


async def _flush_usage(runtime: Runtime) -> None:
    try:
        await anyio.to_thread.run_sync(runtime.services.usage.flush)
    except Exception:
        # Losing a last-used time is better than losing the server; the next flush retries.
        log.exception("could not record last use of credentials")


#: How often the server prunes the audit trail, and how many batches it deletes each time.
PRUNE_EVERY_SECONDS = 3600.0
PRUNE_MAX_BATCHES = 10


async def _prune_audit(runtime: Runtime) -> None:
    try:
        await anyio.to_thread.run_sync(
            lambda: runtime.services.audit.prune(max_batches=PRUNE_MAX_BATCHES)
        )
    except Exception:
        # An old event kept a little longer harms no one; the next round tries again.
        log.exception("could not prune the audit trail")


async def _flush_usage_forever(runtime: Runtime) -> None:
    """Flush usage every few seconds; prune old audit events on the first round, then hourly.

    Bounded batches keep each prune short: a large backlog is worked off over a few hours.
    """
    next_prune = 0.0
    loop = asyncio.get_running_loop()
    while True:
        await asyncio.sleep(runtime.settings.usage_flush_seconds)
        await _flush_usage(runtime)
        if loop.time() >= next_prune:
            next_prune = loop.time() + PRUNE_EVERY_SECONDS
            await _prune_audit(runtime)


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
    configure_logging(settings.log_level)
    return create_app(settings)
