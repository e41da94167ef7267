"""Client ID metadata documents: fetched with care, kept as clients without secrets (ADR 0044).

The fetch is the one place where Tessera makes a request to an address a stranger chose, so
it is guarded against server-side request forgery:

- the host is resolved **once**; every address it resolves to must pass ``address_refusal``
  (no loopback, private, link-local, multicast, reserved or special-use address, unless the
  operator allowed its network), and the connection goes to exactly the address that was
  checked — a resolver answering differently a moment later changes nothing;
- TLS with SNI and the certificate checked for the URL's host name (the system's trust store,
  or the operator's CA bundle);
- no redirects (``http.client`` follows none, and any status but 200 is a refusal), at most
  ``MAX_DOCUMENT_BYTES`` read, short connect and read timeouts, and a total deadline after
  which the socket is shut whatever the server is doing.

What the document says is judged by ``core.client_documents``; a good one is kept as a client
without a secret, public or ``private_key_jwt`` (``store.oauth_clients.save_document_client``)
until its cache lifetime ends. A failure is never kept: the next request fetches again.
"""

import contextlib
import http.client
import ipaddress
import logging
import socket
import ssl
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from tessera.core.audit import AuditKind
from tessera.core.changes import ChangeKind
from tessera.core.client_documents import (
    MAX_DOCUMENT_BYTES,
    DocumentRefused,
    IPAddress,
    Network,
    address_refusal,
    cache_lifetime,
    check_document_url,
    host_allowed,
    parse_document,
)
from tessera.core.clock import Clock
from tessera.core.oauth_clients import OAuthClient, new_random_id
from tessera.services.audit import record
from tessera.store import oauth_clients as stored
from tessera.store.changes import record_change
from tessera.store.database import Database

log = logging.getLogger(__name__)

#: ``host, port`` → the addresses it resolves to (``socket.getaddrinfo`` unless a test says).
Resolve = Callable[[str, int], Sequence[IPAddress]]


def system_resolve(host: str, port: int) -> list[IPAddress]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    addresses: list[IPAddress] = []
    for _family, _type, _proto, _name, sockaddr in infos:
        address = ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])
        if address not in addresses:
            addresses.append(address)
    return addresses


@dataclass(frozen=True, slots=True)
class DocumentPolicy:
    """The operator's settings for metadata documents (``TESSERA_OAUTH_CLIENT_DOCUMENTS*``)."""

    enabled: bool = True
    #: Host names (``.example.com``: its subdomains) documents may come from; empty: any.
    allowed_hosts: tuple[str, ...] = ()
    #: Networks the fetch may reach although they are not public (internal deployments, tests).
    allowed_networks: tuple[Network, ...] = ()
    #: A CA bundle (PEM) to check the document servers' certificates; None: the system's.
    ca_file: str | None = None
    connect_timeout: float = 3.0
    read_timeout: float = 3.0
    #: The whole fetch, from resolving the name to the last byte.
    deadline: float = 5.0
    #: Plain http redirect URIs to other hosts (the operator's legacy switch, ADR 0019).
    allow_insecure_redirects: bool = False
    #: Fetches in progress at once, per fetcher (documents; JWK Sets have their own); one more
    #: is refused at once, so URLs that answer slowly hold at most this many threads.
    concurrent_fetches: int = 4


@dataclass(frozen=True, slots=True)
class FetchPurpose:
    """What is fetched: named in refusals, bounded in size, its URL judged by ``check_url``
    (which returns the host in lower case, or raises ``DocumentRefused``)."""

    #: As refusals name it: "client metadata document", "JWK Set".
    what: str
    #: As refusals name the URL: "client_id URL", "jwks_uri".
    url_name: str
    max_bytes: int
    check_url: Callable[[str], str]
    #: Whether the operator's host allow-list applies (it says who may name clients).
    allow_list: bool = True


#: Client ID metadata documents (ADR 0044).
DOCUMENT_FETCH = FetchPurpose(
    "client metadata document", "client_id URL", MAX_DOCUMENT_BYTES, check_document_url
)


@dataclass(frozen=True, slots=True)
class FetchedDocument:
    body: bytes
    #: Response headers, names in lower case.
    headers: dict[str, str] = field(default_factory=dict)
    #: The address the document came from (the one checked).
    address: IPAddress | None = None


class _Connected(http.client.HTTPConnection):
    """An HTTP connection over a socket already opened (and TLS-wrapped) by the fetcher."""

    default_port = 443

    def __init__(self, sock: socket.socket, host: str, port: int) -> None:
        super().__init__(host, port)
        self.sock = sock

    def connect(self) -> None:  # never called: the socket is given
        raise ConnectionError("the document fetch connects only to the address it checked")


class DocumentFetcher:
    def __init__(
        self,
        policy: DocumentPolicy,
        *,
        resolve: Resolve = system_resolve,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._policy = policy
        self._resolve = resolve
        self._monotonic = monotonic
        self._tls = ssl.create_default_context(cafile=policy.ca_file)
        self._in_flight = threading.BoundedSemaphore(policy.concurrent_fetches)

    def checked_addresses(
        self, url: str, purpose: FetchPurpose = DOCUMENT_FETCH
    ) -> tuple[str, int, list[IPAddress]]:
        """The URL's host, port and the addresses it resolves to, all of them allowed.

        Raises:
            DocumentRefused: a bad URL, a host not on the allow-list, a name that does not
                resolve, or an address the fetch may not reach.
        """
        host = purpose.check_url(url)
        if purpose.allow_list and not host_allowed(host, self._policy.allowed_hosts):
            raise DocumentRefused(
                f"This server does not accept client metadata documents from {host}."
            )
        port = urlsplit(url).port or 443
        try:
            addresses: Sequence[IPAddress] = [ipaddress.ip_address(host)]
        except ValueError:
            try:
                addresses = self._resolve(host, port)
            except (OSError, UnicodeError):
                raise DocumentRefused(
                    f"The {purpose.url_name}'s host {host} does not resolve."
                ) from None
        if not addresses:
            raise DocumentRefused(f"The {purpose.url_name}'s host {host} does not resolve.")
        for address in addresses:
            refusal = address_refusal(address, self._policy.allowed_networks)
            if refusal is not None:
                raise DocumentRefused(
                    f"The {purpose.url_name}'s host {host} resolves to {refusal}, "
                    "which this server does not fetch from."
                )
        return host, port, list(addresses)

    def fetch(self, url: str, purpose: FetchPurpose = DOCUMENT_FETCH) -> FetchedDocument:
        """GET the document at ``url``: 200 only, no redirects, at most ``purpose.max_bytes``
        (5 KB for metadata documents), within the deadline.

        Raises:
            DocumentRefused: the URL, the address, the connection, the TLS certificate, the
                status, the size or the time was wrong, or ``concurrent_fetches`` were in
                progress already; the reason says which.
        """
        # Anyone may name a URL (a client_id, a jwks_uri) that answers as slowly as the
        # deadline allows: without a bound, a flood of them would take every worker thread
        # and the pages and the admin API with them. Refused rather than queued: a queue
        # would hold the same threads.
        if not self._in_flight.acquire(blocking=False):
            raise DocumentRefused(
                f"Too many fetches of a {purpose.what} are in progress; try again in a moment."
            )
        try:
            return self._fetch(url, purpose)
        finally:
            self._in_flight.release()

    def _fetch(self, url: str, purpose: FetchPurpose) -> FetchedDocument:
        started = self._monotonic()
        host, port, addresses = self.checked_addresses(url, purpose)
        address = addresses[0]
        remaining = self._policy.deadline - (self._monotonic() - started)
        try:
            raw = socket.create_connection(
                (str(address), port),
                timeout=max(0.001, min(self._policy.connect_timeout, remaining)),
            )
        except OSError:
            raise DocumentRefused(f"Could not connect to {host} for its {purpose.what}.") from None
        # The total deadline: shut the socket whatever it is waiting for (a server dripping
        # bytes slower than the read timeout would otherwise hold the request for ever).
        # The socket in use: the TLS one replaces (detaches) the plain one once wrapped.
        open_socket = [raw]
        remaining = self._policy.deadline - (self._monotonic() - started)
        watchdog = threading.Timer(max(0.0, remaining), _shut, (open_socket,))
        watchdog.daemon = True
        watchdog.start()
        try:
            return self._exchange(open_socket, url, host, port, address, started, purpose)
        finally:
            watchdog.cancel()
            open_socket[-1].close()

    def _exchange(
        self,
        open_socket: list[socket.socket],
        url: str,
        host: str,
        port: int,
        address: IPAddress,
        started: float,
        purpose: FetchPurpose,
    ) -> FetchedDocument:
        policy, what, limit = self._policy, purpose.what, purpose.max_bytes
        try:
            open_socket[0].settimeout(policy.read_timeout)
            tls = self._tls.wrap_socket(open_socket[0], server_hostname=host)
            open_socket.append(tls)
            connection = _Connected(tls, host, port)
            parts = urlsplit(url)
            target = parts.path + (f"?{parts.query}" if parts.query else "")
            connection.request(
                "GET",
                target,
                headers={"Accept": "application/json", "User-Agent": "Tessera"},
            )
            response = connection.getresponse()
            if response.status != 200:
                raise DocumentRefused(f"The {what} at {host} answered {response.status}, not 200.")
            headers = {name.lower(): value for name, value in response.getheaders()}
            if headers.get("content-encoding", "identity").lower() != "identity":
                raise DocumentRefused(f"The {what} came compressed.")
            length = headers.get("content-length", "").strip()
            if length.isdigit() and int(length) > limit:
                raise DocumentRefused(f"The {what} is over {limit} bytes.")
            body = b""
            while True:
                if self._monotonic() - started > policy.deadline:
                    raise DocumentRefused(f"The {what} at {host} took too long.")
                chunk = response.read1(limit + 1 - len(body))
                if not chunk:
                    break
                body += chunk
                if len(body) > limit:
                    raise DocumentRefused(f"The {what} is over {limit} bytes.")
            # The watchdog's shutdown reads as the end of the body: a cut document is no document.
            if self._monotonic() - started >= policy.deadline:
                raise DocumentRefused(f"The {what} at {host} took too long.")
            if response.length:  # fewer bytes than Content-Length said
                raise DocumentRefused(f"The {what} at {host} was cut short.")
            connection.close()
        except ssl.SSLCertVerificationError:
            raise DocumentRefused(
                f"The certificate of {host} could not be verified for its {what}."
            ) from None
        except TimeoutError:
            raise DocumentRefused(f"The {what} at {host} took too long.") from None
        except (OSError, http.client.HTTPException):
            if self._monotonic() - started >= policy.deadline:
                raise DocumentRefused(f"The {what} at {host} took too long.") from None
            raise DocumentRefused(f"The {what} at {host} could not be read.") from None
        return FetchedDocument(body, headers, address)


def _shut(open_socket: list[socket.socket]) -> None:
    with contextlib.suppress(OSError):  # already closed: the fetch ended in time
        open_socket[-1].shutdown(socket.SHUT_RDWR)


class ClientDocumentService:
    """Metadata-document clients: fetched when first named or when their cache ran out."""

    def __init__(
        self,
        database: Database,
        clock: Clock,
        policy: DocumentPolicy,
        *,
        fetcher: DocumentFetcher | None = None,
    ) -> None:
        self._database = database
        self._clock = clock
        self.policy = policy
        self._fetcher = fetcher or DocumentFetcher(policy)

    @property
    def enabled(self) -> bool:
        return self.policy.enabled

    def resolve(self, url: str) -> OAuthClient:
        """The client the document at ``url`` describes, fetched now if not kept or expired.

        Raises:
            DocumentRefused: documents are off, the host is not allowed, or the fetch or the
                document failed (nothing is kept of a failure).
        """
        if not self.policy.enabled:
            raise DocumentRefused("This server does not accept client metadata documents.")
        host = check_document_url(url)
        if not host_allowed(host, self.policy.allowed_hosts):
            raise DocumentRefused(
                f"This server does not accept client metadata documents from {host}."
            )
        now = self._clock.now()
        with self._database.read() as session:
            known = stored.client_with_secret_by_document(session, url)
        if known is not None:
            expires = known.client.document_expires_at
            if expires is not None and expires > now:
                return known.client
        try:
            fetched = self._fetcher.fetch(url)
            document = parse_document(
                url, fetched.body, allow_insecure_redirects=self.policy.allow_insecure_redirects
            )
        except DocumentRefused as refused:
            log.warning("client metadata document refused: %s", refused.reason)
            raise
        now = self._clock.now()
        metadata: dict[str, object] = {"grant_types": list(document.grant_types)}
        metadata.update(document.extra)
        with self._database.write() as session:
            saved = stored.save_document_client(
                session,
                url=url,
                random_id=new_random_id(),
                name=document.client_name,
                redirect_uris=document.redirect_uris,
                metadata=metadata,
                expires_at=now + cache_lifetime(fetched.headers, now),
                now=now,
                private_key_jwt=document.private_key_jwt,
                jwks_uri=document.jwks_uri,
                jwks=document.jwks,
            )
            if saved.created or saved.changed:
                kind = (
                    AuditKind.OAUTH_CLIENT_DOCUMENT_ADDED
                    if saved.created
                    else AuditKind.OAUTH_CLIENT_DOCUMENT_CHANGED
                )
                record(
                    session,
                    kind,
                    self._clock,
                    detail={"oauth_client_id": saved.client.id, "host": document.host},
                )
            if saved.changed:
                # New redirect URIs or grant types change what its tokens' holders may do.
                record_change(session, ChangeKind.OAUTH_CLIENT, saved.client.id, now=now)
        return saved.client
