"""Who may open the admin pages, forms without their CSRF token, ids that name nothing."""

import httpx
import pytest

from tessera.core.paging import PageRequest
from tessera.services.container import Services
from tests.factories import make_key, make_person
from tests.pages.admin_http import console_as, text_of

ADMIN_PAGES = [
    "/console/people",
    "/console/api-keys",
    "/console/apps",
    "/console/tokens",
    "/console/audit",
    "/console/audit/export.csv",
    "/console/audit/export.json",
]


@pytest.mark.parametrize("path", ADMIN_PAGES)
def test_signed_out_visitors_are_sent_to_sign_in(
    server: str, services: Services, path: str
) -> None:
    answer = httpx.get(server + path + "?page=2", follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/login?next=" + path + "%3Fpage%3D2"


def test_an_agent_is_refused_every_admin_page_and_action(server: str, services: Services) -> None:
    target = make_person(services)
    key = make_key(services, target)
    with console_as(server, services, admin=False) as agent:
        for path in [
            *ADMIN_PAGES,
            f"/console/people/{target.id}",
            f"/console/api-keys/{key.key.id}",
        ]:
            answer = agent.get(path)
            assert answer.status_code == 403, path
            assert "Only admins can open this page." in text_of(answer)
        revoke = agent.post(f"/console/api-keys/{key.key.id}/revoke")
        assert revoke.status_code == 403
    assert services.api_keys.get(key.key.id).revoked_at is None


@pytest.mark.parametrize("token", [None, "forged-" + "x" * 30])
def test_a_form_without_this_browsers_csrf_token_changes_nothing(
    server: str, services: Services, token: str | None
) -> None:
    target = make_person(services)
    key = make_key(services, target)
    with console_as(server, services) as admin:
        form = {} if token is None else {"csrf_token": token}
        for path in [
            f"/console/api-keys/{key.key.id}/revoke",
            f"/console/people/{target.id}/disable",
            f"/console/people/{target.id}/delete",
        ]:
            answer = admin.post(path, form, csrf=False)
            assert answer.status_code == 403, path
            assert "did not come from this site" in text_of(answer)
        created = admin.post(
            "/console/people", {"name": "Eve", "email": "eve@example.test"}, csrf=False
        )
        assert created.status_code == 403
    assert services.api_keys.get(key.key.id).revoked_at is None
    assert not services.people.get(target.id).is_disabled
    assert services.people.list(PageRequest(), "eve@").total == 0


@pytest.mark.parametrize(
    "path",
    [
        "/console/people/999999",
        "/console/people/abc",
        "/console/people/99999999999999999999999",
        "/console/people/" + "9" * 5000,
        "/console/people/999999/delete",
        "/console/api-keys/999999",
        "/console/apps/999999",
        "/console/apps/999999/delete",
    ],
)
def test_pages_of_unknown_ids_are_not_found(server: str, services: Services, path: str) -> None:
    with console_as(server, services) as admin:
        answer = admin.get(path)
    assert answer.status_code == 404
    assert "nothing with this id" in text_of(answer)


@pytest.mark.parametrize(
    "path",
    [
        "/console/people/999999",
        "/console/people/999999/disable",
        "/console/people/999999/password",
        "/console/people/999999/delete",
        "/console/api-keys/999999",
        "/console/api-keys/999999/regenerate",
        "/console/api-keys/999999/revoke",
        "/console/apps/999999",
        "/console/apps/999999/rotate",
        "/console/apps/999999/disable",
        "/console/apps/999999/delete",
        "/console/tokens/999999/revoke",
        "/console/tokens/x1/revoke",
    ],
)
def test_actions_on_unknown_ids_are_not_found(server: str, services: Services, path: str) -> None:
    with console_as(server, services) as admin:
        answer = admin.post(path, {"name": "x", "new_password": "a long enough password"})
    assert answer.status_code == 404
    assert "nothing with this id" in text_of(answer)
