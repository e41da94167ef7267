"""Which peers are trusted proxies, and which client a trusted chain names (ADR 0024)."""

import pytest

from tessera.core.proxies import TrustedProxies
from tessera.core.tags import TagPolicy


@pytest.mark.parametrize(
    ("listed", "peer", "trusted"),
    [
        ("10.0.0.0/8", "10.1.2.3", True),
        ("10.0.0.0/8", "11.1.2.3", False),
        ("192.0.2.7, 2001:db8::/32", "2001:db8::5", True),
        ("192.0.2.7", "::ffff:192.0.2.7", True),  # an IPv4 peer on an IPv6 socket
        ("127.0.0.1", "[::1]", False),
        ("::1", "[::1]", True),
        ("*", "203.0.113.1", True),
        ("*", "/run/tessera.sock", True),
        ("127.0.0.1", "/run/tessera.sock", False),
        ("", "127.0.0.1", False),
        (None, "127.0.0.1", False),
        ("127.0.0.1", None, False),
        ("127.0.0.1", "not an address", False),
    ],
)
def test_a_peer_is_trusted_only_if_listed(
    listed: str | None, peer: str | None, trusted: bool
) -> None:
    assert TrustedProxies.parse(listed).trusts(peer) is trusted


def test_a_list_that_is_not_addresses_names_what_it_cannot_read() -> None:
    with pytest.raises(ValueError, match=r"'proxy\.example' is not an IP address"):
        TrustedProxies.parse("10.0.0.0/8, proxy.example")


def test_nobody_is_trusted_by_default() -> None:
    assert not TrustedProxies.parse(None)
    assert TrustedProxies.parse("10.0.0.1")
    assert TrustedProxies.parse("*").everyone


@pytest.mark.parametrize(
    ("forwarded_for", "client"),
    [
        ("203.0.113.9", "203.0.113.9"),
        ("203.0.113.9, 10.0.0.2", "203.0.113.9"),  # the nearest address not a proxy
        ("198.51.100.1, 203.0.113.9, 10.0.0.2", "203.0.113.9"),  # the client may lie further left
        ("10.0.0.3, 10.0.0.2", "10.0.0.3"),  # every hop a proxy: the farthest
        (" , ", "10.0.0.1"),  # nothing usable: the peer
    ],
)
def test_the_client_is_the_nearest_untrusted_hop(forwarded_for: str, client: str) -> None:
    assert TrustedProxies.parse("10.0.0.0/8").client_of(forwarded_for, "10.0.0.1") == client


@pytest.mark.parametrize(
    ("patterns", "tag", "allowed_by", "denied_by", "allowed"),
    [
        ("tickets.*, -*.delete", "tickets.tickets.list", "tickets.*", None, True),
        ("tickets.*, -*.delete", "tickets.tickets.delete", "tickets.*", "-*.delete", False),
        ("tickets.*", "people.people.list", None, None, False),
        ("*, tickets.*", "tickets.x", "*", None, True),  # the first pattern that allows
    ],
)
def test_a_tag_decision_names_its_patterns(
    patterns: str, tag: str, allowed_by: str | None, denied_by: str | None, allowed: bool
) -> None:
    verdict = TagPolicy.parse(patterns).explain(tag)

    assert (verdict.allowed_by, verdict.denied_by, verdict.allowed) == (
        allowed_by,
        denied_by,
        allowed,
    )
    assert verdict.allowed is TagPolicy.parse(patterns).allows(tag)
