"""``Guard``: ask Tessera about a request, through a bounded cache kept current by the
revocation stream, and fail closed when Tessera cannot be reached.

One guard per application process: it holds one kept-alive connection pool per mode (sync for
WSGI, async for ASGI), the cache and the stream's thread. Each request it checks costs, on a
cache hit, a digest and a dictionary lookup; on a miss, one call to
``{base_url}/authz/ext-authz/{path}`` with the request's method and its credential headers
only (``requests.CREDENTIAL_HEADERS``).

Failure: Tessera unreachable, too slow (``timeout``) or answering with a server error is an
outage: the request is refused with 503 (``answers.UNAVAILABLE``), unless ``grace_seconds`` is
set and the same request was allowed within that long (never after a revocation named it).
An outage is logged once when it starts and once when it ends, and counted (``metrics``).
"""

import logging
import threading
import time
from collections.abc import Callable, Iterable
from types import TracebackType
from typing import Self
from urllib.parse import quote

import httpx

from tessera.guard.answers import (
    UNAVAILABLE,
    Identity,
    Refusal,
    identity_from_headers,
    refusal_from_answer,
)
from tessera.guard.cache import AnswerCache
from tessera.guard.metrics import GuardMetrics
from tessera.guard.requests import CacheKeys, credential_headers
from tessera.guard.resources import (
    admits,
    another_resource,
    metadata_path,
    protected_resource_metadata,
    with_metadata_challenge,
)
from tessera.guard.revocations import RevocationStream

log = logging.getLogger("tessera.guard")

DECISION_PREFIX = "/authz/ext-authz"
Answer = Identity | Refusal


class Guard:
    """Tessera's check for the requests of one application.

    ``base_url``: where Tessera answers (``https://auth.example.com``).
    ``stream_key``: an API key (``ID:CODE``) with the tag ``authz.changes.get``, for the
    revocation stream; without it answers are still cached, but live until their max-age.
    ``cache_size``: answers kept (0: none); ``grace_seconds``: see the module's docstring
    (0, the default, refuses every request while Tessera cannot be reached); ``timeout``:
    of each call to Tessera, in seconds; ``http2``: needs ``h2`` installed (``httpx[http2]``)
    and a Tessera reached through a proxy that speaks HTTP/2 (uvicorn speaks HTTP/1.1 only).
    ``resource``: this API's URI as an OAuth resource (RFC 8707): OAuth tokens meant for
    another resource are refused, and so are tokens asked for without ``resource`` unless
    ``accept_unbound_tokens``; the integrations serve its RFC 9728 metadata and name it in
    every 401 (``guard.resources``). None (the default): Tessera's route table alone decides.
    """

    def __init__(
        self,
        base_url: str,
        *,
        stream_key: str | None = None,
        cache_size: int = 10_000,
        timeout: float = 2.0,
        grace_seconds: float = 0.0,
        http2: bool = False,
        max_connections: int = 100,
        monotonic: Callable[[], float] = time.monotonic,
        resource: str | None = None,
        accept_unbound_tokens: bool = False,
        resource_name: str | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.resource = resource
        self.accept_unbound_tokens = accept_unbound_tokens
        self._resource_name = resource_name
        self.metrics = GuardMetrics()
        self._monotonic = monotonic
        self._cache = AnswerCache(cache_size, grace_seconds=grace_seconds)
        self._keys = CacheKeys()
        self._timeout = httpx.Timeout(timeout)
        self._limits = httpx.Limits(
            max_connections=max_connections, max_keepalive_connections=max_connections
        )
        self._http2 = http2
        self._sync: httpx.Client | None = None
        self._async: httpx.AsyncClient | None = None
        self._clients_lock = threading.Lock()
        self._outage_lock = threading.Lock()
        self._in_outage = False
        self._stream: RevocationStream | None = None
        if stream_key is not None:
            self._stream = RevocationStream(
                self.base_url,
                {"Authorization": f"key {stream_key}"},
                self._cache,
                self.metrics,
                connect_timeout=timeout,
            )

    # -- lifecycle --------------------------------------------------------------------------

    def start(self) -> Self:
        """Open the revocation stream (in a background thread); idempotent, thread-safe."""
        if self._stream is None or self._stream_started:
            return self  # the per-request path: no lock
        with self._clients_lock:
            if not self._stream_started:
                self._stream_started = True
                self._stream.start()
        return self

    _stream_started = False

    def wait_until_in_step(self, timeout: float) -> bool:
        """Whether the revocation stream connected (and said ``everything``) within ``timeout``."""
        return self._stream is not None and self._stream.live.wait(timeout)

    @property
    def in_step(self) -> bool:
        """Whether the revocation stream is connected now."""
        return self._stream is not None and self._stream.live.is_set()

    def close(self) -> None:
        """Stop the stream and close the sync pool (the async pool: ``aclose``, on its loop)."""
        if self._stream is not None:
            self._stream.close()
        if self._sync is not None:
            self._sync.close()
            self._sync = None

    async def aclose(self) -> None:
        """``close``, and the async pool too (call it on the event loop that used it)."""
        self.close()
        if self._async is not None:
            pool, self._async = self._async, None
            await pool.aclose()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- the API as an OAuth resource (RFC 8707, RFC 9728) -----------------------------------

    @property
    def metadata_path(self) -> str | None:
        """Where this API serves its RFC 9728 metadata (None without ``resource``)."""
        return None if self.resource is None else metadata_path(self.resource)

    def resource_metadata(self) -> dict[str, object] | None:
        """This API's RFC 9728 metadata, Tessera its authorization server."""
        if self.resource is None:
            return None
        return protected_resource_metadata(self.resource, self.base_url, name=self._resource_name)

    def _for_this_resource(self, answer: Answer) -> Answer:
        resource = self.resource
        if resource is None:
            return answer
        if isinstance(answer, Refusal):
            return with_metadata_challenge(answer, resource)
        if admits(answer, resource, accept_unbound=self.accept_unbound_tokens):
            return answer
        return another_resource(resource)

    # -- checks -----------------------------------------------------------------------------

    def check(self, method: str, path: str, headers: Iterable[tuple[bytes, bytes]]) -> Answer:
        """Tessera's answer about a request (sync: WSGI apps, threads)."""
        presented = credential_headers(headers)
        key = self._keys.key(method, path, presented)
        cached = self._cached(key)
        if cached is not None:
            return self._for_this_resource(cached)
        ticket = self._cache.ticket()
        self.metrics.add("calls")
        try:
            response = self._sync_client().request(method, _decision_path(path), headers=presented)
        except httpx.HTTPError as error:
            return self._for_this_resource(self._unreachable(key, error))
        return self._for_this_resource(self._answered(key, response, ticket))

    async def check_async(
        self, method: str, path: str, headers: Iterable[tuple[bytes, bytes]]
    ) -> Answer:
        """Tessera's answer about a request (async: ASGI apps)."""
        presented = credential_headers(headers)
        key = self._keys.key(method, path, presented)
        cached = self._cached(key)
        if cached is not None:
            return self._for_this_resource(cached)
        ticket = self._cache.ticket()
        self.metrics.add("calls")
        try:
            response = await self._async_client().request(
                method, _decision_path(path), headers=presented
            )
        except httpx.HTTPError as error:
            return self._for_this_resource(self._unreachable(key, error))
        return self._for_this_resource(self._answered(key, response, ticket))

    def _cached(self, key: bytes) -> Answer | None:
        self.metrics.add("checks")
        answer = self._cache.get(key, self._monotonic())
        if answer is not None:
            self.metrics.add("cache_hits")
            self._count(answer)
        return answer

    def _answered(self, key: bytes, response: httpx.Response, ticket: int) -> Answer:
        status = response.status_code
        if status >= 500:
            return self._unreachable(key, f"Tessera answered {status}")
        self._recovered()
        names = [
            (name.decode().lower(), value.decode("latin-1")) for name, value in response.headers.raw
        ]
        answer: Answer
        if status == 200:
            answer = identity_from_headers(dict(names))
        else:
            answer = refusal_from_answer(status, response.content, names)
        self._cache.put(key, answer, _max_age(response), self._monotonic(), ticket)
        self._count(answer)
        return answer

    def _count(self, answer: Answer) -> None:
        self.metrics.add("allowed" if isinstance(answer, Identity) else "refused")

    def _unreachable(self, key: bytes, error: object) -> Answer:
        with self._outage_lock:
            starting, self._in_outage = not self._in_outage, True
        if starting:
            self.metrics.add("outages")
            log.warning(
                "cannot reach Tessera at %s (%s): refusing requests%s until it answers",
                self.base_url,
                error,
                " but those verified within the grace period" if self._cache_grace else "",
            )
        graced = self._cache.graced(key, self._monotonic())
        if graced is not None:
            self.metrics.add("graced")
            return graced
        self.metrics.add("unavailable")
        return UNAVAILABLE

    @property
    def _cache_grace(self) -> bool:
        return self._cache.grace_seconds > 0

    def _recovered(self) -> None:
        if not self._in_outage:
            return
        with self._outage_lock:
            ending, self._in_outage = self._in_outage, False
        if ending:
            log.warning("Tessera at %s answers again", self.base_url)

    # -- connection pools -------------------------------------------------------------------

    def _sync_client(self) -> httpx.Client:
        if self._sync is None:
            with self._clients_lock:
                if self._sync is None:
                    self._sync = httpx.Client(
                        base_url=self.base_url,
                        timeout=self._timeout,
                        limits=self._limits,
                        http2=self._http2,
                    )
        return self._sync

    def _async_client(self) -> httpx.AsyncClient:
        if self._async is None:
            self._async = httpx.AsyncClient(
                base_url=self.base_url,
                timeout=self._timeout,
                limits=self._limits,
                http2=self._http2,
            )
        return self._async


def _decision_path(path: str) -> str:
    """The decision endpoint for a request path as the client sent it (percent-encoded).

    Anything a path may not hold as is (a space from a WSGI server, say) is encoded; what is
    already encoded stays so: Tessera matches the path segment by segment, as sent.
    """
    if not path.startswith("/"):
        path = "/" + path
    return DECISION_PREFIX + quote(path, safe="/%:@!$&'()*+,;=-._~")


def _max_age(response: httpx.Response) -> float:
    """How long Tessera lets the answer be reused: ``max-age``, 0 for ``no-store`` or none."""
    max_age = 0.0
    for directive in response.headers.get("cache-control", "").split(","):
        name, _, value = directive.strip().partition("=")
        name = name.lower()
        if name in ("no-store", "no-cache"):
            return 0.0
        if name == "max-age":
            try:
                max_age = max(0.0, float(value.strip('"')))
            except ValueError:
                return 0.0
    return max_age
