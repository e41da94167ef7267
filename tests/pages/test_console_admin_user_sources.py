"""Identity providers in the console: connect one (a bad issuer first), see its redirect URI
and its button on the sign-in page, switch it off and remove it; each change audited."""

import secrets

import pytest
from playwright.sync_api import Page, expect

from tessera.core.audit import AuditFilters
from tessera.core.paging import PageRequest
from tessera.core.user_sources import SourceKind
from tessera.services.container import Services
from tessera.services.user_sources import SourceSettings
from tests.core.test_saml_metadata import entity as idp_entity
from tests.factories import make_person, new_password
from tests.pages.console_kit import assert_accessible, open_console
from tests.secrets_seen import remember

pytestmark = pytest.mark.browser

ISSUER = "https://login.example.test/realms/staff"


def test_an_admin_connects_switches_off_and_removes_a_provider(
    page: Page, server: str, services: Services
) -> None:
    password = new_password()
    admin = make_person(services, admin=True, password=password, name="Ada Admin")
    open_console(page, server, admin.primary_email, password, "/console/sign-in")
    expect(page.get_by_role("heading", name="Sign-in methods", level=1)).to_be_visible()

    page.get_by_label("Title").fill("Staff login")
    page.get_by_label("Issuer URL").fill("http://login.example.test")
    page.get_by_label("Client ID").fill("tessera")
    page.get_by_role("button", name="Connect provider").click()
    expect(page.get_by_text("The issuer must be an https URL")).to_be_visible()
    assert_accessible(page)

    secret = secrets.token_urlsafe(24)
    remember(secret)
    page.get_by_label("Issuer URL").fill(ISSUER)
    page.get_by_label("Client secret").fill(secret)
    page.get_by_label("Groups claim (optional)").fill("groups")
    page.get_by_label("Admin groups").fill("it-admins")
    page.get_by_role("button", name="Connect provider").click()
    expect(page.locator(".notice")).to_contain_text("The identity provider is connected")
    (source,) = services.user_sources.list()
    public_url = services.site.public_url.rstrip("/")
    expect(page.get_by_text(f"{public_url}/login/sources/{source.id}/callback")).to_be_visible()
    assert secret not in page.content()
    assert services.user_sources.client_secret(source) == secret
    assert source.admin_groups == ("it-admins",)
    assert_accessible(page)

    page.get_by_role("button", name="Switch off Staff login").click()
    expect(page.locator(".notice")).to_contain_text("switched off")
    assert not services.user_sources.get(source.id).is_enabled
    page.get_by_role("button", name="Remove Staff login").click()
    expect(page.locator(".notice")).to_contain_text("was removed")
    assert services.user_sources.list() == []
    events = services.audit.list(AuditFilters(), PageRequest(1, 20)).items
    assert [e.kind for e in events if e.kind.startswith("user_source.")] == [
        "user_source.deleted",
        "user_source.changed",
        "user_source.created",
    ]
    assert all(e.actor_person_id == admin.id for e in events if e.kind.startswith("user_source"))


def test_a_saml_source_is_listed_with_the_sp_metadata_to_give_the_idp(
    page: Page, server: str, services: Services
) -> None:
    source = services.user_sources.create(
        SourceSettings(title="Staff SAML", idp_metadata=idp_entity()), kind=SourceKind.SAML
    )
    password = new_password()
    admin = make_person(services, admin=True, password=password, name="Ada Admin")

    open_console(page, server, admin.primary_email, password, "/console/sign-in")

    public_url = services.site.public_url.rstrip("/")
    expected = f"SAML: give the IdP {public_url}/login/sources/{source.id}/metadata"
    expect(page.get_by_text(expected)).to_be_visible()
    expect(page.get_by_text("https://idp.example.test/saml")).to_be_visible()
    assert_accessible(page)
