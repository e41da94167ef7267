"""OAuth apps and live tokens in a browser: register an app, see its secret once, rotate, delete;
revoke a person's token and see the next request refused."""

import json

import httpx
import pytest
from playwright.sync_api import Page, expect

from tessera.app import create_app
from tessera.services.container import Services
from tests.conftest import extra_runtime
from tests.factories import make_oauth_client, make_person, make_token, new_password, token_header
from tests.live import serving
from tests.oauth.keys import ec_key, jwks
from tests.pages.console_kit import assert_accessible, open_console, save_screenshot
from tests.secrets_seen import remember

pytestmark = pytest.mark.browser


def shown_secret(page: Page) -> str:
    box = page.locator(".secret")
    expect(box.get_by_role("heading")).to_have_text(
        "Copy the client secret now: it is shown only once"
    )
    secret = box.locator("#client-secret").inner_text().strip()
    remember(secret)
    return secret


def token_answer(server: str, client_id: str, secret: str) -> httpx.Response:
    """A client-credentials style probe of the secret: a refresh with a bogus token.

    A wrong secret is ``invalid_client`` (401); the right one gets past client
    authentication to ``invalid_grant`` (400).
    """
    return httpx.post(
        server + "/oauth/token",
        data={"grant_type": "refresh_token", "refresh_token": "nothing-like-it"},
        auth=(client_id, secret),
    )


def test_an_admin_registers_an_app_and_rotates_its_secret(
    page: Page, server: str, services: Services
) -> None:
    password = new_password()
    admin = make_person(services, admin=True, password=password, name="Ada Admin")
    open_console(page, server, admin.primary_email, password, "/console/apps")
    expect(page.get_by_role("heading", name="OAuth apps", level=1)).to_be_visible()

    page.get_by_label("Name", exact=True).fill("Ticket Sync")
    page.get_by_label("Redirect URIs").fill("http://sync.example.test/callback")
    page.get_by_role("button", name="Register app").click()
    expect(page.get_by_text("Line 1: A redirect URI must use https")).to_be_visible()
    assert_accessible(page)

    page.get_by_label("Redirect URIs").fill(
        "https://sync.example.test/callback\nhttp://127.0.0.1:8765/callback"
    )
    page.get_by_role("button", name="Register app").click()
    expect(page.get_by_role("heading", name="App registered", level=1)).to_be_visible()
    first = shown_secret(page)
    client_id = page.locator("dd.mono").first.inner_text().strip()
    assert token_answer(server, client_id, first).json()["error"] == "invalid_grant"
    assert_accessible(page)

    page.get_by_role("link", name="Ticket Sync").click()
    expect(page.get_by_label("Redirect URIs")).to_have_value(
        "https://sync.example.test/callback\nhttp://127.0.0.1:8765/callback"
    )
    page.get_by_role("button", name="Rotate secret").click()
    second = shown_secret(page)
    assert token_answer(server, client_id, first).json()["error"] == "invalid_client"
    assert token_answer(server, client_id, second).json()["error"] == "invalid_grant"

    page.get_by_role("link", name="Ticket Sync").click()
    page.get_by_label("Grant type").select_option("token")
    scopes = page.get_by_label("Scopes it may be granted")
    expect(scopes).to_have_value("session")
    scopes.fill("tickets/*")
    page.get_by_role("button", name="Save changes").click()
    expect(page.get_by_text("is neither session nor an endpoint tag pattern")).to_be_visible()
    page.get_by_label("Scopes it may be granted").fill("me.*, -*.delete")
    page.get_by_role("button", name="Save changes").click()
    expect(page.locator(".notice")).to_have_text("The changes were saved.")
    expect(page.get_by_label("Scopes it may be granted")).to_have_value("me.* -*.delete")
    found = services.oauth_clients.find_by_client_id(client_id)
    assert found is not None
    assert found.allowed_scopes == "me.* -*.delete"

    page.get_by_role("link", name="All OAuth apps").click()
    row = page.get_by_role("row").filter(has_text="Ticket Sync")
    expect(row).to_contain_text("Implicit")
    expect(row).to_contain_text("Enabled")
    assert_accessible(page)
    save_screenshot(page, "admin-apps")

    page.get_by_role("link", name="Ticket Sync").click()
    page.get_by_role("button", name="Disable").click()
    expect(page.locator(".notice")).to_contain_text("The app is disabled")
    page.get_by_role("link", name="Delete…").click()
    assert_accessible(page)
    page.get_by_role("button", name="Delete Ticket Sync").click()
    expect(page.locator(".notice")).to_have_text(
        "The app was deleted, with every token issued through it."
    )
    assert services.oauth_clients.count() == 0


def test_an_apps_page_warns_about_its_plain_http_redirect_uris(
    page: Page, database_url: str, server: str, services: Services
) -> None:
    password = new_password()
    with (
        extra_runtime(database_url, oauth_allow_insecure_redirects=True) as permissive,
        serving(create_app(runtime=permissive)) as permissive_url,
    ):
        admin = make_person(permissive.services, admin=True, password=password)
        legacy = make_oauth_client(
            permissive.services,
            name="Legacy Sync",
            redirect_uris=["https://sync.example.test/cb", "http://sync.example.test/cb"],
        ).client
        path = f"/console/apps/{legacy.id}"

        open_console(page, permissive_url, admin.primary_email, password, path)
        warning = page.locator("#insecure-redirects")
        expect(warning).to_contain_text("http://sync.example.test/cb")
        expect(warning).not_to_contain_text("https://sync.example.test/cb")
        expect(warning).to_contain_text("accepted only because")
        assert_accessible(page)

        # The default server: the switch is off, and the page says the URI is not used. (Both
        # servers are on 127.0.0.1, and cookies ignore ports: sign in afresh.)
        page.context.clear_cookies()
        open_console(page, server, admin.primary_email, password, path)
        expect(page.locator("#insecure-redirects")).to_contain_text(
            "Not used: TESSERA_OAUTH_ALLOW_INSECURE_REDIRECTS is off"
        )
        assert_accessible(page)


def test_an_admin_revokes_a_persons_token(page: Page, server: str, services: Services) -> None:
    password = new_password()
    admin = make_person(services, admin=True, password=password, name="Ada Admin")
    phone = make_person(services, name="Pat Phone")
    other = make_person(services, name="Olga Other")
    issued = make_token(services, phone)
    make_token(services, other)
    make_oauth_client(services, name="Unused App")
    assert httpx.get(server + "/api/v2/me", headers=token_header(issued)).status_code == 200

    open_console(page, server, admin.primary_email, password, "/console/tokens")
    expect(page.get_by_role("row")).to_have_count(3)
    page.get_by_label("Person (e-mail address or id)").fill(phone.primary_email)
    page.get_by_role("button", name="Filter").click()
    rows = page.get_by_role("row")
    expect(rows).to_have_count(2)
    expect(rows.nth(1)).to_contain_text("Pat Phone")
    expect(rows.nth(1)).to_contain_text("Device setup (QR code)")
    assert_accessible(page)
    save_screenshot(page, "admin-tokens")

    page.get_by_role("button", name=f"Revoke token {issued.token.id}").click()
    expect(page.locator(".notice")).to_have_text(
        "The token is revoked: the next request that uses it is refused."
    )
    refused = httpx.get(server + "/api/v2/me", headers=token_header(issued))
    assert refused.status_code == 401
    assert refused.json()["code"] == "invalid_api_token"
    # Back on the same filtered list, where nothing of Pat's is left; Olga's token lives on.
    expect(page.get_by_label("Person (e-mail address or id)")).to_have_value(phone.primary_email)
    expect(page.get_by_role("row")).to_have_count(0)
    page.get_by_role("link", name="Everyone's tokens").click()
    expect(page.get_by_role("row")).to_have_count(2)
    expect(page.get_by_role("row").nth(1)).to_contain_text("Olga Other")


def test_an_admin_sets_where_an_app_may_send_people_after_signing_them_out(
    page: Page, server: str, services: Services
) -> None:
    password = new_password()
    admin = make_person(services, admin=True, password=password)
    app = make_oauth_client(services, name="Relying Party").client
    open_console(page, server, admin.primary_email, password, f"/console/apps/{app.id}")
    after_sign_out = page.get_by_label("After sign-out (OpenID Connect)")
    expect(after_sign_out).to_have_value("")

    after_sign_out.fill("https://rp.example.test/bye\njavascript:alert(1)")
    page.get_by_role("button", name="Save changes").click()
    expect(page.get_by_text("Line 2: This value is not a valid URL.")).to_be_visible()
    assert_accessible(page)
    page.get_by_label("After sign-out (OpenID Connect)").fill("https://rp.example.test/bye")
    page.get_by_role("button", name="Save changes").click()

    expect(page.locator(".notice")).to_have_text("The changes were saved.")
    expect(page.get_by_label("After sign-out (OpenID Connect)")).to_have_value(
        "https://rp.example.test/bye"
    )
    assert services.oauth_clients.get(app.id).post_logout_redirect_uris == (
        "https://rp.example.test/bye",
    )


def test_an_admin_registers_an_app_that_signs_with_its_key(
    page: Page, server: str, services: Services
) -> None:
    # ADR 0052: "JWKS URI" or inline JWKS on the app's form; no secret is ever shown.
    key = ec_key()
    password = new_password()
    admin = make_person(services, admin=True, password=password)
    open_console(page, server, admin.primary_email, password, "/console/apps")

    page.get_by_label("Name", exact=True).fill("Signed Sync")
    page.get_by_label("Redirect URIs").fill("https://signed.example.test/callback")
    page.get_by_label("How a confidential app proves itself").select_option("private_key_jwt")
    page.get_by_label("Inline JWKS (JSON)").fill('{"keys": [')
    page.get_by_role("button", name="Register app").click()
    expect(page.get_by_text("This is not JSON")).to_be_visible()
    assert_accessible(page)
    page.get_by_label("Inline JWKS (JSON)").fill(json.dumps({"keys": [key.private_jwk]}))
    page.get_by_role("button", name="Register app").click()
    expect(page.get_by_text("The JWK Set holds a private key")).to_be_visible()
    page.get_by_label("Inline JWKS (JSON)").fill(json.dumps(jwks(key)))
    page.get_by_role("button", name="Register app").click()

    expect(page.get_by_role("heading", name="This app has no secret")).to_be_visible()
    client_id = page.locator("dd.mono").first.inner_text().strip()
    page.get_by_role("link", name="Signed Sync").click()
    expect(page.locator("#app-kind")).to_contain_text("private_key_jwt")
    expect(page.locator("#app-jwks")).to_contain_text(key.kid)
    expect(page.get_by_role("button", name="Rotate secret")).to_have_count(0)
    assert_accessible(page)
    found = services.oauth_clients.find_by_client_id(client_id)
    assert found is not None
    assert (found.private_key_jwt, found.has_secret) == (True, False)

    page.get_by_label("JWKS URI").fill("https://keys.signed.example.test/jwks.json")
    page.get_by_label("Inline JWKS (JSON)").fill("")
    page.get_by_role("button", name="Save changes").click()
    expect(page.locator(".notice")).to_have_text("The changes were saved.")
    expect(page.locator("#app-jwks-uri")).to_have_text("https://keys.signed.example.test/jwks.json")
    save_screenshot(page, "admin-app-private-key-jwt")
