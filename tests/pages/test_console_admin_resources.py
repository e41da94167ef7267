"""Protected resources in a browser: register one (a bad URI first), see it listed with its
metadata address, remove it; each change in the audit trail (ADR 0043)."""

import httpx
import pytest
from playwright.sync_api import Page, expect

from tessera.core.audit import AuditFilters
from tessera.core.paging import PageRequest
from tessera.services.container import Services
from tests.factories import make_person, new_password
from tests.pages.console_kit import assert_accessible, open_console

pytestmark = pytest.mark.browser

MCP = "https://mcp.example.test/mcp"


def test_an_admin_registers_and_removes_a_resource(
    page: Page, server: str, services: Services
) -> None:
    password = new_password()
    admin = make_person(services, admin=True, password=password, name="Ada Admin")
    open_console(page, server, admin.primary_email, password, "/console/resources")
    expect(page.get_by_role("heading", name="Resources", level=1)).to_be_visible()
    expect(page.get_by_role("cell", name="Tessera's own API")).to_be_visible()

    page.get_by_label("URI").fill("http://mcp.example.test/mcp")
    page.get_by_label("Name", exact=True).fill("MCP server")
    page.get_by_role("button", name="Register resource").click()
    expect(page.get_by_text("A resource is an absolute https URL")).to_be_visible()
    assert_accessible(page)

    page.get_by_label("URI").fill(MCP)
    page.get_by_role("button", name="Register resource").click()
    expect(page.locator(".notice")).to_contain_text("The resource is registered")
    expect(page.get_by_role("cell", name=MCP, exact=True)).to_be_visible()
    expect(
        page.get_by_text("https://mcp.example.test/.well-known/oauth-protected-resource/mcp")
    ).to_be_visible()
    assert_accessible(page)
    metadata = httpx.get(
        server + "/.well-known/oauth-protected-resource/mcp", headers={"Host": "mcp.example.test"}
    )
    assert metadata.status_code == 404  # https resource, asked over http: not this one

    page.get_by_role("button", name="Remove MCP server").click()
    expect(page.locator(".notice")).to_contain_text("The resource was removed")
    assert services.resources.list() == []
    events = services.audit.list(AuditFilters(), PageRequest(1, 20)).items
    added = [e for e in events if e.kind == "protected_resource.created"]
    assert [e.actor_person_id for e in added] == [admin.id]
    assert any(e.kind == "protected_resource.deleted" for e in events)
