"""``acr``, ``amr`` and ``acr_values`` (OpenID Connect Core §2, §3.1.2.1; RFC 8176), in the manner
of the Basic OP conformance modules beside them (test_conformance_basic_op.py): Authlib's client
as the relying party, joserfc checking the ID token against the published JWKS, the person a
browser that signs in by password on the login form or by a magic link mailed to a real SMTP
server on loopback.
"""

import re
from collections.abc import Iterator

import httpx
import pytest

from tessera.core.oauth_clients import AccessTokenFormat, ClientContext
from tessera.services.container import Services
from tessera.services.oauth_clients import IssuedOAuthClient
from tests.clock import ManualClock
from tests.factories import make_oauth_client, make_person
from tests.mail_server import MailSite, link_in, mail_site
from tests.oauth.device_flows import approve, make_device_client, poll, start
from tests.oauth.flows import WEB_CALLBACK, Account, Browser, refresh
from tests.oauth.test_conformance_basic_op import RelyingParty, code_flow, consent, remembered
from tests.oauth.test_jwt_access_tokens import validated

PASSWORD = "urn:tessera:acr:password"
MAGIC_LINK = "urn:tessera:acr:magic-link"
IDENTITY_PROVIDER = "urn:tessera:acr:identity-provider"
LINK_REQUEST = "/api/v2/api_tokens/magic_link/email"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture
def rp(
    server: str, api: httpx.Client, web_app: IssuedOAuthClient, clock: ManualClock
) -> Iterator[RelyingParty]:
    party = RelyingParty(server, api, web_app, clock)
    with party.client:
        yield party


def test_oidcc_discovery_advertises_acr_values(api: httpx.Client) -> None:
    document = api.get("/.well-known/openid-configuration").json()

    assert document["acr_values_supported"] == [PASSWORD, IDENTITY_PROVIDER, MAGIC_LINK]
    assert {"acr", "amr"} <= set(document["claims_supported"])
    assert (
        api.get("/.well-known/oauth-authorization-server").json()["acr_values_supported"]
        == (document["acr_values_supported"])
    )


def test_oidcc_acr_and_amr_say_a_password_was_used(rp: RelyingParty, browser: Browser) -> None:
    claims = rp.id_token_claims(code_flow(rp, browser))

    assert claims["acr"] == PASSWORD
    assert claims["amr"] == ["pwd"]


def test_oidcc_acr_values_are_voluntary_and_the_acr_says_what_happened(
    rp: RelyingParty, browser: Browser
) -> None:
    # Core §3.1.2.1: acr_values is a voluntary claim request; the answer names the real class.
    claims = rp.id_token_claims(
        code_flow(rp, browser, acr_values=f"{MAGIC_LINK} {IDENTITY_PROVIDER}")
    )

    assert claims["acr"] == PASSWORD


def test_oidcc_refresh_keeps_the_acr_of_the_sign_in(rp: RelyingParty, browser: Browser) -> None:
    first = code_flow(rp, browser, scope="openid offline_access")

    again = rp.refresh(first["refresh_token"])

    assert rp.id_token_claims(again)["acr"] == PASSWORD
    assert rp.id_token_claims(again)["amr"] == ["pwd"]


def test_a_jwt_access_token_carries_the_acr_too(
    server: str, api: httpx.Client, browser: Browser, services: Services, clock: ManualClock
) -> None:
    app = make_oauth_client(
        services, redirect_uris=[WEB_CALLBACK], access_token_format=AccessTokenFormat.JWT
    )
    party = RelyingParty(server, api, app, clock)
    with party.client:
        token = code_flow(party, browser)

    claims = validated(api, token["access_token"])
    assert (claims["acr"], claims["amr"]) == (PASSWORD, ["pwd"])


# -- a person who signed in by magic link ----------------------------------------------------


@pytest.fixture(scope="module")
def module_site(database_url: str, clock: ManualClock) -> Iterator[MailSite]:
    with mail_site(database_url, clock) as site:
        yield site


@pytest.fixture
def site(module_site: MailSite, clock: ManualClock) -> Iterator[MailSite]:
    yield module_site
    module_site.clean(clock)


def test_oidcc_acr_and_amr_say_a_magic_link_was_used(site: MailSite, clock: ManualClock) -> None:
    services = site.runtime.services
    person = make_person(services, agent=False)  # a helpdesk user: links are for them
    app = make_oauth_client(services, redirect_uris=[WEB_CALLBACK], context=ClientContext.USER)
    browser = Browser(site.url)
    try:
        asked = browser.http.post(LINK_REQUEST, json={"email": person.primary_email})
        assert asked.status_code == 204
        link, code = link_in(site.inbox.wait_for(1)[0])
        page = browser.http.get(link.replace("http://helpdesk.test", site.url))
        found = _CSRF.search(page.text)
        assert found is not None, page.text
        signed_in = browser.http.post(f"/magic-link/{code}", data={"csrf_token": found[1]})
        assert signed_in.status_code == 303, signed_in.text

        with httpx.Client(base_url=site.url, timeout=60) as api:
            party = RelyingParty(site.url, api, app, clock)
            with party.client:
                location = consent(browser, party.authorization_url())
                claims = party.id_token_claims(party.exchange(location))
    finally:
        browser.close()

    assert claims["acr"] == MAGIC_LINK
    assert claims["amr"] == ["otp"]


def test_the_device_grant_carries_the_sign_in_of_the_browser_that_approved(
    api: httpx.Client, browser: Browser, services: Services
) -> None:
    # Its JWT access token shows what the grant recorded (no openid asked: no ID token).
    device = make_device_client(services, access_token_format=AccessTokenFormat.JWT)
    started = start(api, device)
    approve(browser, started["user_code"])

    token = poll(api, device, started["device_code"]).json()

    claims = validated(api, token["access_token"])
    assert (claims["acr"], claims["amr"]) == (PASSWORD, ["pwd"])
    assert isinstance(claims["auth_time"], int)
    assert "id_token" not in token


def test_the_device_grant_gives_an_id_token_when_openid_is_granted(
    server: str,
    api: httpx.Client,
    browser: Browser,
    account: Account,
    services: Services,
    clock: ManualClock,
) -> None:
    device = make_device_client(services)
    started = start(api, device, scope="openid email offline_access")
    approve(browser, started["user_code"])

    token = poll(api, device, started["device_code"]).json()
    party = RelyingParty(server, api, device, clock)
    claims = party.id_token_claims(remembered(token))
    again = party.id_token_claims(remembered(refresh(api, device, token["refresh_token"]).json()))

    assert (claims["acr"], claims["amr"]) == (PASSWORD, ["pwd"])
    assert claims["email"] == account.email
    assert "nonce" not in claims
    assert (again["sub"], again["auth_time"]) == (claims["sub"], claims["auth_time"])
