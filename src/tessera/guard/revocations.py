"""The revocation stream: a background thread that holds ``GET /authz/changes`` open.

Each event drops the cached answers it names (``cache.drop``); ``everything`` drops them all.
So does every way the stream can stop vouching for the cache: a lost connection, a reconnect
(its first event is ``everything`` anyway), and silence longer than twice the keep-alive the
server promised (``X-Tessera-Keep-Alive``): a stream that says nothing may be dead rather
than quiet. Then it reconnects, waiting longer after each failure (0.5 s doubling up to
``MAX_BACKOFF_SECONDS``, with jitter so that many guards do not all return at once).

The thread runs its own event loop, so that ``close`` ends the stream at once by cancelling
its task (a blocking read in another thread could not be interrupted).
"""

import asyncio
import contextlib
import logging
import secrets
import threading
from collections.abc import Callable

import httpx

from tessera.guard.cache import AnswerCache
from tessera.guard.events import EVERYTHING, EventLines, subject_of
from tessera.guard.metrics import GuardMetrics

log = logging.getLogger(__name__)

FIRST_BACKOFF_SECONDS = 0.5
MAX_BACKOFF_SECONDS = 30.0
#: If the server does not say (an older Tessera), the keep-alive to expect.
DEFAULT_KEEP_ALIVE_SECONDS = 10.0


class RevocationStream:
    def __init__(
        self,
        base_url: str,
        headers: dict[str, str],
        cache: AnswerCache,
        metrics: GuardMetrics,
        *,
        connect_timeout: float,
        client_factory: Callable[..., httpx.AsyncClient] = httpx.AsyncClient,
    ) -> None:
        self._base_url = base_url
        self._headers = headers
        self._cache = cache
        self._metrics = metrics
        self._connect_timeout = connect_timeout
        self._client_factory = client_factory
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None
        self._thread: threading.Thread | None = None
        #: Set while the stream is connected and has said ``everything`` (the cache is in step).
        self.live = threading.Event()
        self._failing = False

    def start(self) -> None:
        started = threading.Event()

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            self._task = loop.create_task(self._run())
            started.set()
            with contextlib.suppress(asyncio.CancelledError):
                loop.run_until_complete(self._task)
            loop.close()

        self._thread = threading.Thread(target=run, name="tessera-guard-revocations", daemon=True)
        self._thread.start()
        started.wait()

    def close(self) -> None:
        loop, task, thread = self._loop, self._task, self._thread
        if loop is None or task is None or thread is None:
            return
        with contextlib.suppress(RuntimeError):  # the loop has already ended
            loop.call_soon_threadsafe(task.cancel)
        thread.join(timeout=10)
        self.live.clear()

    async def _run(self) -> None:
        backoff = FIRST_BACKOFF_SECONDS
        timeout = httpx.Timeout(self._connect_timeout, read=None)
        async with self._client_factory(base_url=self._base_url, timeout=timeout) as client:
            while True:
                try:
                    if await self._listen(client):
                        backoff = FIRST_BACKOFF_SECONDS
                except httpx.HTTPError as error:
                    self._report_failure(f"{type(error).__name__}: {error}")
                finally:
                    self.live.clear()
                    self._cache.drop_all()
                    self._metrics.add("cache_resets")
                await asyncio.sleep(backoff * (0.5 + secrets.randbelow(1000) / 1000))
                backoff = min(backoff * 2, MAX_BACKOFF_SECONDS)

    async def _listen(self, client: httpx.AsyncClient) -> bool:
        """Hold one stream until it ends; whether it was in step with the server for a while."""
        async with client.stream("GET", "/authz/changes", headers=self._headers) as response:
            if response.status_code != 200:
                await response.aread()
                self._report_failure(f"GET /authz/changes answered {response.status_code}")
                return False
            self._metrics.add("stream_connects")
            keep_alive = _keep_alive(response.headers.get("x-tessera-keep-alive"))
            events = EventLines()
            lines = response.aiter_lines()
            heard_everything = False
            while True:
                try:
                    line = await asyncio.wait_for(anext(lines), timeout=2 * keep_alive)
                except StopAsyncIteration:
                    return heard_everything
                except TimeoutError:
                    log.warning(
                        "the revocation stream said nothing for %gs: cache dropped, reconnecting",
                        2 * keep_alive,
                    )
                    return heard_everything
                data = events.feed(line)
                if data is None:
                    continue
                if data == EVERYTHING and not heard_everything:
                    heard_everything = True
                    self._apply(data)
                    if self._failing:
                        log.warning("the revocation stream is back")
                    self._failing = False
                    self.live.set()
                    continue
                self._apply(data)

    def _apply(self, data: str) -> None:
        subject = subject_of(data)
        if subject == EVERYTHING:
            self._cache.drop_all()
            self._metrics.add("cache_resets")
        elif subject is not None:
            self._metrics.add("revocations", self._cache.drop(subject))

    def _report_failure(self, reason: str) -> None:
        # Once per outage, not once per reconnection attempt.
        if not self._failing:
            log.warning("the revocation stream is down (%s): reconnecting", reason)
        self._failing = True


def _keep_alive(value: str | None) -> float:
    try:
        seconds = float(value) if value is not None else DEFAULT_KEEP_ALIVE_SECONDS
    except ValueError:
        return DEFAULT_KEEP_ALIVE_SECONDS
    return seconds if seconds > 0 else DEFAULT_KEEP_ALIVE_SECONDS
