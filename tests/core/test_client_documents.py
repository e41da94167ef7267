"""Client ID metadata documents without I/O: the URL, the addresses, the document, the cache."""

import ipaddress
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tessera.core.client_documents import (
    DEFAULT_CACHE,
    MAX_CACHE,
    MAX_DOCUMENT_BYTES,
    MIN_CACHE,
    DocumentRefused,
    address_refusal,
    cache_lifetime,
    check_document_url,
    document_host,
    has_loopback_redirect,
    host_allowed,
    is_document_client_id,
    parse_document,
)

URL = "https://app.example.com/oauth/client.json"
NOW = datetime(2026, 12, 13, 12, 0, tzinfo=UTC)


def document(**changes: Any) -> bytes:
    values: dict[str, Any] = {
        "client_id": URL,
        "client_name": "Example MCP client",
        "redirect_uris": ["http://localhost/callback", "https://app.example.com/cb"],
        "grant_types": ["authorization_code", "refresh_token"],
    }
    values.update(changes)
    return json.dumps({k: v for k, v in values.items() if v is not None}).encode()


# -- the URL ----------------------------------------------------------------------------------


def test_only_https_urls_are_taken_for_documents() -> None:
    assert is_document_client_id(URL)
    assert is_document_client_id("HTTPS://app.example.com/x")
    assert not is_document_client_id("12_abcdef")
    assert not is_document_client_id("http://app.example.com/client.json")
    assert not is_document_client_id(None)


@pytest.mark.parametrize(
    "url",
    [
        "https://app.example.com",  # no path
        "https://app.example.com/",  # the root is no path
        "https://user@app.example.com/client.json",  # user information
        "https://app.example.com/client.json#x",  # a fragment
        "https://app.example.com/a/../client.json",  # a dot segment
        "https://app.example.com/./client.json",
        "https://app.example.com/client json",  # a blank
        "https:///client.json",  # no host
        "https://app.example.com:0/client.json",
        "https://app.example.com:99999/client.json",
        "https://app.example.com/" + "a" * 2000,
    ],
)
def test_urls_that_cannot_name_a_client_are_refused(url: str) -> None:
    with pytest.raises(DocumentRefused):
        check_document_url(url)


def test_a_good_url_gives_its_host() -> None:
    assert check_document_url("https://App.Example.com/c?v=1") == "app.example.com"
    assert document_host("https://app.example.com:8443/c") == "app.example.com:8443"
    assert document_host("https://app.example.com:443/c") == "app.example.com"
    assert document_host("https://[2001:db8::1]/c") == "[2001:db8::1]"


def test_the_host_allow_list_names_hosts_or_their_subdomains() -> None:
    assert host_allowed("anything.example", [])
    assert host_allowed("app.example.com", ["app.example.com"])
    assert host_allowed("a.b.example.com", [".example.com"])
    assert not host_allowed("example.com", [".example.com"])
    assert not host_allowed("evil-example.com", [".example.com"])
    assert not host_allowed("app.example.com.evil.test", ["app.example.com"])


# -- addresses --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "127.255.0.9",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "169.254.169.254",  # cloud metadata
        "100.64.0.1",  # shared address space (carrier NAT)
        "0.0.0.0",  # noqa: S104 (an address refused, not bound)
        "224.0.0.1",
        "240.0.0.1",
        "255.255.255.255",
        "192.0.2.1",  # documentation
        "198.18.0.1",  # benchmarking
        "::1",
        "::",
        "fe80::1",
        "fc00::1",
        "fd12:3456::1",
        "ff02::1",
        "fec0::1",  # site-local
        "2001:db8::1",  # documentation
        "::ffff:127.0.0.1",  # IPv4-mapped loopback
        "::ffff:10.0.0.1",
        "::ffff:169.254.169.254",
        "64:ff9b::a00:1",  # NAT64 of 10.0.0.1
        "64:ff9b::7f00:1",  # NAT64 of 127.0.0.1
        "64:ff9b:1::1",  # local-use NAT64
        "2002:7f00:1::1",  # 6to4 of 127.0.0.1
        "2002:a00:1::1",  # 6to4 of 10.0.0.1
        "2001:0:4136:e378:8000:63bf:f5ff:fffe",  # Teredo, of 10.0.0.1
    ],
)
def test_addresses_off_the_public_internet_are_refused(address: str) -> None:
    assert address_refusal(ipaddress.ip_address(address)) is not None


@pytest.mark.parametrize(
    "address", ["93.184.215.14", "1.1.1.1", "2606:4700:4700::1111", "::ffff:93.184.215.14"]
)
def test_public_addresses_are_allowed(address: str) -> None:
    assert address_refusal(ipaddress.ip_address(address)) is None


def test_the_operators_networks_are_allowed_and_only_they() -> None:
    allowed = (ipaddress.ip_network("127.0.0.1/32"), ipaddress.ip_network("fd00::/8"))

    assert address_refusal(ipaddress.ip_address("127.0.0.1"), allowed) is None
    assert address_refusal(ipaddress.ip_address("::ffff:127.0.0.1"), allowed) is None
    assert address_refusal(ipaddress.ip_address("fd12::1"), allowed) is None
    assert address_refusal(ipaddress.ip_address("127.0.0.2"), allowed) == "a loopback address"
    assert address_refusal(ipaddress.ip_address("10.0.0.1"), allowed) == "a private address"


# -- the document -----------------------------------------------------------------------------


def test_a_good_document_is_read_and_unknown_fields_ignored() -> None:
    body = document(client_uri="https://app.example.com", software_statement="x", colour=3)

    parsed = parse_document(URL, body)

    assert parsed.client_id == URL
    assert parsed.client_name == "Example MCP client"
    assert parsed.redirect_uris == ("http://localhost/callback", "https://app.example.com/cb")
    assert parsed.grant_types == ("authorization_code", "refresh_token")
    assert dict(parsed.extra) == {"client_uri": "https://app.example.com"}
    assert parsed.host == "app.example.com"


def test_grant_types_are_intersected_with_what_tessera_allows() -> None:
    asked = ["authorization_code", "client_credentials", "implicit", "password"]

    assert parse_document(URL, document(grant_types=asked)).grant_types == ("authorization_code",)
    assert parse_document(URL, document(grant_types=None)).grant_types == ("authorization_code",)


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (document(client_id=URL + "?x"), "client_id"),
        (document(client_id="https://app.example.com/oauth/client.json/"), "client_id"),
        (document(client_id=None), "client_id"),
        (document(client_name=None), "client_name"),
        (document(client_name="  "), "client_name"),
        (document(client_name="x" * 201), "too long"),
        (document(redirect_uris=None), "redirect_uris"),
        (document(redirect_uris="https://app.example.com/cb"), "redirect_uris"),
        (document(redirect_uris=[]), "redirect URI"),
        (document(redirect_uris=["http://app.example.com/cb"]), "redirect URI"),
        (document(redirect_uris=["javascript:alert(1)"]), "redirect URI"),
        (document(client_secret="s3"), "secret"),
        (document(client_secret_expires_at=0), "secret"),
        (document(token_endpoint_auth_method="client_secret_basic"), "none"),
        (document(token_endpoint_auth_method="client_secret_post"), "none"),
        # private_key_jwt needs its keys (ADR 0052), one way only, public ones only.
        (document(token_endpoint_auth_method="private_key_jwt"), "exactly one of jwks_uri"),
        (
            document(
                token_endpoint_auth_method="private_key_jwt",
                jwks_uri="https://app.example.com/jwks.json",
                jwks={"keys": [{"kty": "EC"}]},
            ),
            "exactly one of jwks_uri",
        ),
        (
            document(token_endpoint_auth_method="private_key_jwt", jwks_uri="http://a.test/k"),
            "https",
        ),
        (
            document(
                token_endpoint_auth_method="private_key_jwt",
                jwks={"keys": [{"kty": "EC", "crv": "P-256", "x": "a", "y": "b", "d": "c"}]},
            ),
            "private key",
        ),
        (document(grant_types=["refresh_token"]), "authorization_code"),
        (document(grant_types="authorization_code"), "grant_types"),
        (document(response_types=["token"]), "response_type"),
        (b"[]", "JSON object"),
        (b"{not json", "not JSON"),
        (b"\xff\xfe", "not JSON"),
        (b" " * (MAX_DOCUMENT_BYTES + 1), "bytes"),
    ],
)
def test_bad_documents_are_refused_with_a_reason(body: bytes, reason: str) -> None:
    with pytest.raises(DocumentRefused) as refused:
        parse_document(URL, body)

    assert reason in refused.value.reason


def test_a_loopback_redirect_is_noticed() -> None:
    assert has_loopback_redirect(["http://localhost:3000/cb"])
    assert has_loopback_redirect(["http://127.0.0.1/cb"])
    assert has_loopback_redirect(["http://[::1]:8080/cb"])
    assert not has_loopback_redirect(["https://app.example.com/cb", "com.example.app:/cb"])


# -- caching ----------------------------------------------------------------------------------


def http_date(moment: datetime) -> str:
    return moment.strftime("%a, %d %b %Y %H:%M:%S GMT")


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({}, DEFAULT_CACHE),
        ({"cache-control": "max-age=600"}, timedelta(seconds=600)),
        ({"cache-control": "public, max-age=600, must-revalidate"}, timedelta(seconds=600)),
        ({"cache-control": "max-age=600", "age": "100"}, timedelta(seconds=500)),
        ({"cache-control": "max-age=5"}, MIN_CACHE),
        ({"cache-control": "max-age=0"}, MIN_CACHE),
        ({"cache-control": "no-store"}, MIN_CACHE),
        ({"cache-control": "no-cache, max-age=600"}, MIN_CACHE),
        ({"cache-control": "max-age=9999999"}, MAX_CACHE),
        ({"expires": http_date(NOW + timedelta(hours=2))}, timedelta(hours=2)),
        ({"expires": http_date(NOW + timedelta(days=9))}, MAX_CACHE),
        ({"expires": "0"}, MIN_CACHE),
        ({"expires": http_date(NOW - timedelta(hours=1))}, MIN_CACHE),
        (
            {"expires": http_date(NOW + timedelta(hours=2)), "cache-control": "max-age=60"},
            timedelta(seconds=60),
        ),
        (
            {
                "date": http_date(NOW - timedelta(hours=1)),
                "expires": http_date(NOW + timedelta(hours=1)),
            },
            timedelta(hours=2),
        ),
    ],
)
def test_the_cache_lifetime_follows_the_headers_within_bounds(
    headers: dict[str, str], expected: timedelta
) -> None:
    assert cache_lifetime(headers, NOW) == expected
