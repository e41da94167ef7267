"""OAuth issuance leaves the same trail as the other ways of getting a token."""

import httpx

from tessera.core.audit import AuditFilters
from tessera.core.paging import PageRequest
from tessera.services.container import Services
from tessera.services.oauth_clients import IssuedOAuthClient
from tests.oauth.flows import (
    TOKEN,
    Account,
    Browser,
    granted,
    issue_tokens,
    post_as,
    received,
    refresh,
    tokens_of,
)


def test_oauth_tokens_are_recorded_as_issued_by_oauth(
    api: httpx.Client,
    browser: Browser,
    web_app: IssuedOAuthClient,
    account: Account,
    services: Services,
) -> None:
    tokens = issue_tokens(browser, api, web_app)
    tokens_of(refresh(api, web_app, tokens.refresh))

    listing = services.audit.list(AuditFilters(kind="api_token.issued"), PageRequest(1, 10))

    details = [event.detail for event in reversed(listing.items)]
    assert [d["refreshed"] for d in details] == [False, True]
    assert {d["source"] for d in details} == {"oauth"}
    assert {d["oauth_client_id"] for d in details} == {web_app.client.id}
    everything = str(services.audit.list(AuditFilters(), PageRequest(1, 200)).items)
    assert tokens.access.split(":", 1)[-1] not in everything
    assert tokens.refresh not in everything
    assert account.password not in everything


def test_the_trail_names_the_scope_each_oauth_token_was_granted(
    api: httpx.Client, browser: Browser, web_app: IssuedOAuthClient, services: Services
) -> None:
    # ADR 0042: a narrowed token, and a refresh that narrows it further, say so.
    first = granted(browser, api, web_app, "me.*")
    data = {"grant_type": "refresh_token", "refresh_token": first["refresh_token"]}
    narrowed = post_as(api, web_app, TOKEN, {**data, "scope": "me.me.get"})
    received(narrowed)

    listing = services.audit.list(AuditFilters(kind="api_token.issued"), PageRequest(1, 10))

    scopes = [event.detail["scope"] for event in reversed(listing.items)]
    assert scopes == ["me.*", "me.me.get"]
