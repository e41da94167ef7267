"""Signing in through a SAML 2.0 IdP, against a real one: pysaml2's IdP side with xmlsec1
(tests/identity_providers/saml_idp.py) on its own loopback port.

The happy paths run in Chromium: the person clicks "Sign in with …", signs in on the IdP's
form, and the IdP's page posts the signed Response back (HTTP-POST binding). The forgeries are
posted with an HTTP client: each starts from a real Response the IdP produced for a real
outstanding request of that client (its sign-in cookie), then is tampered with, replayed, or
made by an IdP told to misbehave.
"""

import re
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin

import httpx
import pytest
from playwright.sync_api import BrowserContext, Page, expect

from tessera.app import create_app
from tessera.core.audit import AuditFilters
from tessera.core.errors import NotFound
from tessera.core.paging import PageRequest
from tessera.core.user_sources import OfferedTo, SourceKind, UserSource
from tessera.services.container import Services
from tessera.services.user_source_settings import SourceSettings
from tests.conftest import extra_runtime
from tests.factories import make_oauth_client
from tests.identity_providers.saml_idp import SamlIdp, decoded, encoded, running_saml_idp
from tests.live import loopback_socket, serving
from tests.pages.conftest import Callback
from tests.pages.test_browser_flow import arrived_at, expect_consent, start_authorization
from tests.secrets_seen import remember

pytestmark = pytest.mark.browser

TITLE = "Staff SAML"
PENDING = "tessera_source_sign_in"


@dataclass(frozen=True, slots=True)
class Tessera:
    url: str
    services: Services


@pytest.fixture
def tessera(database_url: str, request: pytest.FixtureRequest) -> Iterator[Tessera]:
    """Tessera on loopback; a test's own limit on answers by indirect parametrization."""
    callbacks: str = getattr(request, "param", "100000/minute")
    bound, url = loopback_socket()
    with (
        extra_runtime(
            database_url, public_url=url, sign_in_callback_rate_per_address=callbacks
        ) as runtime,
        serving(create_app(runtime=runtime), bound=bound) as served,
    ):
        assert served == url
        yield Tessera(url, runtime.services)


def accounts() -> dict[str, dict[str, Any]]:
    """The IdP's people, by the login typed on its form."""
    return {
        "ada": {
            "email": f"ada-{secrets.token_hex(4)}@example.test",
            "name": "Ada Lovelace",
            "groups": ["it-admins"],
        },
        "bob": {
            "email": f"bob-{secrets.token_hex(4)}@example.test",
            "name": "Bob Support",
            "groups": ["support"],
        },
        "cy": {
            "email": f"cy-{secrets.token_hex(4)}@example.test",
            "name": "Cy Customer",
            "groups": [],
        },
    }


@dataclass
class Connected:
    source: UserSource
    idp: SamlIdp


@pytest.fixture
def connect(tessera: Tessera) -> Iterator[Any]:
    """Connect a SAML source to a freshly started IdP: ``connect(misbehave=…, **settings)``."""
    stack: list[Any] = []

    def connect(misbehave: str = "", **overrides: Any) -> Connected:
        running = running_saml_idp(accounts(), misbehave=misbehave)
        idp = running.__enter__()
        stack.append(running)
        values: dict[str, Any] = {
            "title": TITLE,
            "idp_metadata": idp.metadata(),
            "name_claim": "displayName",
            "create_unknown": True,
            "groups_claim": "groups",
            "agent_groups": ["support"],
            "admin_groups": ["it-admins"],
            "offered_to": OfferedTo.BOTH,
        }
        values.update(overrides)
        source = tessera.services.user_sources.create(
            SourceSettings(**values), kind=SourceKind.SAML
        )
        # The IdP's administrator loads Tessera's SP metadata.
        sp_metadata = httpx.get(f"{tessera.url}/login/sources/{source.id}/metadata", timeout=30)
        assert sp_metadata.status_code == 200, sp_metadata.text
        idp.trust(sp_metadata.text)
        return Connected(source, idp)

    yield connect
    for running in reversed(stack):
        running.__exit__(None, None, None)


def sign_in_at_idp(page: Page, login: str) -> None:
    """The IdP's own login form; its answer page then posts the Response by itself."""
    page.locator("input[name=login]").fill(login)
    page.locator("input[name=password]").fill(secrets.token_urlsafe(12))
    page.get_by_role("button", name="Sign in").click()


def events(services: Services, kind: str) -> list[Any]:
    found = services.audit.list(AuditFilters(), PageRequest(1, 100)).items
    return [event for event in found if event.kind == kind]


# -- in the browser --------------------------------------------------------------------------


def test_an_unknown_admin_is_created_just_in_time_and_lands_in_the_console(
    tessera: Tessera, connect: Any, page: Page, context: BrowserContext
) -> None:
    connected = connect()

    page.goto(f"{tessera.url}/login?next=/console")
    page.get_by_role("link", name=f"Sign in with {TITLE}").click()
    sign_in_at_idp(page, "ada")

    expect(page).to_have_url(f"{tessera.url}/console")
    remember(*(cookie.get("value", "") for cookie in context.cookies()))
    ada = connected.idp.accounts["ada"]
    person = tessera.services.people.find(ada["email"])
    assert person.name == "Ada Lovelace"
    assert (person.is_agent, person.is_admin) == (True, True)
    assert not person.has_password
    (signed_in,) = events(tessera.services, "login.user_source")
    assert signed_in.detail["source"] == TITLE
    assert signed_in.detail["subject"] == "ada"
    assert signed_in.subject_person_id == person.id


def test_an_app_gets_an_oauth_token_for_a_person_who_signed_in_at_the_idp(
    tessera: Tessera, connect: Any, page: Page, callback: Callback
) -> None:
    connected = connect()
    app = make_oauth_client(tessera.services, name="Example App", redirect_uris=[callback.url])
    assert app.secret is not None
    flow = start_authorization(tessera.url, app, callback.url)

    page.goto(flow.url)
    page.get_by_role("link", name=f"Sign in with {TITLE}").click()
    sign_in_at_idp(page, "bob")
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
    assert me.json()["data"]["person"]["primary_email"] == connected.idp.accounts["bob"]["email"]


def test_the_default_hand_over_calls_send_payload_with_a_working_token(
    tessera: Tessera, connect: Any, page: Page, context: BrowserContext
) -> None:
    connected = connect()
    context.add_init_script("window.sendPayload = (payload) => { window.received = payload; };")
    login = f"{tessera.url}/api/v2/api_tokens/user_sources/{connected.source.id}/login"

    page.goto(f"{login}?format=default")
    with page.expect_response(re.compile(r"/callback/default")) as answer:
        sign_in_at_idp(page, "bob")

    assert answer.value.status == 200
    page.wait_for_function("() => window.received !== undefined")
    payload = page.evaluate("() => window.received")
    remember(payload["token"])
    person = tessera.services.people.find(connected.idp.accounts["bob"]["email"])
    assert payload["person_id"] == person.id
    with httpx.Client(base_url=tessera.url, timeout=30) as http:
        me = http.get("/api/v2/me", headers={"Authorization": f"token {payload['token']}"})
    assert me.status_code == 200, me.text
    assert me.json()["data"]["person_id"] == person.id


@pytest.mark.parametrize(
    ("hand_over", "scheme"),
    [("ios", "iOSDeskPro://?token="), ("deskpro_scheme", "deskpro://login_api_token?token=")],
)
def test_the_app_scheme_hand_overs_link_to_the_app_with_the_token(
    tessera: Tessera, connect: Any, page: Page, hand_over: str, scheme: str
) -> None:
    connected = connect()
    login = f"{tessera.url}/api/v2/api_tokens/user_sources/{connected.source.id}/login"

    page.goto(f"{login}?format={hand_over}")
    with page.expect_response(re.compile(f"/callback/{hand_over}")) as answer:
        sign_in_at_idp(page, "bob")

    assert answer.value.status == 200
    body = answer.value.text()
    match = re.search(re.escape(scheme) + r"([^&\"]+)&amp;person_id=(\d+)", body)
    assert match is not None, body
    remember(match.group(1))
    (issued,) = tessera.services.api_tokens.list(PageRequest(1, 10)).items
    person = tessera.services.people.find(connected.idp.accounts["bob"]["email"])
    assert issued.person_id == person.id
    assert match.group(2) == str(person.id)
    assert (":" in match.group(1)) is (hand_over == "deskpro_scheme")


# -- with an HTTP client: real answers of the IdP, then forged or replayed --------------------


@dataclass
class Answered:
    """A Response the IdP made for this client's outstanding request, not yet posted."""

    http: httpx.Client
    acs_url: str
    saml_response: str
    pending: str


#: The clients ``answered`` opened, closed after each test.
_OPENED: list[httpx.Client] = []


@pytest.fixture(autouse=True)
def _close_clients() -> Iterator[None]:
    yield
    while _OPENED:
        _OPENED.pop().close()


def answered(tessera: Tessera, connected: Connected, login: str, start: str = "") -> Answered:
    """Start a sign-in with a fresh client, and have the IdP answer it for ``login``."""
    http = httpx.Client(base_url=tessera.url, timeout=30)
    _OPENED.append(http)
    started = http.get(start or f"/login/sources/{connected.source.id}")
    assert started.status_code in (302, 303), started.text
    pending = http.cookies.get(PENDING)
    assert pending
    remember(pending)
    with httpx.Client(timeout=30) as browser_at_idp:
        form = browser_at_idp.get(started.headers["location"])
        key = re.search(r"name='key' value='([^']+)'", form.text)
        assert key is not None, form.text
        page = browser_at_idp.post(
            urljoin(str(form.url), "/login"),
            data={"key": key.group(1), "login": login, "password": "anything"},
        )
    action = re.search(r'action="([^"]+)"', page.text)
    assert action is not None, page.text
    return Answered(http, action.group(1), connected.idp.issued[-1], pending)


def post(answered: Answered, saml_response: str | None = None) -> httpx.Response:
    answered.http.cookies.set(PENDING, answered.pending)
    return answered.http.post(
        answered.acs_url, data={"SAMLResponse": saml_response or answered.saml_response}
    )


def test_group_mapping_decides_agent_or_user(tessera: Tessera, connect: Any) -> None:
    connected = connect()

    bob, cy = answered(tessera, connected, "bob"), answered(tessera, connected, "cy")

    assert post(bob).status_code == 303
    assert post(cy).status_code == 303
    accounts = connected.idp.accounts
    bob_here = tessera.services.people.find(accounts["bob"]["email"])
    cy_here = tessera.services.people.find(accounts["cy"]["email"])
    assert (bob_here.is_agent, bob_here.is_admin) == (True, False)
    assert (cy_here.is_agent, cy_here.is_admin) == (False, False)


def test_a_replayed_assertion_is_refused(tessera: Tessera, connect: Any) -> None:
    connected = connect()
    first = answered(tessera, connected, "bob")

    signed_in = post(first)
    replayed = post(first)

    assert signed_in.status_code == 303
    assert replayed.status_code == 401
    assert f"Signing in with {TITLE} did not succeed" in replayed.text
    (refused,) = events(tessera.services, "login.user_source_refused")
    assert "replay" in str(refused.detail["reason"])
    assert len(events(tessera.services, "login.user_source")) == 1


def test_a_response_tampered_with_after_signing_is_refused(tessera: Tessera, connect: Any) -> None:
    connected = connect()
    real = answered(tessera, connected, "cy")
    document = decoded(real.saml_response)
    # Cy makes the signed assertion say Ada (an admin): the signature no longer matches.
    forged = document.replace(">cy<", ">ada<")
    assert forged != document

    answer = post(real, encoded(forged))

    assert answer.status_code == 401
    (refused,) = events(tessera.services, "login.user_source_refused")
    assert "signature" in str(refused.detail["reason"])
    assert events(tessera.services, "login.user_source") == []


@pytest.mark.parametrize(
    ("misbehave", "reason"),
    [
        ("other-key", "signature"),
        ("unsigned", "signed"),
        ("audience", "Audience"),
    ],
)
def test_a_forged_or_misdirected_response_is_refused(
    tessera: Tessera, connect: Any, misbehave: str, reason: str
) -> None:
    connected = connect(misbehave=misbehave)
    real = answered(tessera, connected, "ada")

    answer = post(real)

    assert answer.status_code == 401, answer.text
    with pytest.raises(NotFound):
        tessera.services.people.find(connected.idp.accounts["ada"]["email"])
    (refused,) = events(tessera.services, "login.user_source_refused")
    assert reason in str(refused.detail["reason"])


def test_a_signed_response_covering_an_unsigned_assertion_is_accepted(
    tessera: Tessera, connect: Any
) -> None:
    connected = connect(misbehave="signed-response")

    answer = post(answered(tessera, connected, "bob"))

    assert answer.status_code == 303, answer.text


def test_an_answer_to_another_browsers_request_is_refused(tessera: Tessera, connect: Any) -> None:
    connected = connect()
    mine, theirs = answered(tessera, connected, "bob"), answered(tessera, connected, "ada")

    # Login CSRF: Ada's Response posted into Bob's browser (Bob's own request outstanding).
    crossed = post(mine, theirs.saml_response)
    without_request = httpx.post(
        mine.acs_url, data={"SAMLResponse": theirs.saml_response}, timeout=30
    )

    assert crossed.status_code == 401
    assert "InResponseTo" in str(events(tessera.services, "login.user_source_refused")[0].detail)
    assert without_request.status_code == 400  # unsolicited: no request of this browser at all
    assert events(tessera.services, "login.user_source") == []


def test_bombs_and_huge_bodies_are_refused_before_parsing(tessera: Tessera, connect: Any) -> None:
    connected = connect()
    real = answered(tessera, connected, "bob")
    bomb = (
        '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaaaaaaaa">'
        '<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]><r>&b;</r>'
    )

    exploded = post(real, encoded(bomb))
    huge = real.http.post(real.acs_url, data={"SAMLResponse": "A" * (200 * 1024)})

    assert exploded.status_code == 401
    assert "DOCTYPE" in str(events(tessera.services, "login.user_source_refused")[0].detail)
    assert huge.status_code == 413


@pytest.mark.parametrize("tessera", ["2/minute"], indirect=True)
def test_answers_are_counted_per_address_before_any_is_checked(
    tessera: Tessera, connect: Any
) -> None:
    # Checking a response costs xmlsec1 about 0.2 s, and anyone may start a sign-in and post.
    connected = connect()
    e9 = f"/api/v2/api_tokens/user_sources/{connected.source.id}/login?format=default"
    first, second = answered(tessera, connected, "bob"), answered(tessera, connected, "bob")
    third, fourth = answered(tessera, connected, "bob", e9), answered(tessera, connected, "bob")

    refused = [post(first, encoded("<nothing/>")), post(second, encoded("<nothing/>"))]
    to_e9, to_console = post(third), post(fourth)

    assert [answer.status_code for answer in refused] == [401, 401]
    assert to_e9.status_code == 429
    assert to_e9.json()["code"] == "rate_limits"
    assert to_console.status_code == 429
    assert 0 < int(to_console.headers["Retry-After"]) <= 60
    assert "Too many sign-ins" in to_console.text
    # Valid answers, but not checked: nobody was signed in or created.
    with pytest.raises(NotFound):
        tessera.services.people.find(connected.idp.accounts["bob"]["email"])


def test_a_disabled_source_is_refused(tessera: Tessera, connect: Any) -> None:
    connected = connect()
    real = answered(tessera, connected, "bob")

    tessera.services.user_sources.update(connected.source.id, SourceSettings(is_enabled=False))
    answer = post(real)

    assert answer.status_code == 404
    with pytest.raises(NotFound):
        tessera.services.people.find(connected.idp.accounts["bob"]["email"])


def test_e9_refuses_a_forged_answer_with_bad_credentials(tessera: Tessera, connect: Any) -> None:
    connected = connect(misbehave="other-key")
    start = f"/api/v2/api_tokens/user_sources/{connected.source.id}/login?format=default"
    real = answered(tessera, connected, "bob", start)

    answer = post(real)

    assert real.acs_url.endswith(f"/user_sources/{connected.source.id}/callback/default")
    assert answer.status_code == 401
    assert answer.json()["code"] == "bad_credentials"
    assert tessera.services.api_tokens.list(PageRequest(1, 10)).items == []


def test_the_sp_metadata_names_the_entity_id_the_acs_urls_and_persistent_name_ids(
    tessera: Tessera, connect: Any
) -> None:
    connected = connect()
    source_id = connected.source.id

    with httpx.Client(base_url=tessera.url, timeout=30) as http:
        metadata = http.get(f"/login/sources/{source_id}/metadata")
        listed = http.get("/api/v2/api_tokens/user_sources/agent").json()["data"]

    assert metadata.headers["content-type"].startswith("application/samlmetadata+xml")
    assert f'entityID="{tessera.url}/login/sources/{source_id}/metadata"' in metadata.text
    assert f"{tessera.url}/login/sources/{source_id}/callback" in metadata.text
    for hand_over in ("default", "ios", "deskpro_scheme"):
        assert f"/user_sources/{source_id}/callback/{hand_over}" in metadata.text
    assert "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent" in metadata.text
    assert "HTTP-POST" in metadata.text
    assert [(item["id"], item["source_type"]) for item in listed] == [(source_id, "saml")]


def test_an_idp_whose_metadata_expired_gives_a_clear_page_and_writes_nothing(
    tessera: Tessera, connect: Any, page: Page
) -> None:
    connected = connect()
    expired = re.sub(
        r"EntityDescriptor ",
        'EntityDescriptor validUntil="2020-01-01T00:00:00Z" ',
        connected.idp.metadata(),
        count=1,
    )
    stale = tessera.services.user_sources.create(
        SourceSettings(title="Old IdP", idp_metadata=expired), kind=SourceKind.SAML
    )

    page.goto(f"{tessera.url}/login")
    with page.expect_response(re.compile(rf"/login/sources/{stale.id}(\?|$)")) as answer:
        page.get_by_role("link", name="Sign in with Old IdP").click()

    assert answer.value.status == 502
    expect(page.get_by_text("Old IdP cannot be reached right now")).to_be_visible()
    assert events(tessera.services, "login.user_source") == []
    assert events(tessera.services, "login.user_source_refused") == []


def test_an_idp_that_is_down_loses_nothing_here(tessera: Tessera, page: Page) -> None:
    with running_saml_idp(accounts()) as idp:
        metadata = idp.metadata()
    # The IdP has stopped: its port answers nothing now. Tessera never calls it (the browser
    # does), so the sign-in goes there and fails at the IdP; nothing is written here.
    source = tessera.services.user_sources.create(
        SourceSettings(title=TITLE, idp_metadata=metadata), kind=SourceKind.SAML
    )

    page.goto(f"{tessera.url}/login")
    with page.expect_response(re.compile(rf"/login/sources/{source.id}(\?|$)")) as answer:
        page.get_by_role("link", name=f"Sign in with {TITLE}").click()
    page.goto(f"{tessera.url}/login")

    assert answer.value.status == 303
    assert answer.value.headers["location"].startswith(f"{idp.base_url}/sso?SAMLRequest=")
    expect(page.get_by_role("link", name=f"Sign in with {TITLE}")).to_be_visible()
    assert events(tessera.services, "login.user_source") == []
    assert events(tessera.services, "login.user_source_refused") == []
    assert tessera.services.user_sources.get(source.id).idp_metadata == metadata


def test_a_response_in_the_url_is_refused(tessera: Tessera, connect: Any) -> None:
    connected = connect()
    real = answered(tessera, connected, "bob")

    real.http.cookies.set(PENDING, real.pending)
    answer = real.http.get(real.acs_url, params={"SAMLResponse": real.saml_response})

    assert answer.status_code == 401
    (refused,) = events(tessera.services, "login.user_source_refused")
    assert "POST only" in str(refused.detail["reason"])
