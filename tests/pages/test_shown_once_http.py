"""Secrets shown once after a POST, over plain HTTP: post, redirect, get, and never again.

The POST answers 303 to a page named by the key's or app's id; the first GET shows the
secret, every later one says it was shown. No URL, redirect or later page holds the secret,
and the database holds it only sealed, for the browser that asked.
"""

import re

from sqlalchemy import select

from tessera.bootstrap import Runtime
from tessera.core.paging import PageRequest
from tessera.services.container import Services
from tessera.store.tables import ShownOnceRow
from tests.pages.admin_http import Console, console_as, text_of
from tests.secrets_seen import remember

KEY_STRING = re.compile(r'id="key-string">(\d+:[A-Za-z0-9]+)<')
SECRET = re.compile(r'id="client-secret">([^<]+)<')


def _stored_sealed(runtime: Runtime) -> list[bytes]:
    with runtime.database.read() as session:
        return list(session.scalars(select(ShownOnceRow.sealed)))


def _create_key(admin: Console) -> tuple[str, str]:
    posted = admin.post("/console/api-keys", {"note": "Sync", "kind": "superuser", "tags": "*"})
    assert posted.status_code == 303, posted.text
    return posted.headers["location"], posted.text


def test_a_new_key_is_shown_by_the_get_after_the_post_and_never_again(
    server: str, services: Services, runtime: Runtime
) -> None:
    with console_as(server, services) as admin:
        location, body = _create_key(admin)
        waiting = _stored_sealed(runtime)
        first = admin.get(location)
        again = admin.get(location)

    assert re.fullmatch(r"/console/api-keys/\d+/issued", location)
    found = KEY_STRING.search(first.text)
    assert found is not None, first.text
    key_string = found[1]
    remember(key_string.partition(":")[2])
    assert first.headers["cache-control"] == "no-store"
    assert key_string not in location + body
    # While it waited, the database held it sealed, not as text.
    assert len(waiting) == 1
    assert key_string.encode() not in waiting[0]
    assert key_string.partition(":")[2].encode() not in waiting[0]
    # The reload: no code, no second key, and it says why.
    assert again.status_code == 200
    assert again.headers["cache-control"] == "no-store"
    assert key_string.partition(":")[2] not in again.text
    assert "This code was shown once" in text_of(again)
    assert services.api_keys.list(PageRequest(1, 25)).total == 1
    assert _stored_sealed(runtime) == []


def test_a_regenerated_code_is_shown_once_too(server: str, services: Services) -> None:
    with console_as(server, services) as admin:
        location, _ = _create_key(admin)
        admin.get(location)
        key_id = location.split("/")[3]
        posted = admin.post(f"/console/api-keys/{key_id}/regenerate")
        first = admin.get(posted.headers["location"])
        again = admin.get(posted.headers["location"])

    assert posted.status_code == 303
    assert posted.headers["location"] == location
    found = KEY_STRING.search(first.text)
    assert found is not None
    remember(found[1].partition(":")[2])
    assert "New code for key" in first.text
    assert found[1].partition(":")[2] not in again.text
    assert "This code was shown once" in text_of(again)


def test_another_browser_cannot_take_the_secret_shown_to_this_one(
    server: str, services: Services
) -> None:
    with console_as(server, services) as admin, console_as(server, services) as other:
        location, _ = _create_key(admin)
        stolen = other.get(location)
        mine = admin.get(location)

    assert KEY_STRING.search(stolen.text) is None
    assert "This code was shown once" in text_of(stolen)
    found = KEY_STRING.search(mine.text)
    assert found is not None, "the other browser's look must not use it up"
    remember(found[1].partition(":")[2])


def test_an_apps_secret_is_shown_once_on_creation_and_rotation(
    server: str, services: Services
) -> None:
    form = {
        "name": "Calendar Sync",
        "redirect_uris": "https://calendar.example/callback",
        "allowed_grant_type": "authorization_code",
        "context": "agent",
    }
    with console_as(server, services) as admin:
        posted = admin.post("/console/apps", form)
        location = posted.headers["location"]
        first, again = admin.get(location), admin.get(location)
        app_id = location.split("/")[3]
        rotated = admin.post(f"/console/apps/{app_id}/rotate")
        after_rotation = admin.get(rotated.headers["location"])
        reloaded = admin.get(rotated.headers["location"])

    assert posted.status_code == 303
    assert re.fullmatch(r"/console/apps/\d+/issued", location)
    secrets = [SECRET.search(page.text) for page in (first, after_rotation)]
    assert all(found is not None for found in secrets)
    shown = [found[1] for found in secrets if found is not None]
    remember(*shown)
    assert shown[0] != shown[1]
    assert "App registered" in first.text
    assert "New secret for Calendar Sync" in after_rotation.text
    for page in (again, reloaded):
        assert SECRET.search(page.text) is None
        assert "The secret was shown once" in text_of(page)
        assert all(secret not in page.text for secret in shown)
    assert services.oauth_clients.list(PageRequest(1, 25)).total == 1
