"""The pure rules of user sources: which issuers, who is offered what, the sealed values."""

import secrets
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest

from tessera.core.secret_keys import SecretKeyRing
from tessera.core.user_sources import (
    OfferedTo,
    SourceKind,
    UserSource,
    issuer_problem,
    open_client_secret,
    open_pending,
    roles_from_groups,
    seal_client_secret,
    seal_pending,
)

RING = SecretKeyRing.single(secrets.token_urlsafe(32).encode())


def source(**overrides: Any) -> UserSource:
    made = UserSource(
        id=1,
        kind=SourceKind.OIDC,
        title="Staff",
        issuer="https://idp.example.test",
        client_id="tessera",
        sealed_secret=None,
        secret_key_version=None,
        email_claim="email",
        name_claim="name",
        groups_claim="groups",
        agent_groups=("support",),
        admin_groups=("it",),
        create_unknown=False,
        link_by_email=False,
        offered_to=OfferedTo.AGENTS,
        is_enabled=True,
        display_order=0,
        created_at=datetime.now(UTC),
        updated_at=datetime.now(UTC),
    )
    return replace(made, **overrides)


@pytest.mark.parametrize(
    ("issuer", "fine"),
    [
        ("https://login.microsoftonline.com/abc/v2.0", True),
        ("http://127.0.0.1:8080", True),
        ("http://localhost:8080/realms/x", True),
        ("http://idp.example.test", False),
        ("https://idp.example.test/?tenant=x", False),
        ("https://idp.example.test/#x", False),
        ("ftp://idp.example.test", False),
        ("https://", False),
    ],
)
def test_an_issuer_is_https_or_loopback_http(issuer: str, fine: bool) -> None:
    assert (issuer_problem(issuer) is None) is fine


def test_offered_to_matches_deskpros_contexts() -> None:
    assert OfferedTo.AGENTS.offers("agent")
    assert not OfferedTo.AGENTS.offers("user")
    assert OfferedTo.USERS.offers("user")
    assert OfferedTo.BOTH.offers("agent")
    assert OfferedTo.BOTH.offers("user")


def test_groups_make_admins_agents_or_nothing() -> None:
    mapped = source()

    admin = roles_from_groups(mapped, ["it"])
    agent = roles_from_groups(mapped, ["support", "sales"])
    user = roles_from_groups(mapped, ["sales"])

    assert admin is not None
    assert (admin.is_agent, admin.is_admin) == (True, True)
    assert agent is not None
    assert (agent.is_agent, agent.is_admin) == (True, False)
    assert user is not None
    assert (user.is_agent, user.is_admin) == (False, False)
    assert roles_from_groups(source(groups_claim=None), ["it"]) is None


def test_a_sealed_secret_opens_only_for_its_client_id() -> None:
    secret = secrets.token_urlsafe(24)
    version, sealed = seal_client_secret(RING, "tessera", secret)

    mine = source(sealed_secret=sealed, secret_key_version=version)
    moved = source(sealed_secret=sealed, secret_key_version=version, client_id="other")

    assert open_client_secret(RING, mine) == secret
    with pytest.raises(RuntimeError, match="does not open"):
        open_client_secret(RING, moved)


def test_a_pending_sign_in_opens_as_sealed_and_never_when_touched() -> None:
    values = {"state": secrets.token_urlsafe(8), "next": "/console"}
    sealed = seal_pending(RING, values)
    flipped = sealed[:-2] + ("A" if sealed[-2] != "A" else "B") + sealed[-1]
    other_ring = SecretKeyRing.single(secrets.token_urlsafe(32).encode())

    assert open_pending(RING, sealed) == values
    assert open_pending(RING, flipped) is None
    assert open_pending(other_ring, sealed) is None
    assert open_pending(RING, "not even base64 !") is None
    assert open_pending(RING, "") is None
