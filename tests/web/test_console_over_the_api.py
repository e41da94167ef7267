"""What the admin console reads besides the long-standing resources, over the API too.

The tag check, how many people connected each app, and the audit trail as one JSON document:
the console's pages use the same service calls, so automation can do what an admin does.
"""

import httpx

from tessera.services.container import Services
from tests.factories import key_header, make_key, make_oauth_client, make_person
from tests.oauth.flows import Browser, issue_tokens, make_account
from tests.web.envelopes import assert_error, data_of, envelope, field, invalid_input

INVALID_TAGS = {
    "code": "invalid_tag_pattern",
    "message": "This value is not a list of tag patterns.",
}
BLANK = {"code": "required", "message": "This value should not be blank."}


def admin(services: Services) -> dict[str, str]:
    return key_header(make_key(services, make_person(services, admin=True)))


def test_the_tag_check_applies_the_servers_rule(api: httpx.Client, services: Services) -> None:
    headers = admin(services)

    def check(tags: str, tag: str) -> httpx.Response:
        return api.get(
            "/api/v2/api_keys/tag_check", params={"tags": tags, "tag": tag}, headers=headers
        )

    assert data_of(check("tickets.* ,  -*.delete", "tickets.tickets.list")) == {
        "tags": "tickets.*, -*.delete",
        "tag": "tickets.tickets.list",
        "allowed": True,
    }
    assert data_of(check("tickets.*, -*.delete", "tickets.tickets.delete"))["allowed"] is False
    assert data_of(check("", "me.me.get"))["allowed"] is False
    assert_error(check("tickets/*", "x"), invalid_input(tags=field(INVALID_TAGS)))
    assert_error(check("*", " "), invalid_input(tag=field(BLANK)))


def test_only_admins_may_check_tags_or_count_connections(
    api: httpx.Client, services: Services
) -> None:
    agent = key_header(make_key(services, make_person(services)))
    for path in ("/api/v2/api_keys/tag_check?tags=*&tag=a", "/api/v2/oauth_clients/connections"):
        assert_error(api.get(path, headers=agent), envelope(403, "forbidden"))


def test_connections_count_people_with_live_tokens_per_app(
    api: httpx.Client, services: Services, server: str
) -> None:
    used = make_oauth_client(services, name="Used App")
    make_oauth_client(services, name="Unused App")
    for _ in range(2):
        browser = Browser(server)
        try:
            browser.sign_in(make_account(services))
            issue_tokens(browser, api, used)
        finally:
            browser.close()

    counts = data_of(api.get("/api/v2/oauth_clients/connections", headers=admin(services)))

    assert counts == [{"oauth_client_id": used.client.id, "people": 2}]


def test_the_json_export_holds_every_matching_event(api: httpx.Client, services: Services) -> None:
    headers = admin(services)
    person = make_person(services)

    response = api.get(
        "/api/v2/audit_events.json", params={"person_id": person.id}, headers=headers
    )

    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert "attachment" in response.headers["content-disposition"]
    events = response.json()["data"]
    assert [(e["kind"], e["subject_person_id"]) for e in events] == [("person.created", person.id)]
    bad = api.get("/api/v2/audit_events.json", params={"since": "soon"}, headers=headers)
    assert bad.status_code == 400
