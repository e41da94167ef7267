"""Fetching client ID metadata documents from a real HTTPS server, and keeping them as clients.

The server (tests/document_server.py) runs on 127.0.0.1 with a certificate from a CA made for
the test; the fetch is told to trust that CA and, as an operator would for an internal
deployment, to allow 127.0.0.1. Everything else the fetch refuses as it would in production.
"""

import ipaddress
import json
import threading
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import pytest

from tessera.bootstrap import Runtime
from tessera.core.audit import AuditFilters, AuditKind
from tessera.core.client_documents import MAX_DOCUMENT_BYTES, DocumentRefused, IPAddress
from tessera.core.oauth_clients import ClientOrigin
from tessera.core.paging import PageRequest
from tessera.services.client_documents import (
    ClientDocumentService,
    DocumentFetcher,
    DocumentPolicy,
)
from tessera.services.container import Services
from tessera.services.oauth_clients import OAuthClientChanges
from tests.clock import ManualClock
from tests.document_server import Answer, DocumentServer, document_server

LOOPBACK_ONLY = (ipaddress.ip_network("127.0.0.1/32"),)
JSON = {"Content-Type": "application/json"}


@pytest.fixture(scope="module")
def documents(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DocumentServer]:
    with document_server(tmp_path_factory.mktemp("document-server")) as server:
        yield server


def policy(server: DocumentServer, **changes: Any) -> DocumentPolicy:
    values: dict[str, Any] = {
        "allowed_networks": LOOPBACK_ONLY,
        "ca_file": str(server.ca_file),
        "connect_timeout": 2.0,
        "read_timeout": 2.0,
        "deadline": 3.0,
    }
    values.update(changes)
    return DocumentPolicy(**values)


def body_for(url: str, **changes: Any) -> bytes:
    values: dict[str, Any] = {
        "client_id": url,
        "client_name": "Doc Client",
        "redirect_uris": ["http://localhost/callback"],
        "grant_types": ["authorization_code", "refresh_token"],
    }
    values.update(changes)
    return json.dumps(values).encode()


def serve_document(server: DocumentServer, path: str, **answer: Any) -> str:
    url = f"{server.url}{path}"
    server.serve(path, Answer(body=body_for(url), headers=answer.pop("headers", JSON), **answer))
    return url


class CountingResolver:
    """A resolver that answers from a table, differently each time if the test says so."""

    def __init__(self, *answers: Sequence[str]) -> None:
        self._answers = [[ipaddress.ip_address(a) for a in answer] for answer in answers]
        self.calls: list[tuple[str, int]] = []

    def __call__(self, host: str, port: int) -> list[IPAddress]:
        self.calls.append((host, port))
        return self._answers[min(len(self.calls), len(self._answers)) - 1]


# -- the fetch --------------------------------------------------------------------------------


def test_a_document_is_fetched_over_verified_tls(documents: DocumentServer) -> None:
    url = serve_document(documents, "/good.json", headers={**JSON, "Cache-Control": "max-age=60"})

    fetched = DocumentFetcher(policy(documents)).fetch(url)

    assert json.loads(fetched.body)["client_id"] == url
    assert fetched.headers["cache-control"] == "max-age=60"
    assert str(fetched.address) == "127.0.0.1"


@pytest.mark.parametrize("status", [201, 204, 301, 302, 303, 307, 308, 304, 401, 404, 500])
def test_any_status_but_200_is_refused_and_redirects_are_not_followed(
    documents: DocumentServer, status: int
) -> None:
    target = serve_document(documents, f"/target-{status}.json")
    path = f"/status-{status}.json"
    url = documents.serve(path, Answer(status, headers={**JSON, "Location": target}))

    with pytest.raises(DocumentRefused, match=f"answered {status}, not 200"):
        DocumentFetcher(policy(documents)).fetch(url)

    assert documents.requests_for(f"/target-{status}.json") == []


def test_a_document_over_5_kb_is_refused_by_its_length(documents: DocumentServer) -> None:
    url = documents.serve("/big.json", Answer(body=b" " * (MAX_DOCUMENT_BYTES + 1)))

    with pytest.raises(DocumentRefused, match="over 5120 bytes"):
        DocumentFetcher(policy(documents)).fetch(url)


def test_a_chunked_document_is_read_only_up_to_5_kb(documents: DocumentServer) -> None:
    # No Content-Length: the fetch counts, and stops reading once past the limit.
    huge = b" " * (MAX_DOCUMENT_BYTES * 200)
    url = documents.serve("/endless.json", Answer(body=huge, chunked=True, drip=1024))

    with pytest.raises(DocumentRefused, match="over 5120 bytes"):
        DocumentFetcher(policy(documents)).fetch(url)


def test_a_chunked_document_within_the_limit_is_read(documents: DocumentServer) -> None:
    url = f"{documents.url}/chunked.json"
    documents.serve("/chunked.json", Answer(body=body_for(url), chunked=True, drip=100))

    fetched = DocumentFetcher(policy(documents)).fetch(url)

    assert json.loads(fetched.body)["client_id"] == url


def test_a_slow_server_is_cut_off_at_the_deadline(documents: DocumentServer) -> None:
    # Every byte comes well within the read timeout; the whole would take 20 s.
    url = f"{documents.url}/slow.json"
    body = body_for(url)
    documents.serve("/slow.json", Answer(body=body, drip=1, drip_seconds=20 / len(body)))
    started = time.monotonic()

    with pytest.raises(DocumentRefused, match="took too long"):
        DocumentFetcher(policy(documents, deadline=1.0)).fetch(url)

    assert time.monotonic() - started < 5


def test_a_certificate_from_another_ca_is_refused(documents: DocumentServer) -> None:
    url = serve_document(documents, "/untrusted.json")

    with pytest.raises(DocumentRefused, match="certificate"):
        DocumentFetcher(policy(documents, ca_file=None)).fetch(url)


def test_the_certificate_must_be_for_the_urls_host(documents: DocumentServer) -> None:
    # other.test resolves to the server, whose certificate names docs.test only.
    serve_document(documents, "/other-name.json")
    url = f"https://other.test:{documents.port}/other-name.json"
    fetcher = DocumentFetcher(policy(documents), resolve=CountingResolver(["127.0.0.1"]))

    with pytest.raises(DocumentRefused, match="certificate"):
        fetcher.fetch(url)


def test_loopback_is_refused_unless_the_operator_allows_it(documents: DocumentServer) -> None:
    url = serve_document(documents, "/not-allowed.json")

    with pytest.raises(DocumentRefused, match="loopback"):
        DocumentFetcher(policy(documents, allowed_networks=())).fetch(url)

    assert documents.requests_for("/not-allowed.json") == []


@pytest.mark.parametrize(
    "answer",
    [["10.0.0.7"], ["169.254.169.254"], ["::ffff:127.0.0.1"], ["93.184.215.14", "192.168.0.1"]],
)
def test_a_name_resolving_to_a_private_address_is_refused(
    documents: DocumentServer, answer: list[str]
) -> None:
    url = f"https://docs.test:{documents.port}/private.json"
    resolver = CountingResolver(answer)

    with pytest.raises(DocumentRefused, match="resolves to a"):
        DocumentFetcher(policy(documents, allowed_networks=()), resolve=resolver).fetch(url)

    assert resolver.calls == [("docs.test", documents.port)]


def test_the_connection_goes_to_the_address_that_was_checked(documents: DocumentServer) -> None:
    # docs.test exists in no DNS: only the checked answer can reach the server. A second
    # question would be answered with a private address; there is none.
    path = "/rebinding.json"
    url = f"https://docs.test:{documents.port}{path}"
    documents.serve(path, Answer(body=body_for(url), headers=JSON))
    resolver = CountingResolver(["127.0.0.1"], ["10.0.0.7"])

    fetched = DocumentFetcher(policy(documents), resolve=resolver).fetch(url)

    assert json.loads(fetched.body)["client_id"] == url
    assert resolver.calls == [("docs.test", documents.port)]
    (seen,) = documents.requests_for(path)
    assert seen.address == "127.0.0.1"
    assert seen.host_header == f"docs.test:{documents.port}"


def test_the_allow_list_refuses_other_hosts_before_any_lookup(documents: DocumentServer) -> None:
    resolver = CountingResolver(["127.0.0.1"])
    fetcher = DocumentFetcher(
        policy(documents, allowed_hosts=("tools.example.com",)), resolve=resolver
    )

    with pytest.raises(DocumentRefused, match=r"from docs\.test"):
        fetcher.fetch(f"https://docs.test:{documents.port}/x.json")

    assert resolver.calls == []


def test_a_host_that_does_not_resolve_is_refused(documents: DocumentServer) -> None:
    with pytest.raises(DocumentRefused, match="does not resolve"):
        DocumentFetcher(policy(documents), resolve=CountingResolver([])).fetch(
            "https://nowhere.test/client.json"
        )


def test_fetches_beyond_the_bound_are_refused_at_once_and_a_slot_frees_when_one_ends(
    documents: DocumentServer,
) -> None:
    path = "/bounded.json"
    url = f"https://docs.test:{documents.port}{path}"
    documents.serve(path, Answer(body=body_for(url), headers=JSON))
    looking_up, go_on = threading.Event(), threading.Event()

    def slow_resolver(host: str, port: int) -> list[IPAddress]:
        looking_up.set()
        go_on.wait(10)  # as a slow name server or a slow document server holds a fetch
        return [ipaddress.ip_address("127.0.0.1")]

    fetcher = DocumentFetcher(policy(documents, concurrent_fetches=1), resolve=slow_resolver)
    with ThreadPoolExecutor(1) as pool:
        first = pool.submit(fetcher.fetch, url)
        assert looking_up.wait(10)
        started = time.monotonic()
        with pytest.raises(DocumentRefused, match="Too many fetches"):
            fetcher.fetch(url)
        refused_in = time.monotonic() - started
        go_on.set()
        assert json.loads(first.result(10).body)["client_id"] == url

    assert refused_in < 1  # not queued behind the slow one
    assert json.loads(fetcher.fetch(url).body)["client_id"] == url  # the slot was given back
    assert len(documents.requests_for(path)) == 2


# -- keeping documents as clients -------------------------------------------------------------


@pytest.fixture
def service(
    documents: DocumentServer, runtime: Runtime, services: Services, clock: ManualClock
) -> ClientDocumentService:
    return ClientDocumentService(runtime.database, clock, policy(documents))


def test_a_document_becomes_a_public_client_and_is_audited(
    documents: DocumentServer, service: ClientDocumentService, services: Services
) -> None:
    url = serve_document(documents, "/new-client.json")

    client = service.resolve(url)

    assert client.client_id == url
    assert client.origin is ClientOrigin.DOCUMENT
    assert client.is_public
    assert not client.has_secret
    assert client.name == "Doc Client"
    assert client.redirect_uris == ("http://localhost/callback",)
    assert client.may_refresh
    filters = AuditFilters(kind=AuditKind.OAUTH_CLIENT_DOCUMENT_ADDED.value)
    (event,) = services.audit.list(filters, PageRequest(1, 10)).items
    assert event.detail == {"oauth_client_id": client.id, "host": f"127.0.0.1:{documents.port}"}


def test_a_document_is_kept_for_its_max_age_then_fetched_again(
    documents: DocumentServer, service: ClientDocumentService, clock: ManualClock
) -> None:
    path = "/cached.json"
    url = serve_document(documents, path, headers={**JSON, "Cache-Control": "max-age=120"})

    first = service.resolve(url)
    clock.advance(timedelta(seconds=100))
    service.resolve(url)

    assert len(documents.requests_for(path)) == 1
    clock.advance(timedelta(seconds=30))
    documents.serve(path, Answer(body=body_for(url, client_name="Renamed"), headers=JSON))

    again = service.resolve(url)

    assert len(documents.requests_for(path)) == 2
    assert (again.id, again.name) == (first.id, "Renamed")


def test_no_store_is_kept_for_the_minimum_only(
    documents: DocumentServer, service: ClientDocumentService, clock: ManualClock
) -> None:
    path = "/no-store.json"
    url = serve_document(documents, path, headers={**JSON, "Cache-Control": "no-store"})

    service.resolve(url)
    clock.advance(timedelta(seconds=29))
    service.resolve(url)
    clock.advance(timedelta(seconds=2))
    service.resolve(url)

    assert len(documents.requests_for(path)) == 2


def test_a_failure_is_never_cached(
    documents: DocumentServer, service: ClientDocumentService
) -> None:
    path = "/flaky.json"
    url = f"{documents.url}{path}"
    documents.serve(path, Answer(503, body=b"busy"))

    with pytest.raises(DocumentRefused):
        service.resolve(url)
    documents.serve(path, Answer(body=body_for(url), headers=JSON))

    assert service.resolve(url).client_id == url
    assert len(documents.requests_for(path)) == 2


def test_a_document_whose_client_id_differs_is_refused(
    documents: DocumentServer, service: ClientDocumentService
) -> None:
    path = "/impostor.json"
    url = f"{documents.url}{path}"
    other = "https://trusted.example.com/client.json"
    documents.serve(path, Answer(body=body_for(other), headers=JSON))

    with pytest.raises(DocumentRefused, match="client_id is not the URL"):
        service.resolve(url)


def test_switched_off_nothing_is_fetched(
    documents: DocumentServer, runtime: Runtime, services: Services, clock: ManualClock
) -> None:
    url = serve_document(documents, "/off.json")
    off = ClientDocumentService(runtime.database, clock, policy(documents, enabled=False))

    with pytest.raises(DocumentRefused, match="does not accept"):
        off.resolve(url)

    assert documents.requests_for("/off.json") == []


def test_an_admin_disabling_a_document_client_sticks_across_fetches(
    documents: DocumentServer,
    service: ClientDocumentService,
    services: Services,
    clock: ManualClock,
) -> None:
    url = serve_document(documents, "/disabled.json")
    client = service.resolve(url)
    services.oauth_clients.change(client.id, OAuthClientChanges(is_enabled=False))
    clock.advance(timedelta(days=2))

    assert not service.resolve(url).is_enabled
