"""The public keys of ``private_key_jwt`` clients that publish them at a ``jwks_uri`` (ADR 0052).

Fetched with the guarded fetcher of metadata documents (``services.client_documents``: https
only, the name resolved once and every address checked against SSRF, no redirects, a size
bound, a deadline), judged by ``core.client_keys``, and kept in this process:

- for as long as the answer's caching headers say, within 30 s .. 1 day (the documents' rule);
- refetched at once when an assertion names a ``kid`` the kept set does not hold (the client
  rotated its key), but at most once per ``KID_REFETCH_INTERVAL`` per address, so that made-up
  ``kid`` values cannot turn Tessera into a client of someone else's server;
- never kept when the fetch or the set is refused: the next assertion fetches again;
- at most ``MAX_KEPT`` addresses, the least recently used forgotten first.

Each process keeps its own copy (a set is public and small, and a process that has not seen a
rotation refetches on the first unknown ``kid``); what must be shared, the ``jti`` already used,
is in the database (``store.client_assertions``).
"""

import logging
import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from tessera.core.client_documents import DocumentRefused, cache_lifetime
from tessera.core.client_keys import (
    MAX_JWKS_BYTES,
    KeysRefused,
    jwks_uri_problem,
    parse_jwks_body,
)
from tessera.core.clock import Clock
from tessera.services.client_documents import DocumentFetcher, FetchPurpose

log = logging.getLogger(__name__)

#: Addresses whose key sets are kept at once.
MAX_KEPT = 1000
#: The least time between two fetches of one address for unknown ``kid`` values.
KID_REFETCH_INTERVAL = timedelta(seconds=30)


def _jwks_host(url: str) -> str:
    problem = jwks_uri_problem(url)
    if problem is not None:
        raise DocumentRefused(problem)
    return (urlsplit(url).hostname or "").lower()


#: The fetcher's rules for a key set; the operator's host allow-list is for documents (who may
#: name a client), not for where a client keeps its keys: every address is still checked.
JWKS_FETCH = FetchPurpose("JWK Set", "jwks_uri", MAX_JWKS_BYTES, _jwks_host, allow_list=False)


class KeysNeeded(Exception):
    """The key set at ``url`` must be fetched before an assertion signed with ``kid`` can be
    checked: raised inside a step's transaction, which then ends, so that the fetch happens
    outside it (``OAuthService`` fetches and runs the step again)."""

    def __init__(self, url: str, kid: str | None) -> None:
        super().__init__(url)
        self.url = url
        self.kid = kid


@dataclass(frozen=True, slots=True)
class _Kept:
    jwks: dict[str, Any]
    expires_at: datetime
    #: When it was last fetched because of an unknown ``kid`` (None: never).
    kid_refetched_at: datetime | None = None


def holds_kid(jwks: dict[str, Any], kid: str) -> bool:
    return any(key.get("kid") == kid for key in jwks.get("keys", ()))


class ClientKeySets:
    def __init__(self, fetcher: DocumentFetcher, clock: Clock) -> None:
        self._fetcher = fetcher
        self._clock = clock
        self._lock = threading.Lock()
        self._kept: OrderedDict[str, _Kept] = OrderedDict()

    def kept(self, url: str, kid: str | None = None) -> dict[str, Any]:
        """The key set kept for ``url``, without I/O.

        Raises:
            KeysNeeded: none is kept (or it expired), or it lacks ``kid`` and may be fetched
                again for it: ``keys_at`` fetches it, outside any transaction.
        """
        now = self._clock.now()
        with self._lock:
            kept = self._kept.get(url)
        if kept is None or kept.expires_at <= now:
            raise KeysNeeded(url, kid)
        if kid is None or holds_kid(kept.jwks, kid):
            return kept.jwks
        last = kept.kid_refetched_at
        if last is not None and now - last < KID_REFETCH_INTERVAL:
            return kept.jwks  # the unknown key is the assertion's problem
        raise KeysNeeded(url, kid)

    def keys_at(self, url: str, kid: str | None = None) -> dict[str, Any]:
        """The key set at ``url``: kept, or fetched now; fetched again once for a ``kid`` the
        kept set does not hold (within ``KID_REFETCH_INTERVAL``, the kept set is answered and
        the unknown key is the assertion's problem).

        Raises:
            KeysRefused: the fetch failed or the set is not usable (nothing is kept of it).
        """
        now = self._clock.now()
        with self._lock:
            kept = self._kept.get(url)
            if kept is not None:
                self._kept.move_to_end(url)
        if kept is not None and kept.expires_at > now:
            if kid is None or holds_kid(kept.jwks, kid):
                return kept.jwks
            last = kept.kid_refetched_at
            if last is not None and now - last < KID_REFETCH_INTERVAL:
                return kept.jwks
            return self._fetch(url, now, kid_refetch=True)
        return self._fetch(url, now, kid_refetch=False)

    def _fetch(self, url: str, now: datetime, *, kid_refetch: bool) -> dict[str, Any]:
        try:
            fetched = self._fetcher.fetch(url, JWKS_FETCH)
            jwks = parse_jwks_body(fetched.body)
        except (DocumentRefused, KeysRefused) as refused:
            reason = refused.reason
            log.warning("a client's JWK Set was refused: %s", reason)
            with self._lock:
                self._kept.pop(url, None)
            raise KeysRefused(reason) from None
        kept = _Kept(
            jwks,
            now + cache_lifetime(fetched.headers, now),
            kid_refetched_at=now if kid_refetch else None,
        )
        with self._lock:
            self._kept[url] = kept
            self._kept.move_to_end(url)
            while len(self._kept) > MAX_KEPT:
                self._kept.popitem(last=False)
        return jwks
