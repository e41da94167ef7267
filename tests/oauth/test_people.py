"""Who may authorize: active people only; only agents for agent-context apps (spec §7.1)."""

from collections.abc import Callable

import httpx

from tessera.core.oauth_clients import ClientContext
from tessera.services.container import Services
from tessera.services.oauth_clients import IssuedOAuthClient
from tessera.services.people import PersonChanges
from tests.factories import make_oauth_client
from tests.oauth.flows import (
    SESSION_COOKIE,
    WEB_CALLBACK,
    Account,
    Browser,
    code_request,
    exchange,
    hidden_fields,
    is_error_page,
    issue_code,
    issue_tokens,
    make_account,
    me,
    pkce_pair,
    refresh,
    signed_in,
    tokens_of,
)
from tests.web.envelopes import INVALID_API_TOKEN, assert_error, data_of


def test_a_disabled_person_cannot_sign_in(
    new_browser: Callable[[], Browser], services: Services, account: Account
) -> None:
    services.people.set_disabled(account.person.id, True)
    browser = new_browser()

    answer = browser.sign_in(account)

    assert answer.status_code == 401
    assert SESSION_COOKIE not in browser.http.cookies


def test_a_person_disabled_after_signing_in_cannot_consent(
    services: Services, browser: Browser, account: Account, web_app: IssuedOAuthClient
) -> None:
    page = browser.consent_page(code_request(web_app))

    services.people.set_disabled(account.person.id, True)

    decided = browser.decide(page)
    assert is_error_page(decided, 403), decided.text
    reopened = browser.authorize(code_request(web_app))
    assert reopened.status_code == 303
    assert reopened.headers["location"].startswith("/login?")


def test_a_code_issued_before_the_person_was_disabled_is_refused(
    api: httpx.Client,
    services: Services,
    browser: Browser,
    account: Account,
    web_app: IssuedOAuthClient,
) -> None:
    verifier, challenge = pkce_pair()
    code = issue_code(browser, web_app, challenge=challenge)

    services.people.set_disabled(account.person.id, True)

    answer = exchange(api, web_app, code, verifier=verifier)
    assert (answer.status_code, answer.json()["error"]) == (400, "invalid_grant")


def test_a_disabled_persons_tokens_stop_working(
    api: httpx.Client,
    services: Services,
    browser: Browser,
    account: Account,
    web_app: IssuedOAuthClient,
) -> None:
    tokens = issue_tokens(browser, api, web_app)
    data_of(me(api, tokens.access))

    services.people.set_disabled(account.person.id, True)

    assert_error(me(api, tokens.access), INVALID_API_TOKEN)
    answer = refresh(api, web_app, tokens.refresh)
    assert (answer.status_code, answer.json()["error"]) == (400, "invalid_grant")
    assert "access_token" not in answer.json()


def test_a_non_agent_cannot_authorize_an_agent_app(
    new_browser: Callable[[], Browser], services: Services, web_app: IssuedOAuthClient
) -> None:
    user = signed_in(new_browser(), make_account(services, agent=False))

    page = user.authorize(code_request(web_app))

    assert is_error_page(page, 403), page.text


def test_a_non_agent_cannot_post_a_consent_for_an_agent_app(
    new_browser: Callable[[], Browser], services: Services, web_app: IssuedOAuthClient
) -> None:
    helpdesk_app = make_oauth_client(
        services, name="Portal", redirect_uris=[WEB_CALLBACK], context=ClientContext.USER
    )
    user = signed_in(new_browser(), make_account(services, agent=False))
    # The consent form of an app the user may use, rewritten to name the agent app.
    form = hidden_fields(user.consent_page(code_request(helpdesk_app)).text)
    form |= {"decision": ["accept"], "client_id": [web_app.client.client_id]}

    answer = user.http.post("/oauth/authorize", data=form)

    assert is_error_page(answer, 403), answer.text


def test_a_non_agent_may_authorize_a_user_app(
    api: httpx.Client, new_browser: Callable[[], Browser], services: Services
) -> None:
    helpdesk_app = make_oauth_client(
        services, name="Portal", redirect_uris=[WEB_CALLBACK], context=ClientContext.USER
    )
    user = signed_in(new_browser(), make_account(services, agent=False))

    tokens = tokens_of(exchange(api, helpdesk_app, issue_code(user, helpdesk_app)))

    assert tokens.access != tokens.refresh


def test_an_agent_may_authorize_a_user_app(
    api: httpx.Client, services: Services, browser: Browser
) -> None:
    helpdesk_app = make_oauth_client(
        services, name="Portal", redirect_uris=[WEB_CALLBACK], context=ClientContext.USER
    )

    tokens = issue_tokens(browser, api, helpdesk_app)

    data_of(me(api, tokens.access))


def test_a_person_who_stopped_being_an_agent_cannot_refresh_an_agent_apps_token(
    api: httpx.Client,
    services: Services,
    browser: Browser,
    account: Account,
    web_app: IssuedOAuthClient,
) -> None:
    tokens = issue_tokens(browser, api, web_app)

    services.people.change(account.person.id, PersonChanges(is_agent=False))

    answer = refresh(api, web_app, tokens.refresh)
    assert (answer.status_code, answer.json()["error"]) == (400, "invalid_grant")
