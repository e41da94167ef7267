"""RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0) at ``/oauth/logout``.

The app's side sends what the specification lets it send (``id_token_hint``, ``client_id``,
``post_logout_redirect_uri``, ``state``) by GET or by a form POST; the browser is the person's.
Each test checks where the browser goes, whether the Tessera session really ended (the same
browser is asked to sign in again for ``prompt=none``), and the audit trail.
"""

from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest

from tessera.core.audit import AuditFilters, DetailValue
from tessera.core.paging import PageRequest
from tessera.core.people import Person
from tessera.services.container import Services
from tessera.services.oauth_clients import IssuedOAuthClient
from tests.factories import make_oauth_client
from tests.oauth.flows import (
    WEB_CALLBACK,
    Account,
    Browser,
    callback_query,
    code_request,
    hidden_fields,
    is_error_page,
    make_account,
    pkce_pair,
    signed_in,
)
from tests.oauth.test_openid import openid_tokens
from tests.secrets_seen import remember

LOGOUT = "/oauth/logout"
SIGNED_OUT = "https://app.example.test/signed-out"
STATE = "back to/ the+app&x=é"


@pytest.fixture
def rp_app(services: Services) -> IssuedOAuthClient:
    """An app that registered where people go after it signed them out."""
    return make_oauth_client(
        services,
        name="Relying Party",
        redirect_uris=[WEB_CALLBACK],
        post_logout_redirect_uris=[SIGNED_OUT],
    )


def id_token(api: httpx.Client, browser: Browser, app: IssuedOAuthClient) -> str:
    token = str(openid_tokens(browser, api, app, scope="openid")["id_token"])
    remember(token)
    return token


def still_signed_in(browser: Browser, app: IssuedOAuthClient) -> bool:
    """prompt=none: no error about signing in means the browser's session is alive."""
    _, challenge = pkce_pair()
    answer = browser.authorize(code_request(app, challenge=challenge, prompt="none"))
    assert answer.status_code == 302
    return callback_query(answer.headers["location"], WEB_CALLBACK)["error"] != "login_required"


def logout_events(services: Services, person: Person) -> list[dict[str, DetailValue]]:
    found = services.audit.list(
        AuditFilters(person_id=person.id, kind="session.signed_out_by_app"), PageRequest(1, 50)
    )
    return [event.detail for event in found.items]


def redirected_to_signed_out(answer: httpx.Response) -> dict[str, str]:
    assert answer.status_code == 303, answer.text
    location = urlsplit(answer.headers["location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == SIGNED_OUT
    return dict(parse_qsl(location.query))


def test_an_id_token_hint_for_the_person_signs_out_at_once(
    api: httpx.Client,
    browser: Browser,
    account: Account,
    rp_app: IssuedOAuthClient,
    services: Services,
) -> None:
    hint = id_token(api, browser, rp_app)

    answer = browser.http.get(
        LOGOUT,
        params={"id_token_hint": hint, "post_logout_redirect_uri": SIGNED_OUT, "state": STATE},
    )

    assert redirected_to_signed_out(answer) == {"state": STATE}
    assert not still_signed_in(browser, rp_app)
    assert logout_events(services, account.person) == [
        {"oauth_client_id": rp_app.client.client_id, "confirmed": False}
    ]


def test_without_a_hint_the_person_confirms_first(
    browser: Browser, account: Account, rp_app: IssuedOAuthClient, services: Services
) -> None:
    query = {"client_id": rp_app.client.client_id, "post_logout_redirect_uri": SIGNED_OUT}

    page = browser.http.get(LOGOUT, params=query | {"state": STATE})

    assert page.status_code == 200
    assert "Sign out of Tessera?" in page.text
    assert "Relying Party" in page.text
    assert still_signed_in(browser, rp_app)  # asking changed nothing yet
    answer = browser.http.post(
        LOGOUT, data={**hidden_fields(page.text), "logout_decision": "logout"}
    )
    assert redirected_to_signed_out(answer) == {"state": STATE}
    assert not still_signed_in(browser, rp_app)
    assert logout_events(services, account.person) == [
        {"oauth_client_id": rp_app.client.client_id, "confirmed": True}
    ]


def test_staying_signed_in_goes_nowhere(
    browser: Browser, account: Account, rp_app: IssuedOAuthClient, services: Services
) -> None:
    page = browser.http.get(
        LOGOUT,
        params={"client_id": rp_app.client.client_id, "post_logout_redirect_uri": SIGNED_OUT},
    )

    answer = browser.http.post(LOGOUT, data={**hidden_fields(page.text), "logout_decision": "stay"})

    assert answer.status_code == 200
    assert "Still signed in" in answer.text
    assert still_signed_in(browser, rp_app)
    assert logout_events(services, account.person) == []


def test_a_forged_confirmation_signs_nobody_out(
    browser: Browser, rp_app: IssuedOAuthClient
) -> None:
    answer = browser.http.post(
        LOGOUT,
        data={"csrf_token": "forged", "logout_decision": "logout"},
        headers={"Origin": "https://attacker.example.test"},
    )

    assert answer.status_code == 403
    assert still_signed_in(browser, rp_app)


def test_a_hint_for_someone_else_asks_first(
    api: httpx.Client,
    browser: Browser,
    rp_app: IssuedOAuthClient,
    services: Services,
    new_browser: Any,
) -> None:
    theirs = id_token(api, signed_in(new_browser(), make_account(services)), rp_app)

    page = browser.http.get(LOGOUT, params={"id_token_hint": theirs})

    assert page.status_code == 200
    assert "Sign out of Tessera?" in page.text
    assert still_signed_in(browser, rp_app)


@pytest.mark.parametrize(
    "params",
    [
        {"post_logout_redirect_uri": "https://attacker.example.test/"},
        {"client_id": "{client_id}", "post_logout_redirect_uri": "https://attacker.example.test/"},
        {"client_id": "{client_id}", "post_logout_redirect_uri": SIGNED_OUT + "/"},
        {"client_id": "{client_id}", "post_logout_redirect_uri": WEB_CALLBACK},
        {"post_logout_redirect_uri": SIGNED_OUT},  # no app named: cannot be checked
        {"client_id": "999_nosuchapp"},
    ],
)
def test_an_unregistered_destination_is_refused_on_our_page(
    browser: Browser, rp_app: IssuedOAuthClient, params: dict[str, str]
) -> None:
    query = {
        name: value.format(client_id=rp_app.client.client_id) for name, value in params.items()
    }

    answer = browser.http.get(LOGOUT, params=query)

    assert is_error_page(answer)
    assert still_signed_in(browser, rp_app)


def test_a_hint_issued_to_another_app_than_client_id_is_refused(
    api: httpx.Client, browser: Browser, rp_app: IssuedOAuthClient, services: Services
) -> None:
    other = make_oauth_client(services, name="Other", redirect_uris=[WEB_CALLBACK])
    hint = id_token(api, browser, other)

    answer = browser.http.get(
        LOGOUT, params={"id_token_hint": hint, "client_id": rp_app.client.client_id}
    )

    assert is_error_page(answer)


def test_the_apps_form_post_goes_on_as_a_get_that_carries_the_cookie(
    api: httpx.Client, browser: Browser, rp_app: IssuedOAuthClient
) -> None:
    hint = id_token(api, browser, rp_app)
    sent = {"id_token_hint": hint, "post_logout_redirect_uri": SIGNED_OUT, "state": STATE}

    posted = browser.http.post(LOGOUT, data=sent)

    assert posted.status_code == 303
    following = urlsplit(posted.headers["location"])
    assert following.path == LOGOUT
    assert dict(parse_qsl(following.query)) == sent
    assert redirected_to_signed_out(browser.http.get(posted.headers["location"])) == {
        "state": STATE
    }
    assert not still_signed_in(browser, rp_app)


def test_nobody_signed_in_goes_straight_back(new_browser: Any, rp_app: IssuedOAuthClient) -> None:
    answer = new_browser().http.get(
        LOGOUT,
        params={
            "client_id": rp_app.client.client_id,
            "post_logout_redirect_uri": SIGNED_OUT,
            "state": STATE,
        },
    )

    assert redirected_to_signed_out(answer) == {"state": STATE}


def test_without_a_destination_our_page_says_so(
    api: httpx.Client, browser: Browser, rp_app: IssuedOAuthClient
) -> None:
    hint = id_token(api, browser, rp_app)

    answer = browser.http.get(LOGOUT, params={"id_token_hint": hint})

    assert answer.status_code == 200
    assert "Signed out" in answer.text
    assert not still_signed_in(browser, rp_app)


def test_discovery_names_the_end_session_endpoint(api: httpx.Client) -> None:
    document = api.get("/.well-known/openid-configuration").json()

    assert document["end_session_endpoint"] == "http://helpdesk.test/oauth/logout"
