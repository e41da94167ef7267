"""Signing in through an external OpenID provider, in Chromium, against a real provider.

The provider is panva's certified ``oidc-provider`` (tests/identity_providers/provider.mjs) on
its own loopback port; Tessera runs with its public URL equal to its own loopback address, so
the provider's redirects come back to it. The person signs in on the provider's own login form.
"""

import base64
import json
import re
import secrets
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tessera.app import create_app
from tessera.core.audit import AuditFilters
from tessera.core.errors import NotFound
from tessera.core.oauth_clients import AccessTokenFormat
from tessera.core.paging import PageRequest
from tessera.core.user_sources import OfferedTo, UserSource
from tessera.services.container import Services
from tessera.services.user_source_settings import SourceSettings
from tests.cli.conftest import Cli, cli_environment
from tests.conftest import extra_runtime
from tests.factories import key_header, make_key, make_oauth_client, make_person
from tests.identity_providers.provider import ProviderClient, running_provider
from tests.live import loopback_socket, serving
from tests.pages.conftest import VIEWPORT, Callback
from tests.pages.test_browser_flow import arrived_at, expect_consent, start_authorization
from tests.secrets_seen import remember

pytestmark = pytest.mark.browser

TITLE = "Staff login"
CLIENT_ID = "tessera"


@dataclass(frozen=True, slots=True)
class Tessera:
    url: str
    services: Services


@pytest.fixture
def tessera(database_url: str) -> Iterator[Tessera]:
    bound, url = loopback_socket()
    with (
        extra_runtime(database_url, public_url=url) as runtime,
        serving(create_app(runtime=runtime), bound=bound) as served,
    ):
        assert served == url
        yield Tessera(url, runtime.services)


def accounts() -> dict[str, dict[str, Any]]:
    """The provider's people, by the login typed on its form."""
    return {
        "ada": {
            "email": f"ada-{secrets.token_hex(4)}@example.test",
            "email_verified": True,
            "name": "Ada Lovelace",
            "groups": ["it-admins"],
        },
        "bob": {
            "email": f"bob-{secrets.token_hex(4)}@example.test",
            "email_verified": True,
            "name": "Bob Support",
            "groups": ["support"],
        },
        "cy": {
            "email": f"cy-{secrets.token_hex(4)}@example.test",
            "email_verified": True,
            "name": "Cy Customer",
            "groups": [],
        },
    }


@dataclass
class Connected:
    source: UserSource
    issuer: str
    accounts: dict[str, dict[str, Any]]


@pytest.fixture
def connect(tessera: Tessera) -> Iterator[Any]:
    """Connect a source to a freshly started provider: ``connect(misbehave=…, **settings)``."""
    stack: list[Any] = []

    def connect(misbehave: str = "", **overrides: Any) -> Connected:
        secret = secrets.token_urlsafe(32)
        remember(secret)
        values: dict[str, Any] = {
            "title": TITLE,
            "issuer": "http://127.0.0.1:9",  # the provider's, once it runs
            "client_id": CLIENT_ID,
            "client_secret": secret,
            "create_unknown": True,
            "groups_claim": "groups",
            "agent_groups": ["support"],
            "admin_groups": ["it-admins"],
            "offered_to": OfferedTo.BOTH,
        }
        values.update(overrides)
        source = tessera.services.user_sources.create(SourceSettings(**values))
        # The console's callback, and E9's for each hand-over format.
        api = f"{tessera.url}/api/v2/api_tokens/user_sources/{source.id}/callback"
        redirects = [f"{tessera.url}/login/sources/{source.id}/callback"] + [
            f"{api}/{hand_over}" for hand_over in ("default", "ios", "deskpro_scheme")
        ]
        people = accounts()
        running = running_provider(
            [ProviderClient(CLIENT_ID, secret, redirects)], people, misbehave=misbehave
        )
        issuer = running.__enter__()
        stack.append(running)
        source = tessera.services.user_sources.update(source.id, SourceSettings(issuer=issuer))
        return Connected(source, issuer, people)

    yield connect
    for running in reversed(stack):
        running.__exit__(None, None, None)


def sign_in_at_provider(page: Page, login: str) -> None:
    """The provider's own development login form, then its consent prompt."""
    page.locator("input[name=login]").fill(login)
    page.locator("input[name=password]").fill(secrets.token_urlsafe(12))
    page.get_by_role("button", name="Sign-in").click()
    page.get_by_role("button", name="Continue").click()


def audit_kinds(services: Services) -> list[str]:
    return [e.kind for e in services.audit.list(AuditFilters(), PageRequest(1, 100)).items]


def test_an_unknown_admin_is_created_just_in_time_and_lands_in_the_console(
    tessera: Tessera, connect: Any, page: Page, context: BrowserContext
) -> None:
    connected = connect()

    page.goto(f"{tessera.url}/login?next=/console")
    page.get_by_role("link", name=f"Sign in with {TITLE}").click()
    sign_in_at_provider(page, "ada")

    expect(page).to_have_url(f"{tessera.url}/console")
    remember(*(cookie.get("value", "") for cookie in context.cookies()))
    person = tessera.services.people.find(connected.accounts["ada"]["email"])
    assert person.name == "Ada Lovelace"
    assert person.is_admin
    assert not person.has_password
    events = tessera.services.audit.list(AuditFilters(), PageRequest(1, 100)).items
    signed_in = [e for e in events if e.kind == "login.user_source"]
    assert len(signed_in) == 1
    assert signed_in[0].detail["source"] == TITLE
    assert signed_in[0].detail["subject"] == "ada"
    assert signed_in[0].subject_person_id == person.id


def test_groups_decide_agent_or_user(tessera: Tessera, connect: Any, page: Page) -> None:
    connected = connect()

    page.goto(f"{tessera.url}/login")
    page.get_by_role("link", name=f"Sign in with {TITLE}").click()
    sign_in_at_provider(page, "bob")
    expect(page).to_have_url(f"{tessera.url}/console")
    bob = tessera.services.people.find(connected.accounts["bob"]["email"])

    page.context.clear_cookies()
    page.goto(f"{tessera.url}/login")
    page.get_by_role("link", name=f"Sign in with {TITLE}").click()
    sign_in_at_provider(page, "cy")
    cy = tessera.services.people.find(connected.accounts["cy"]["email"])

    assert (bob.is_agent, bob.is_admin) == (True, False)
    assert (cy.is_agent, cy.is_admin) == (False, False)


def test_an_unknown_person_is_refused_when_just_in_time_creation_is_off(
    tessera: Tessera, connect: Any, page: Page
) -> None:
    connected = connect(create_unknown=False)

    page.goto(f"{tessera.url}/login")
    page.get_by_role("link", name=f"Sign in with {TITLE}").click()
    with page.expect_response(re.compile(r"/callback\?")) as answer:
        sign_in_at_provider(page, "ada")

    assert answer.value.status == 403
    expect(page.get_by_text("You have no account here yet")).to_be_visible()
    with pytest.raises(NotFound):
        tessera.services.people.find(connected.accounts["ada"]["email"])
    assert "login.user_source_refused" in audit_kinds(tessera.services)


@pytest.mark.parametrize("misbehave", ["audience", "nonce"])
def test_an_id_token_for_another_audience_or_nonce_is_refused(
    tessera: Tessera, connect: Any, page: Page, misbehave: str
) -> None:
    connected = connect(misbehave=misbehave)

    page.goto(f"{tessera.url}/login")
    page.get_by_role("link", name=f"Sign in with {TITLE}").click()
    with page.expect_response(re.compile(r"/callback\?")) as answer:
        sign_in_at_provider(page, "ada")

    assert answer.value.status == 401
    expect(page.get_by_text(f"Signing in with {TITLE} did not succeed")).to_be_visible()
    with pytest.raises(NotFound):
        tessera.services.people.find(connected.accounts["ada"]["email"])
    refusals = [
        e
        for e in tessera.services.audit.list(AuditFilters(), PageRequest(1, 100)).items
        if e.kind == "login.user_source_refused"
    ]
    assert len(refusals) == 1
    assert ("aud" if misbehave == "audience" else "nonce") in str(refusals[0].detail["reason"])


def test_a_provider_that_is_down_gives_a_clear_page(tessera: Tessera, page: Page) -> None:
    closed, url = loopback_socket()
    closed.close()  # nothing listens there now
    tessera.services.user_sources.create(
        SourceSettings(title=TITLE, issuer=url, client_id=CLIENT_ID)
    )

    page.goto(f"{tessera.url}/login")
    with page.expect_response(re.compile(r"/login/sources/\d+")) as answer:
        page.get_by_role("link", name=f"Sign in with {TITLE}").click()

    assert answer.value.status == 502
    expect(page.get_by_text(f"{TITLE} cannot be reached right now")).to_be_visible()


def test_a_sources_person_gets_no_token_from_the_password_exchange(
    tessera: Tessera, connect: Any, page: Page
) -> None:
    connected = connect()
    page.goto(f"{tessera.url}/login")
    page.get_by_role("link", name=f"Sign in with {TITLE}").click()
    sign_in_at_provider(page, "bob")
    expect(page).to_have_url(f"{tessera.url}/console")

    with httpx.Client(base_url=tessera.url, timeout=30) as http:
        password = secrets.token_urlsafe(16)
        remember(password)
        answer = http.post(
            "/api/v2/api_tokens",
            json={"email": connected.accounts["bob"]["email"], "password": password},
        )

    assert answer.status_code == 401
    assert answer.json()["code"] == "bad_credentials"


def test_disabling_the_source_ends_the_session_at_once(
    tessera: Tessera, connect: Any, page: Page, context: BrowserContext
) -> None:
    connected = connect()
    page.goto(f"{tessera.url}/login")
    page.get_by_role("link", name=f"Sign in with {TITLE}").click()
    sign_in_at_provider(page, "bob")
    expect(page).to_have_url(f"{tessera.url}/console")
    remember(*(cookie.get("value", "") for cookie in context.cookies()))

    tessera.services.user_sources.update(connected.source.id, SourceSettings(is_enabled=False))
    page.goto(f"{tessera.url}/console")

    expect(page).to_have_url(re.compile(re.escape(f"{tessera.url}/login")))
    expect(page.get_by_role("link", name=f"Sign in with {TITLE}")).to_have_count(0)


def test_an_app_gets_a_token_for_a_person_who_signed_in_at_the_provider(
    tessera: Tessera, connect: Any, page: Page, callback: Callback
) -> None:
    connected = connect()
    # A JWT access token (ADR 0051) shows what the grant recorded of the sign-in: acr and amr.
    app = make_oauth_client(
        tessera.services,
        name="Example App",
        redirect_uris=[callback.url],
        access_token_format=AccessTokenFormat.JWT,
    )
    assert app.secret is not None
    flow = start_authorization(tessera.url, app, callback.url)

    page.goto(flow.url)
    page.get_by_role("link", name=f"Sign in with {TITLE}").click()
    sign_in_at_provider(page, "bob")
    expect_consent(page)
    page.get_by_role("button", name="Access").click()
    arrived_at(page, callback)

    answer = callback.only_query()
    remember(answer.get("code", ""))
    with httpx.Client(base_url=tessera.url, timeout=30) as http:
        tokens = http.post(
            "/oauth/token",
            data={
                "grant_type": "authorization_code",
                "code": answer["code"],
                "redirect_uri": callback.url,
                "code_verifier": flow.verifier,
            },
            auth=(app.client.client_id, app.secret),
        ).json()
        remember(tokens.get("access_token", ""), tokens.get("refresh_token", ""))
        me = http.get("/api/v2/me", headers={"Authorization": f"Bearer {tokens['access_token']}"})
    assert me.status_code == 200, me.text
    assert me.json()["data"]["person"]["primary_email"] == connected.accounts["bob"]["email"]
    # Its signature was checked by Tessera just now (/me accepted it): the payload is ours.
    payload = tokens["access_token"].split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    assert (claims["acr"], claims["amr"]) == ("urn:tessera:acr:identity-provider", ["fed"])


# -- Deskpro's endpoints: an app's web view gets a token through the provider (E7–E9) -------


def test_the_sources_are_listed_for_their_context_as_json_and_as_a_page(
    tessera: Tessera, connect: Any
) -> None:
    connected = connect(offered_to=OfferedTo.AGENTS)
    base = f"{tessera.url}/api/v2/api_tokens/user_sources"

    with httpx.Client(timeout=30) as http:
        agent = http.get(f"{base}/agent")
        agent_json = http.get(f"{base}/agent.json")
        user = http.get(f"{base}/user")
        page = http.get(f"{base}/agent.html")
        other = http.get(f"{base}/admin")

    assert agent.status_code == 200
    assert agent.json() == agent_json.json()
    (item,) = agent.json()["data"]
    assert item == {
        "id": connected.source.id,
        "title": TITLE,
        "type": "agent",
        "source_type": "oidc",
        "display_type": "button",
        "display_order": 0,
        "display_options": {"login_url": f"{base}/{connected.source.id}/login?format=default"},
        "is_enabled": True,
    }
    assert user.json()["data"] == []
    assert page.headers["content-type"].startswith("text/html")
    assert f"Sign in with {TITLE}" in page.text
    assert other.status_code == 404
    assert other.json()["code"] == "not_found"


def start_in_web_view(page: Page, tessera: Tessera, source_id: int, hand_over: str) -> Any:
    """The app opens E8 in its web view; the person signs in at the provider; E9 answers."""
    login = f"{tessera.url}/api/v2/api_tokens/user_sources/{source_id}/login?format={hand_over}"
    page.goto(login)
    with page.expect_response(re.compile(r"/callback/")) as answer:
        sign_in_at_provider(page, "bob")
    return answer.value


def test_the_default_hand_over_calls_send_payload_with_a_working_token(
    tessera: Tessera, connect: Any, page: Page, context: BrowserContext
) -> None:
    connected = connect()
    # The app's web view defines sendPayload; the page may run nothing else (its CSP).
    context.add_init_script("window.sendPayload = (payload) => { window.received = payload; };")

    answer = start_in_web_view(page, tessera, connected.source.id, "default")

    assert answer.status == 200
    csp = answer.headers["content-security-policy"]
    assert "default-src 'none'" in csp
    assert "script-src 'sha256-" in csp
    assert answer.headers["cache-control"] == "no-store"
    page.wait_for_function("() => window.received !== undefined")
    payload = page.evaluate("() => window.received")
    remember(payload["token"])
    person = tessera.services.people.find(connected.accounts["bob"]["email"])
    assert payload["person_id"] == person.id
    with httpx.Client(base_url=tessera.url, timeout=30) as http:
        me = http.get("/api/v2/me", headers={"Authorization": f"token {payload['token']}"})
        own = http.get(
            "/api/v2/me/api_tokens", headers={"Authorization": f"token {payload['token']}"}
        )
    assert me.status_code == 200, me.text
    assert me.json()["data"]["person_id"] == person.id
    assert own.status_code == 200, own.text
    assert [token["app"]["kind"] for token in own.json()["data"]] == ["user_source"]


def test_switching_the_source_off_through_the_api_refuses_its_token_at_the_next_request(
    tessera: Tessera, connect: Any, page: Page, context: BrowserContext
) -> None:
    """A token an app got through the provider (E8/E9) dies with the admin API's PUT."""
    connected = connect()
    context.add_init_script("window.sendPayload = (payload) => { window.received = payload; };")
    start_in_web_view(page, tessera, connected.source.id, "default")
    page.wait_for_function("() => window.received !== undefined")
    token = page.evaluate("() => window.received.token")
    remember(token)
    admin = key_header(make_key(tessera.services, make_person(tessera.services, admin=True)))
    theirs = {"Authorization": f"token {token}"}
    path = f"/api/v2/user_sources/{connected.source.id}"
    with httpx.Client(base_url=tessera.url, timeout=30) as http:
        assert http.get("/api/v2/me", headers=theirs).status_code == 200

        off = http.put(path, json={"is_enabled": False}, headers=admin)

        assert off.status_code == 204, off.text
        refused = http.get("/api/v2/me", headers=theirs)
        assert refused.status_code == 401
        assert refused.json()["code"] == "invalid_api_token"
        listed = http.get("/api/v2/api_tokens/user_sources/agent.json")
    assert connected.source.id not in [source["id"] for source in listed.json()["data"]]
    assert "user_source.changed" in audit_kinds(tessera.services)


@pytest.mark.parametrize(
    ("hand_over", "scheme"),
    [("ios", "iOSDeskPro://?token="), ("deskpro_scheme", "deskpro://login_api_token?token=")],
)
def test_the_app_scheme_hand_overs_link_to_the_app_with_the_token(
    tessera: Tessera, connect: Any, page: Page, hand_over: str, scheme: str
) -> None:
    connected = connect()

    answer = start_in_web_view(page, tessera, connected.source.id, hand_over)

    assert answer.status == 200
    body = answer.text()
    match = re.search(re.escape(scheme) + r"([^&\"]+)&amp;person_id=(\d+)", body)
    assert match is not None, body
    token = match.group(1)
    remember(token)
    assert ">Continue</a>" in body
    tokens = tessera.services.api_tokens.list(PageRequest(1, 10)).items
    (issued,) = tokens
    # iOS takes the bare code; the deskpro:// scheme the whole ID:CODE.
    assert (":" in token) is (hand_over == "deskpro_scheme")
    if hand_over == "deskpro_scheme":
        assert token.startswith(f"{issued.id}:")
    person = tessera.services.people.find(connected.accounts["bob"]["email"])
    assert match.group(2) == str(person.id)
    assert issued.person_id == person.id


def test_a_forged_answer_at_the_callback_is_401_bad_credentials(
    tessera: Tessera, connect: Any, page: Page
) -> None:
    connected = connect(misbehave="audience")

    answer = start_in_web_view(page, tessera, connected.source.id, "default")

    assert answer.status == 401
    assert answer.json()["code"] == "bad_credentials"
    assert "WWW-Authenticate" in answer.headers or "www-authenticate" in answer.headers
    assert tessera.services.api_tokens.list(PageRequest(1, 10)).items == []


def test_an_unknown_source_cannot_start(tessera: Tessera) -> None:
    with httpx.Client(base_url=tessera.url, timeout=30) as http:
        answer = http.get("/api/v2/api_tokens/user_sources/4242/login?format=default")
        bad_format = http.get("/api/v2/api_tokens/user_sources/4242/login?format=android")

    assert answer.status_code == 400
    assert answer.json()["message"] == "Not supported usersource."
    assert bad_format.status_code == 400
    assert bad_format.json()["code"] == "invalid_input"


def test_a_provider_answering_for_another_issuer_gives_a_clear_page(
    tessera: Tessera, connect: Any
) -> None:
    connected = connect()
    # The same provider by another name: its discovery document names 127.0.0.1, not this.
    elsewhere = connected.issuer.replace("127.0.0.1", "localhost")
    tessera.services.user_sources.update(connected.source.id, SourceSettings(issuer=elsewhere))

    with httpx.Client(base_url=tessera.url, timeout=30) as http:
        page = http.get(f"/login/sources/{connected.source.id}")
        e8 = http.get(f"/api/v2/api_tokens/user_sources/{connected.source.id}/login")

    assert page.status_code == 502
    assert f"{TITLE} cannot be reached right now" in page.text
    assert e8.status_code == 400
    assert e8.json()["message"] == "Unable to redirect."


def test_a_source_still_signs_people_in_after_its_secret_key_is_retired(
    database_url: str, page: Page, browser: Browser, tmp_path: Path
) -> None:
    """ADR 0035's amendment, end to end: the client secret sealed under key 1; the operator
    runs ``secret-keys rotate`` and ``retire 1 --force``; a server started on the key file
    (only key 2 now) still takes the provider's answer, which needs that secret."""
    key_file = tmp_path / "tessera.secret"
    first_key = secrets.token_urlsafe(32)
    remember(first_key)
    key_file.write_text(first_key + "\n")
    cli = Cli(cli_environment(database_url))
    cli_env = {"TESSERA_SECRET_KEY": None, "TESSERA_SECRET_KEY_FILE": str(key_file)}
    before_socket, before_url = loopback_socket()
    after_socket, after_url = loopback_socket()
    secret = secrets.token_urlsafe(32)
    remember(secret)
    with ExitStack() as stack:
        before = stack.enter_context(
            extra_runtime(
                database_url, public_url=before_url, secret_key=None, secret_key_file=key_file
            )
        )
        stack.enter_context(serving(create_app(runtime=before), bound=before_socket))
        source = before.services.user_sources.create(
            SourceSettings(
                title=TITLE,
                issuer="http://127.0.0.1:9",  # the provider's, once it runs
                client_id=CLIENT_ID,
                client_secret=secret,
                create_unknown=True,
            )
        )
        redirects = [f"{url}/login/sources/{source.id}/callback" for url in (before_url, after_url)]
        issuer = stack.enter_context(
            running_provider([ProviderClient(CLIENT_ID, secret, redirects)], accounts())
        )
        before.services.user_sources.update(source.id, SourceSettings(issuer=issuer))
        page.goto(f"{before_url}/login")
        page.get_by_role("link", name=f"Sign in with {TITLE}").click()
        sign_in_at_provider(page, "bob")
        expect(page).to_have_url(f"{before_url}/console")  # key 1 sealed a secret that works

        for command in (["rotate"], ["retire", "1", "--force"]):
            done = cli("secret-keys", *command, env=cli_env)
            assert done.exit_code == 0, done.output
        assert first_key not in key_file.read_text()

        after = stack.enter_context(
            extra_runtime(
                database_url, public_url=after_url, secret_key=None, secret_key_file=key_file
            )
        )
        stack.enter_context(serving(create_app(runtime=after), bound=after_socket))
        fresh = stack.enter_context(_new_page(browser))
        fresh.goto(f"{after_url}/login")
        fresh.get_by_role("link", name=f"Sign in with {TITLE}").click()
        sign_in_at_provider(fresh, "ada")
        expect(fresh).to_have_url(f"{after_url}/console")
        opened = after.services.user_sources.get(source.id)
        assert opened.secret_key_version == 2
        assert after.services.user_sources.client_secret(opened) == secret
        remember(*(cookie.get("value", "") for cookie in fresh.context.cookies()))
        remember(*(cookie.get("value", "") for cookie in page.context.cookies()))


@contextmanager
def _new_page(browser: Browser) -> Iterator[Page]:
    """A page in a context of its own: no cookie of the provider's earlier sign-in."""
    context = browser.new_context(viewport=VIEWPORT)
    try:
        yield context.new_page()
    finally:
        context.close()
