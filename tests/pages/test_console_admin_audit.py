"""The audit log in a browser: filter by person, kind and time, then export what is shown."""

import csv
import io
import json
from datetime import timedelta

import pytest
from playwright.sync_api import Page, expect

from tessera.services.container import Services
from tests.clock import ManualClock
from tests.factories import make_key, make_person, new_password
from tests.pages.console_kit import assert_accessible, open_console, save_screenshot

pytestmark = pytest.mark.browser


def test_an_admin_filters_the_audit_log_and_exports_it(
    page: Page, server: str, services: Services, clock: ManualClock
) -> None:
    password = new_password()
    admin = make_person(services, admin=True, password=password, name="Ada Admin")
    bob = make_person(services, name="Bob Agent")
    clock.advance(timedelta(hours=2))
    make_key(services, bob)
    services.people.set_disabled(bob.id, True, actor=admin.id)
    later = (clock.now() - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")

    open_console(page, server, admin.primary_email, password, "/console/audit")
    expect(page.get_by_role("heading", name="Audit log", level=1)).to_be_visible()
    assert_accessible(page)

    page.get_by_label("Person (e-mail address or id)").fill(bob.primary_email)
    page.get_by_role("button", name="Show events").click()
    events = page.get_by_role("row")
    # Header, then newest first: disabled, key created, person created.
    expect(events).to_have_count(4)
    expect(events.nth(1)).to_contain_text("person.disabled")
    expect(events.nth(1)).to_contain_text("Ada Admin")
    expect(events.nth(3)).to_contain_text("person.created")

    page.get_by_label("Kind").select_option("api_key.created")
    page.get_by_role("button", name="Show events").click()
    expect(events).to_have_count(2)
    expect(events.nth(1)).to_contain_text("key")

    page.get_by_label("Kind").select_option("")
    page.get_by_label("From (UTC)").fill(later)
    page.get_by_role("button", name="Show events").click()
    expect(events).to_have_count(3)
    expect(page.get_by_text("2 events, newest first.")).to_be_visible()
    assert_accessible(page)
    save_screenshot(page, "admin-audit")

    with page.expect_download() as csv_download:
        page.get_by_role("link", name="CSV").click()
    rows = list(csv.DictReader(io.StringIO(csv_download.value.path().read_text())))
    assert [row["kind"] for row in rows] == ["person.disabled", "api_key.created"]
    assert {row["subject_person_id"] for row in rows} == {str(bob.id)}

    with page.expect_download() as json_download:
        page.get_by_role("link", name="JSON").click()
    data = json.loads(json_download.value.path().read_text())["data"]
    assert [event["kind"] for event in data] == ["person.disabled", "api_key.created"]
