"""Bad input on the admin forms: 400, the service's sentence by the field, what was typed kept."""

import re

import httpx

from tessera.app import create_app
from tessera.core.paging import PageRequest
from tessera.services.container import Services
from tests.conftest import extra_runtime
from tests.factories import make_key, make_oauth_client, make_person
from tests.live import serving
from tests.pages.admin_http import console_as, text_of, value_of
from tests.secrets_seen import remember


def test_adding_a_person_with_a_bad_address_keeps_the_form_but_not_the_password(
    server: str, services: Services
) -> None:
    password = "a password nobody should see again"
    remember(password)
    with console_as(server, services) as admin:
        answer = admin.post(
            "/console/people",
            {"name": "Nora New", "email": "not-an-address", "role": "admin", "password": password},
        )
    assert answer.status_code == 400
    assert "This value is not a valid email address." in text_of(answer)
    assert value_of(answer, "name") == "Nora New"
    assert value_of(answer, "email") == "not-an-address"
    assert '<option value="admin" selected>' in answer.text
    assert password not in answer.text
    assert services.people.list(PageRequest(), "nora").total == 0


def test_an_address_in_use_and_a_short_password_are_both_reported(
    server: str, services: Services
) -> None:
    existing = make_person(services)
    with console_as(server, services) as admin:
        answer = admin.post(
            "/console/people",
            {"name": "Copy", "email": existing.primary_email, "role": "agent", "password": "short"},
        )
    assert answer.status_code == 400
    page = text_of(answer)
    assert "A password needs at least" in page
    # The password is checked first; fixed, the address is the next problem.
    with console_as(server, services) as admin:
        again = admin.post(
            "/console/people",
            {"name": "Copy", "email": existing.primary_email, "role": "agent", "password": ""},
        )
    assert again.status_code == 400
    assert "This value is already used." in text_of(again)


def test_an_admin_cannot_disable_demote_or_delete_themselves(
    server: str, services: Services
) -> None:
    with console_as(server, services) as admin:
        me = admin.person
        disabled = admin.post(f"/console/people/{me.id}/disable")
        demoted = admin.post(
            f"/console/people/{me.id}",
            {"name": me.name, "emails": me.primary_email, "role": "agent"},
        )
        deleted = admin.post(f"/console/people/{me.id}/delete")
    for answer in (disabled, demoted, deleted):
        assert answer.status_code == 400
        assert "You cannot do this to the person you act as." in text_of(answer)
    after = services.people.get(me.id)
    assert after.is_admin
    assert not after.is_disabled


def test_a_reset_password_must_be_long_enough(server: str, services: Services) -> None:
    target = make_person(services)
    with console_as(server, services) as admin:
        answer = admin.post(f"/console/people/{target.id}/password", {"new_password": "short"})
        empty = admin.post(f"/console/people/{target.id}/password", {"new_password": ""})
    assert answer.status_code == 400
    assert "A password needs at least" in text_of(answer)
    assert 'id="new_password-problems"' in answer.text
    assert empty.status_code == 400
    assert not services.people.get(target.id).has_password


def test_a_normal_key_needs_a_known_agent_and_valid_tags(server: str, services: Services) -> None:
    with console_as(server, services) as admin:
        no_agent = admin.post(
            "/console/api-keys", {"note": "Sync", "kind": "normal", "tags": "tickets.*"}
        )
        unknown = admin.post(
            "/console/api-keys",
            {"note": "Sync", "kind": "normal", "agent": "nobody@example.test", "tags": "*"},
        )
        bad_tags = admin.post(
            "/console/api-keys",
            {"note": "Sync", "kind": "normal", "agent": str(admin.person.id), "tags": "tickets/*"},
        )
        admin_api = admin.post(
            "/console/api-keys",
            {"note": "Sync", "kind": "normal", "agent": str(admin.person.id), "admin_api": "on"},
        )
    assert no_agent.status_code == 400
    assert "This value should not be blank." in text_of(no_agent)
    assert value_of(no_agent, "note") == "Sync"
    assert value_of(no_agent, "tags") == "tickets.*"
    assert unknown.status_code == 400
    assert "No person has this e-mail address or id." in text_of(unknown)
    assert value_of(unknown, "agent") == "nobody@example.test"
    assert bad_tags.status_code == 400
    assert "This value is not a list of tag patterns." in text_of(bad_tags)
    assert admin_api.status_code == 400
    assert "Only a superuser key can be given the admin API." in text_of(admin_api)
    assert services.api_keys.list(PageRequest()).total == 0


def test_the_check_button_answers_with_the_servers_rule_and_creates_nothing(
    server: str, services: Services
) -> None:
    form = {"note": "Sync", "kind": "superuser", "tags": "tickets.*, -*.delete", "action": "check"}
    with console_as(server, services) as admin:
        allowed = admin.post("/console/api-keys", {**form, "check_tag": "tickets.tickets.list"})
        refused = admin.post("/console/api-keys", {**form, "check_tag": "tickets.tickets.delete"})
        invalid = admin.post(
            "/console/api-keys", {**form, "tags": "a b", "check_tag": "tickets.tickets.list"}
        )
        # Enter in a field presses the first button, Check, with no tag typed.
        nothing = admin.post("/console/api-keys", {**form, "check_tag": ""})
    assert allowed.status_code == 200
    assert "Allowed: a key with tickets.*, -*.delete may call tickets.tickets.list." in text_of(
        allowed
    )
    assert "Refused: a key with tickets.*, -*.delete may not call tickets.tickets.delete." in (
        text_of(refused)
    )
    assert value_of(refused, "note") == "Sync"
    assert invalid.status_code == 400
    assert "This value is not a list of tag patterns." in text_of(invalid)
    assert nothing.status_code == 200
    assert "Type an endpoint tag to check" in text_of(nothing)
    assert value_of(nothing, "note") == "Sync"
    assert services.api_keys.list(PageRequest()).total == 0


def test_a_revoked_key_cannot_be_regenerated(server: str, services: Services) -> None:
    key = make_key(services, make_person(services))
    services.api_keys.revoke(key.key.id)
    with console_as(server, services) as admin:
        answer = admin.post(f"/console/api-keys/{key.key.id}/regenerate")
    assert answer.status_code == 400
    assert "A revoked key cannot be regenerated" in text_of(answer)


def test_an_app_with_an_insecure_redirect_uri_is_refused_line_by_line(
    server: str, services: Services
) -> None:
    uris = "https://app.example.test/callback\nhttp://app.example.test/callback"
    with console_as(server, services) as admin:
        answer = admin.post(
            "/console/apps",
            {"name": "Sync", "redirect_uris": uris, "allowed_grant_type": "authorization_code"},
        )
        forged = admin.post(
            "/console/apps",
            {"name": "Sync", "redirect_uris": "https://a.example.test/", "allowed_grant_type": "x"},
        )
    assert answer.status_code == 400
    assert (
        "Line 2: A redirect URI must use https, or http on a loopback address (127.0.0.1, "
        "[::1] or localhost); this server does not allow plain http to other hosts."
    ) in text_of(answer)
    assert value_of(answer, "redirect_uris") == uris
    assert forged.status_code == 400
    assert "This value is not valid." in text_of(forged)
    assert services.oauth_clients.count() == 0


def test_filters_naming_nobody_or_no_time_are_explained(server: str, services: Services) -> None:
    with console_as(server, services) as admin:
        tokens = admin.get("/console/tokens?person=ghost@example.test")
        huge = admin.get("/console/audit?person=" + "9" * 40)
        audit = admin.get("/console/audit?since=yesterday&kind=person.created")
        export = admin.get("/console/audit/export.csv?since=yesterday")
    assert tokens.status_code == 400
    assert "No person has this e-mail address or id." in text_of(tokens)
    assert value_of(tokens, "person") == "ghost@example.test"
    assert huge.status_code == 400
    assert "No person has this e-mail address or id." in text_of(huge)
    assert audit.status_code == 400
    assert "This value is not valid." in text_of(audit)
    assert value_of(audit, "since") == "yesterday"
    assert export.status_code == 400


def test_hand_edited_page_numbers_show_the_first_page(server: str, services: Services) -> None:
    with console_as(server, services) as admin:
        for page in ("0", "-1", "x", "99999999999", "9" * 5000):
            answer = admin.get(f"/console/people?page={page}")
            assert answer.status_code == 200
            assert "Console Tester" in text_of(answer)


def test_signed_in_pages_are_never_cached_nor_framed(server: str, services: Services) -> None:
    with console_as(server, services) as admin:
        answer = admin.get("/console/api-keys")
    assert answer.headers["cache-control"] == "no-store"
    assert "frame-ancestors 'none'" in answer.headers["content-security-policy"]


def test_an_apps_page_warns_about_plain_http_redirect_uris(
    database_url: str, server: str, services: Services
) -> None:
    uris = ["https://legacy.example.test/cb", "http://legacy.example.test/cb"]
    local = make_oauth_client(services, redirect_uris=["http://localhost:6274/cb"]).client
    with (
        extra_runtime(database_url, oauth_allow_insecure_redirects=True) as permissive,
        serving(create_app(runtime=permissive)) as url,
    ):
        legacy = make_oauth_client(permissive.services, name="Legacy", redirect_uris=uris).client
        with console_as(url, permissive.services) as admin:
            allowed = text_of(admin.get(f"/console/apps/{legacy.id}"))
        with console_as(server, services) as admin:
            unused = text_of(admin.get(f"/console/apps/{legacy.id}"))
            saved = admin.post(
                f"/console/apps/{legacy.id}",
                {
                    "name": "Legacy",
                    "redirect_uris": "\n".join(uris),
                    "allowed_grant_type": "authorization_code",
                    "context": "agent",
                },
            )
            loopback_only = text_of(admin.get(f"/console/apps/{local.id}"))

    assert "Plain http redirect URIs: http://legacy.example.test/cb" in allowed
    assert "accepted only because the server runs with" in allowed
    assert "TESSERA_OAUTH_ALLOW_INSECURE_REDIRECTS on" in allowed
    assert "https://legacy.example.test/cb Codes" not in allowed  # https is not listed
    assert "Not used: TESSERA_OAUTH_ALLOW_INSECURE_REDIRECTS is off" in unused
    assert saved.status_code == 400
    assert "Line 2: A redirect URI must use https" in text_of(saved)
    assert "Plain http redirect URIs" not in loopback_only


def selected_in(response: httpx.Response, name: str) -> str | None:
    """The value of the selected option of a ``<select name=…>``."""
    select = re.search(rf'<select[^>]*name="{name}"[^>]*>(.*?)</select>', response.text, re.S)
    assert select is not None, response.text
    option = re.search(r'<option value="([^"]*)" selected>', select[1])
    return option[1] if option else None


def test_an_apps_id_token_algorithm_is_chosen_shown_and_changed(
    server: str, services: Services
) -> None:
    app_form = {
        "name": "Grafana",
        "redirect_uris": "https://grafana.example.test/login/generic_oauth",
        "allowed_grant_type": "authorization_code",
        "context": "agent",
    }
    with console_as(server, services) as admin:
        blank = admin.get("/console/apps")
        created = admin.post("/console/apps", app_form | {"id_token_signed_response_alg": "ES256"})
        (app,) = services.oauth_clients.list_all()
        page = admin.get(f"/console/apps/{app.id}")
        forged = admin.post(
            f"/console/apps/{app.id}", app_form | {"id_token_signed_response_alg": "HS256"}
        )
        kept = services.oauth_clients.get(app.id).id_token_signed_response_alg
        changed = admin.post(
            f"/console/apps/{app.id}", app_form | {"id_token_signed_response_alg": "RS256"}
        )
        # A form without the field (a page from before it existed) leaves the choice alone.
        older_form = admin.post(f"/console/apps/{app.id}", app_form)

    assert selected_in(blank, "id_token_signed_response_alg") == "RS256"
    assert created.status_code == 303, created.text
    assert "ID tokens signed with ES256" in text_of(page)
    assert selected_in(page, "id_token_signed_response_alg") == "ES256"
    assert forged.status_code == 400
    assert "This value is not valid." in text_of(forged)
    assert kept.value == "ES256"
    assert (changed.status_code, older_form.status_code) == (303, 303)
    assert services.oauth_clients.get(app.id).id_token_signed_response_alg.value == "RS256"


def test_an_apps_access_token_format_is_chosen_shown_and_changed(
    server: str, services: Services
) -> None:
    app_form = {
        "name": "Reports",
        "redirect_uris": "https://reports.example.test/callback",
        "allowed_grant_type": "authorization_code",
        "context": "agent",
    }
    with console_as(server, services) as admin:
        blank = admin.get("/console/apps")
        created = admin.post("/console/apps", app_form | {"access_token_format": "jwt"})
        (app,) = services.oauth_clients.list_all()
        page = admin.get(f"/console/apps/{app.id}")
        forged = admin.post(f"/console/apps/{app.id}", app_form | {"access_token_format": "x"})
        changed = admin.post(
            f"/console/apps/{app.id}", app_form | {"access_token_format": "opaque"}
        )
        # A form without the field (a page from before it existed) leaves the choice alone.
        older_form = admin.post(f"/console/apps/{app.id}", app_form)

    assert selected_in(blank, "access_token_format") == "opaque"
    assert created.status_code == 303, created.text
    assert "Access tokens JWT (RFC 9068)" in text_of(page)
    assert selected_in(page, "access_token_format") == "jwt"
    assert forged.status_code == 400
    assert (changed.status_code, older_form.status_code) == (303, 303)
    assert services.oauth_clients.get(app.id).access_token_format.value == "opaque"
