"""Identity providers in the console: connect one (a bad issuer first), see its redirect URI
and its button on the sign-in page, change it (the secret never shown back, kept when left
empty), switch it off and remove it after a confirmation each; each change audited."""

import secrets

import httpx
import pytest
from playwright.sync_api import Page, expect

from tessera.core.audit import AuditFilters
from tessera.core.paging import PageRequest
from tessera.core.user_sources import ProviderIdentity, SourceKind, UserSource
from tessera.services.container import Services
from tessera.services.user_source_settings import SourceSettings
from tests.core.test_saml_metadata import entity as idp_entity
from tests.factories import make_person, make_token, new_password, token_header
from tests.identity_providers.saml_idp import running_saml_idp
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
    page.get_by_label("Order").fill("first")
    page.get_by_role("button", name="Connect provider").click()
    expect(page.get_by_text("The issuer must be an https URL")).to_be_visible()
    expect(page.get_by_text("The order is a whole number")).to_be_visible()
    expect(page.get_by_label("Title")).to_have_value("Staff login")
    assert_accessible(page)

    secret = secrets.token_urlsafe(24)
    remember(secret)
    page.get_by_label("Issuer URL").fill(ISSUER)
    page.get_by_label("Client secret", exact=True).fill(secret)
    page.get_by_label("Order").fill("2")
    page.get_by_label("Groups claim (optional)").fill("groups")
    page.get_by_label("Admin groups").fill("it-admins")
    page.get_by_role("button", name="Connect provider").click()
    expect(page.locator(".notice")).to_contain_text("The identity provider is connected")
    (source,) = services.user_sources.list()
    public_url = services.site.public_url.rstrip("/")
    expect(page.get_by_text(f"{public_url}/login/sources/{source.id}/callback")).to_be_visible()
    assert secret not in page.content()
    assert services.user_sources.client_secret(source) == secret
    assert (source.admin_groups, source.display_order) == (("it-admins",), 2)
    assert_accessible(page)

    page.get_by_role("link", name="Switch off Staff login…").click()
    expect(page.get_by_role("heading", name="Switch off Staff login?", level=1)).to_be_visible()
    assert_accessible(page)
    page.get_by_role("link", name="Cancel").click()
    assert services.user_sources.get(source.id).is_enabled  # nothing without the button
    page.goto(f"{server}/console/sign-in/{source.id}/disable")
    page.get_by_role("button", name="Switch off Staff login").click()
    expect(page.locator(".notice")).to_contain_text("switched off")
    assert not services.user_sources.get(source.id).is_enabled

    page.goto(f"{server}/console/sign-in")
    page.get_by_role("link", name="Remove Staff login…").click()
    expect(page.get_by_role("heading", name="Remove Staff login?", level=1)).to_be_visible()
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


def test_an_admin_edits_a_provider_without_ever_seeing_its_secret(
    page: Page, server: str, services: Services
) -> None:
    password = new_password()
    admin = make_person(services, admin=True, password=password)
    secret = secrets.token_urlsafe(24)
    remember(secret)
    source = services.user_sources.create(
        SourceSettings(
            title="Staff login", issuer=ISSUER, client_id="tessera", client_secret=secret
        )
    )
    open_console(page, server, admin.primary_email, password, "/console/sign-in")
    page.get_by_role("link", name="Staff login", exact=True).click()
    expect(page.get_by_role("heading", name="Staff login", level=1)).to_be_visible()
    expect(page.locator("#secret-state")).to_contain_text("Set")
    expect(page.get_by_label("Client secret", exact=True)).to_have_value("")
    assert secret not in page.content()
    assert_accessible(page)

    # A bad value: the form comes back with the problem, the others as typed, nothing saved.
    page.get_by_label("Title").fill("Staff")
    page.get_by_label("E-mail claim").fill("e mail")
    page.get_by_role("button", name="Save changes").click()
    expect(page.get_by_text("A claim name is 1 to 100 characters")).to_be_visible()
    expect(page.get_by_label("Title")).to_have_value("Staff")
    assert services.user_sources.get(source.id).title == "Staff login"
    assert_accessible(page)

    # Saved with the secret left empty: it stays. A new client_id keeps it too.
    page.get_by_label("E-mail claim").fill("upn")
    page.get_by_label("Client ID").fill("tessera-2")
    page.get_by_label("Offered to").select_option("both")
    page.get_by_label("Create unknown people at their first sign-in").check()
    page.get_by_role("button", name="Save changes").click()
    expect(page.locator(".notice")).to_contain_text("The changes were saved")
    changed = services.user_sources.get(source.id)
    assert (changed.title, changed.email_claim, changed.client_id) == ("Staff", "upn", "tessera-2")
    assert changed.offered_to.value == "both"
    assert changed.create_unknown
    assert services.user_sources.client_secret(changed) == secret
    assert secret not in page.content()

    # A new secret replaces it; then removing it makes a public client.
    fresh = secrets.token_urlsafe(24)
    remember(fresh)
    page.get_by_label("Client secret", exact=True).fill(fresh)
    page.get_by_role("button", name="Save changes").click()
    expect(page.locator(".notice")).to_contain_text("The changes were saved")
    assert services.user_sources.client_secret(services.user_sources.get(source.id)) == fresh
    assert fresh not in page.content()
    page.get_by_label("Remove the client secret").check()
    page.get_by_role("button", name="Save changes").click()
    expect(page.locator("#secret-state")).to_contain_text("public client")
    assert not services.user_sources.get(source.id).has_secret
    kinds = [e.kind for e in services.audit.list(AuditFilters(), PageRequest(1, 20)).items]
    assert kinds.count("user_source.changed") == 3


def test_switching_off_in_the_console_refuses_its_peoples_tokens_at_once(
    page: Page, server: str, services: Services
) -> None:
    password = new_password()
    admin = make_person(services, admin=True, password=password)
    source = services.user_sources.create(
        SourceSettings(title="Staff login", issuer=ISSUER, client_id="t", create_unknown=True)
    )
    person = services.user_sources.resolve(
        source,
        ProviderIdentity(
            subject=secrets.token_hex(8),
            email=f"sso-{secrets.token_hex(4)}@example.test",
            email_verified=True,
            name="Bob",
            groups=(),
        ),
    )
    theirs = token_header(make_token(services, person))
    with httpx.Client(base_url=server, timeout=30) as http:
        assert http.get("/api/v2/me", headers=theirs).status_code == 200
        open_console(page, server, admin.primary_email, password, f"/console/sign-in/{source.id}")
        page.get_by_role("link", name="Switch off…").click()
        expect(page.get_by_text("1 person is signed out at once")).to_be_visible()
        page.get_by_role("button", name="Switch off Staff login").click()
        expect(page.locator(".notice")).to_contain_text("switched off")
        assert http.get("/api/v2/me", headers=theirs).status_code == 401
    page.get_by_role("button", name="Switch on").click()
    expect(page.locator(".notice")).to_contain_text("switched on again")
    assert services.user_sources.get(source.id).is_enabled


def saml_source_in_the_console(
    page: Page, server: str, services: Services, path: str = "/console/sign-in"
) -> UserSource:
    """A SAML source, and an admin's console open at ``path`` (``{id}``: the source's)."""
    source = services.user_sources.create(
        SourceSettings(title="Staff SAML", idp_metadata=idp_entity()), kind=SourceKind.SAML
    )
    password = new_password()
    admin = make_person(services, admin=True, password=password, name="Ada Admin")
    open_console(page, server, admin.primary_email, password, path.format(id=source.id))
    return source


def test_a_saml_source_is_listed_with_the_sp_metadata_to_give_the_idp(
    page: Page, server: str, services: Services
) -> None:
    source = saml_source_in_the_console(page, server, services)

    public_url = services.site.public_url.rstrip("/")
    expected = f"SAML: give the IdP {public_url}/login/sources/{source.id}/metadata"
    expect(page.get_by_text(expected)).to_be_visible()
    expect(page.get_by_text("https://idp.example.test/saml")).to_be_visible()
    assert_accessible(page)

    page.get_by_role("link", name="Staff SAML", exact=True).click()
    expect(page.get_by_label("Issuer URL")).to_have_count(0)
    page.get_by_label("E-mail attribute").fill("mail")
    page.get_by_label("Groups attribute (optional)").fill("groups")
    page.get_by_role("button", name="Save changes").click()
    expect(page.locator(".notice")).to_be_visible()

    changed = services.user_sources.get(source.id)
    assert (changed.email_claim, changed.groups_claim) == ("mail", "groups")
    assert (changed.issuer, changed.sp_entity_id) == (source.issuer, source.sp_entity_id)
    assert changed.idp_metadata == source.idp_metadata  # left empty: kept
    assert_accessible(page)


def test_an_admin_replaces_a_saml_sources_metadata_on_its_page(
    page: Page, server: str, services: Services
) -> None:
    source = saml_source_in_the_console(page, server, services, "/console/sign-in/{id}")
    field = page.get_by_label("New IdP metadata (XML, optional)")

    field.fill("<md:EntityDescriptor>not metadata")
    page.get_by_role("button", name="Save changes").click()
    expect(field).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#idp_metadata-problems")).to_be_visible()
    assert services.user_sources.get(source.id).idp_metadata == source.idp_metadata
    assert_accessible(page)

    rolled_over = idp_entity(entity_id="https://idp.example.test/saml/2027")
    field.fill(rolled_over)
    page.get_by_role("button", name="Save changes").click()
    expect(page.locator(".notice")).to_be_visible()
    expect(field).to_have_value("")

    changed = services.user_sources.get(source.id)
    assert (changed.idp_metadata, changed.issuer) == (
        rolled_over,
        "https://idp.example.test/saml/2027",
    )
    assert changed.sp_entity_id == source.sp_entity_id
    (event,) = [
        e
        for e in services.audit.list(AuditFilters(), PageRequest(1, 20)).items
        if e.kind == "user_source.changed"
    ]
    assert event.detail["fields"] == ["idp_metadata", "issuer"]


def test_an_admin_connects_a_saml_idp_by_pasting_its_metadata(
    page: Page, server: str, services: Services
) -> None:
    password = new_password()
    admin = make_person(services, admin=True, password=password, name="Ada Admin")
    open_console(page, server, admin.primary_email, password, "/console/sign-in")
    page.get_by_label("SAML 2.0").check()
    expect(page.get_by_label("Issuer URL")).to_be_hidden()  # only the chosen protocol's fields

    page.get_by_label("Title").fill("Staff SAML")
    page.get_by_label("IdP metadata (XML)").fill("<md:EntityDescriptor>not metadata")
    page.get_by_role("button", name="Connect provider").click()
    problem = page.locator("#idp_metadata-problems")
    expect(problem).to_be_visible()
    expect(page.get_by_label("IdP metadata (XML)")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_label("SAML 2.0")).to_be_checked()  # the choice is kept
    expect(page.get_by_label("Title")).to_have_value("Staff SAML")
    assert services.user_sources.list() == []
    assert_accessible(page)

    with running_saml_idp({}) as idp:
        page.get_by_label("IdP metadata (XML)").fill(idp.metadata())
        page.get_by_label("E-mail attribute").fill("mail")
        page.get_by_label("Groups attribute (optional)").fill("groups")
        page.get_by_label("Admin groups").fill("it-admins")
        page.get_by_role("button", name="Connect provider").click()
        expect(page.locator(".notice")).to_contain_text("give it the SP metadata URL")
        (source,) = services.user_sources.list()
        assert source.kind is SourceKind.SAML
        assert (source.issuer, source.email_claim, source.groups_claim) == (
            idp.entity_id,
            "mail",
            "groups",
        )
        assert source.admin_groups == ("it-admins",)
    public_url = services.site.public_url.rstrip("/")
    expected = f"SAML: give the IdP {public_url}/login/sources/{source.id}/metadata"
    expect(page.get_by_text(expected)).to_be_visible()
    expect(page.get_by_role("link", name="Staff SAML", exact=True)).to_be_visible()
    assert_accessible(page)
    (event,) = [
        e
        for e in services.audit.list(AuditFilters(), PageRequest(1, 20)).items
        if e.kind == "user_source.created"
    ]
    assert event.actor_person_id == admin.id
    assert event.detail["kind"] == "saml"


def test_a_saml_source_refuses_linking_by_email_on_the_add_form(
    page: Page, server: str, services: Services
) -> None:
    password = new_password()
    admin = make_person(services, admin=True, password=password)
    open_console(page, server, admin.primary_email, password, "/console/sign-in")
    page.get_by_label("SAML 2.0").check()
    page.get_by_label("Title").fill("Staff SAML")
    page.get_by_label("IdP metadata (XML)").fill(idp_entity())
    page.get_by_label("Link existing people by their verified e-mail address").check()
    page.get_by_role("button", name="Connect provider").click()
    expect(page.get_by_text("a SAML source links people by NameID only")).to_be_visible()
    assert services.user_sources.list() == []
