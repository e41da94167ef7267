"""E10 ``POST /api/v2/api_tokens/magic_link/email`` and the page its link opens, over HTTP,
with the mail delivered to a real SMTP server (aiosmtpd) on loopback."""

import logging
import re
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import httpx
import pytest

from tessera.core.audit import AuditEvent, AuditFilters, AuditKind
from tessera.core.paging import PageRequest
from tessera.core.people import Person
from tessera.services.container import Services
from tests.clock import ManualClock
from tests.conftest import served
from tests.factories import make_person
from tests.mail_server import MailSite, closed_port, link_in, mail_settings, mail_site
from tests.metrics.scrape import value

ENDPOINT = "/api/v2/api_tokens/magic_link/email"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture(scope="module")
def module_site(database_url: str, clock: ManualClock) -> Iterator[MailSite]:
    with mail_site(database_url, clock) as site:
        yield site


@pytest.fixture
def site(module_site: MailSite, clock: ManualClock) -> Iterator[MailSite]:
    yield module_site
    module_site.clean(clock)


@pytest.fixture
def browser(site: MailSite) -> Iterator[httpx.Client]:
    """A client that keeps cookies, as a browser does."""
    with httpx.Client(base_url=site.url, timeout=60) as client:
        yield client


def person_of(
    site: MailSite, *, agent: bool = False, identity_provider: str | None = None
) -> Person:
    return make_person(site.runtime.services, agent=agent, identity_provider=identity_provider)


def ask(client: httpx.Client, email: str, target: str | None = None) -> httpx.Response:
    body = {"email": email} if target is None else {"email": email, "target": target}
    return client.post(ENDPOINT, json=body)


def events(services: Services, kind: AuditKind) -> list[AuditEvent]:
    return services.audit.list(AuditFilters(kind=kind.value), PageRequest(1, 100)).items


def open_link(client: httpx.Client, link: str, site: MailSite) -> httpx.Response:
    return client.get(link.replace("http://helpdesk.test", site.url))


def press_sign_in(client: httpx.Client, path: str, page: httpx.Response) -> httpx.Response:
    """The page's button; a page without one (a dead link's) lends the sign-in form's token."""
    found = _CSRF.search(page.text) or _CSRF.search(client.get("/login").text)
    assert found is not None, page.text
    return client.post(path, data={"csrf_token": found[1]})


def test_a_link_by_mail_signs_its_person_in_once_and_lands_on_the_target(
    site: MailSite, browser: httpx.Client
) -> None:
    person = person_of(site)

    answer = ask(browser, person.primary_email.upper(), target="/login?from=mail")

    assert answer.status_code == 204
    assert answer.content == b""
    [mail] = site.inbox.wait_for(1)
    assert mail["To"] == person.primary_email
    assert mail["From"] == "helpdesk@example.test"
    assert mail["Subject"] == "Sign in to Tessera"
    assert site.inbox.recipients() == [[person.primary_email]]
    link, code = link_in(mail)
    assert link.startswith("http://helpdesk.test/magic-link/TSRM")
    path = "/magic-link/" + code

    # Opening the link (what a mail scanner does too) uses nothing.
    page = open_link(browser, link, site)
    assert page.status_code == 200
    assert "Sign in" in page.text
    assert open_link(browser, link, site).status_code == 200

    signed_in = press_sign_in(browser, path, page)

    assert signed_in.status_code == 303
    assert signed_in.headers["location"] == "/login?from=mail"
    welcome = browser.get("/login")
    assert welcome.status_code == 200
    assert "You are signed in as" in welcome.text
    assert person.primary_email in welcome.text
    [used] = events(site.runtime.services, AuditKind.MAGIC_LINK_USED)
    assert used.subject_person_id == person.id
    assert used.actor_person_id == person.id
    [sent] = events(site.runtime.services, AuditKind.MAGIC_LINK_SENT)
    assert sent.subject_person_id == person.id
    assert sent.detail == used.detail  # the same link

    # Once: the page says so, and its button signs nobody in.
    with httpx.Client(base_url=site.url, timeout=60) as other:
        again = open_link(other, link, site)
        assert again.status_code == 404
        assert "expired or has already been used" in again.text
        refused = press_sign_in(other, path, again)
        assert refused.status_code == 404
        assert "You are signed in as" not in other.get("/login").text


def test_an_unknown_address_gets_the_same_answer_and_no_mail(
    site: MailSite, browser: httpx.Client
) -> None:
    known = person_of(site)

    unknown = ask(browser, "nobody-" + known.primary_email)
    answered = ask(browser, known.primary_email)
    site.settle()

    assert (unknown.status_code, unknown.content) == (answered.status_code, answered.content)
    assert unknown.status_code == 204
    assert [mail["To"] for mail in site.inbox.mails] == [known.primary_email]


def test_the_request_shape_is_checked_in_deskpros_envelope(
    site: MailSite, browser: httpx.Client
) -> None:
    missing = browser.post(ENDPOINT, json={"target": "/login"})
    malformed = ask(browser, "not an address")
    not_json = browser.post(ENDPOINT, content=b"{", headers={"Content-Type": "application/json"})

    assert missing.status_code == 400
    assert missing.json() == {
        "status": 400,
        "code": "invalid_input",
        "message": "Request input is invalid.",
        "errors": {
            "fields": {
                "email": {
                    "errors": [{"code": "required", "message": "This value should not be blank."}]
                }
            }
        },
    }
    assert malformed.status_code == 400
    assert malformed.json()["errors"]["fields"]["email"]["errors"][0]["code"] == "invalid_email"
    assert not_json.status_code == 400
    site.settle()
    assert site.inbox.mails == []


def test_people_who_may_not_use_links_get_the_same_answer_and_no_mail(
    site: MailSite, browser: httpx.Client
) -> None:
    services = site.runtime.services
    disabled = person_of(site)
    services.people.set_disabled(disabled.id, disabled=True)
    external = person_of(site, identity_provider="okta")
    agent = person_of(site, agent=True)

    answers = [ask(browser, p.primary_email).status_code for p in (disabled, external, agent)]
    site.settle()

    assert answers == [204, 204, 204]
    assert site.inbox.mails == []
    refused = {
        event.subject_person_id: event.detail["reason"]
        for event in events(services, AuditKind.MAGIC_LINK_REFUSED)
    }
    assert refused == {
        disabled.id: "disabled",
        external.id: "identity_provider",
        agent.id: "agent",
    }


def test_a_link_stops_working_when_it_expires(
    site: MailSite, browser: httpx.Client, clock: ManualClock
) -> None:
    person = person_of(site)
    ask(browser, person.primary_email)
    link, code = link_in(site.inbox.wait_for(1)[0])
    page = open_link(browser, link, site)
    assert page.status_code == 200

    clock.advance(timedelta(minutes=15, seconds=1))

    assert open_link(browser, link, site).status_code == 404
    assert press_sign_in(browser, "/magic-link/" + code, page).status_code == 404
    assert "You are signed in as" not in browser.get("/login").text


def test_a_person_disabled_after_the_mail_cannot_use_the_link(
    site: MailSite, browser: httpx.Client
) -> None:
    person = person_of(site)
    ask(browser, person.primary_email)
    link, code = link_in(site.inbox.wait_for(1)[0])
    page = open_link(browser, link, site)

    site.runtime.services.people.set_disabled(person.id, disabled=True)

    assert press_sign_in(browser, "/magic-link/" + code, page).status_code == 404


def test_of_two_racing_uses_of_one_link_exactly_one_signs_in(
    site: MailSite, browser: httpx.Client
) -> None:
    person = person_of(site)
    ask(browser, person.primary_email)
    link, code = link_in(site.inbox.wait_for(1)[0])
    found = _CSRF.search(open_link(browser, link, site).text)
    assert found is not None
    form, cookies = {"csrf_token": found[1]}, dict(browser.cookies)
    start = threading.Barrier(4)

    def press() -> int:
        with httpx.Client(base_url=site.url, timeout=60, cookies=cookies) as tab:
            start.wait()
            return tab.post("/magic-link/" + code, data=form).status_code

    with ThreadPoolExecutor(4) as tabs:
        statuses = sorted(tabs.map(lambda _: press(), range(4)))

    assert statuses == [303, 404, 404, 404]
    assert len(events(site.runtime.services, AuditKind.MAGIC_LINK_USED)) == 1


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example/",
        "//evil.example/path",
        "/\\evil.example",
        "/\t/evil.example",
        "javascript:alert(1)",
        "evil.example",
    ],
)
def test_a_target_that_is_not_a_path_here_leads_to_the_sign_in_page(
    site: MailSite, browser: httpx.Client, target: str
) -> None:
    person = person_of(site)
    ask(browser, person.primary_email, target=target)
    link, code = link_in(site.inbox.wait_for(1)[0])

    signed_in = press_sign_in(browser, "/magic-link/" + code, open_link(browser, link, site))

    assert signed_in.status_code == 303
    assert signed_in.headers["location"] == "/login"


def test_the_button_needs_the_pages_csrf_token(site: MailSite, browser: httpx.Client) -> None:
    person = person_of(site)
    ask(browser, person.primary_email)
    link, code = link_in(site.inbox.wait_for(1)[0])
    open_link(browser, link, site)

    forged = browser.post("/magic-link/" + code, data={"csrf_token": "forged-token"})

    assert forged.status_code == 403
    assert open_link(browser, link, site).status_code == 200  # not used up


def test_asking_too_often_for_one_address_is_throttled_whoever_it_is(
    site: MailSite, browser: httpx.Client
) -> None:
    person = person_of(site)
    unknown = "nobody-" + person.primary_email

    known_answers = [ask(browser, person.primary_email).status_code for _ in range(4)]
    unknown_answers = [ask(browser, unknown).status_code for _ in range(4)]
    limited = ask(browser, person.primary_email)

    assert known_answers == [204, 204, 204, 429]
    assert unknown_answers == known_answers
    assert limited.json()["code"] == "rate_limits"
    assert int(limited.headers["Retry-After"]) > 0
    site.settle()
    assert len(site.inbox.mails) == 3


def test_asking_too_often_from_one_client_is_throttled(
    database_url: str, clock: ManualClock
) -> None:
    with mail_site(database_url, clock, magic_link_rate_per_address="2/minute") as site:
        people = [person_of(site) for _ in range(3)]
        with httpx.Client(base_url=site.url, timeout=60) as client:
            answers = [ask(client, p.primary_email).status_code for p in people]

    assert answers == [204, 204, 429]


def test_without_a_mail_server_links_are_switched_off(api: httpx.Client) -> None:
    answer = ask(api, "someone@example.test")

    assert answer.status_code == 403
    assert answer.json()["code"] == "forbidden"


def test_a_mail_server_that_is_down_leaves_the_answer_at_204_and_is_reported(
    database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    settings = mail_settings(closed_port(), mail_attempts=2, mail_retry_seconds=2)
    with served(database_url, **settings) as (runtime, api):
        person = make_person(runtime.services, agent=False)

        failed_before = value(api, "tessera_mails_total", outcome="failed")
        with caplog.at_level(logging.INFO, logger="tessera"):
            started = time.monotonic()
            answer = ask(api, person.primary_email)
            answered_after = time.monotonic() - started
            # Answered while the outbox is still waiting to try again: nothing waited on it.
            not_yet = events(runtime.services, AuditKind.MAGIC_LINK_MAIL_FAILED)
            runtime.services.magic_links.wait_for_mail()

        failed = events(runtime.services, AuditKind.MAGIC_LINK_MAIL_FAILED)
        failed_mails = value(api, "tessera_mails_total", outcome="failed")

    assert answer.status_code == 204
    assert answered_after < 2
    assert not_yet == []
    assert [event.subject_person_id for event in failed] == [person.id]
    assert failed_mails == failed_before + 1
    lines = [r.getMessage() for r in caplog.records if r.name == "tessera.services.magic_links"]
    assert any("attempt 1 of 2: ConnectionRefusedError" in line for line in lines), lines
    assert any("not sent after 2 attempts" in line for line in lines), lines
    assert all(person.primary_email not in line for line in lines)


def test_the_endpoint_is_described_as_open_in_the_openapi_document(api: httpx.Client) -> None:
    operation = api.get("/openapi.json").json()["paths"][ENDPOINT]["post"]

    assert "security" not in operation
    assert set(operation["responses"]) >= {"204", "400", "403", "429"}
    body = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    assert body.endswith("/MagicLinkIn")


def test_the_sign_in_pages_form_asks_for_a_link_and_answers_the_same_for_anybody(
    site: MailSite, browser: httpx.Client
) -> None:
    person = person_of(site)
    unknown = "nobody-" + person.primary_email
    form = browser.get("/login/link", params={"next": "/login?from=form"})
    found = _CSRF.search(form.text)
    assert found is not None

    answers = [
        browser.post(
            "/login/link",
            data={"csrf_token": found[1], "email": email, "next": "/login?from=form"},
        )
        for email in (unknown, person.primary_email)
    ]
    forged = browser.post("/login/link", data={"csrf_token": "forged", "email": unknown})
    malformed = browser.post("/login/link", data={"csrf_token": found[1], "email": "nope"})

    assert [answer.status_code for answer in answers] == [200, 200]
    unknown_page = answers[0].text.replace(unknown, "ADDRESS")
    known_page = answers[1].text.replace(person.primary_email, "ADDRESS")
    assert unknown_page == known_page
    assert "Check your mail" in answers[0].text
    assert (forged.status_code, malformed.status_code) == (403, 400)
    [mail] = site.inbox.wait_for(1)
    link, code = link_in(mail)
    signed_in = press_sign_in(browser, "/magic-link/" + code, open_link(browser, link, site))
    assert signed_in.headers["location"] == "/login?from=form"
    site.settle()
    assert len(site.inbox.mails) == 1


def test_mails_are_counted_in_the_metrics(site: MailSite, browser: httpx.Client) -> None:
    person = person_of(site)
    before = value(browser, "tessera_mails_total", outcome="sent")

    ask(browser, person.primary_email)
    site.settle()

    assert value(browser, "tessera_mails_total", outcome="sent") == before + 1
    assert value(browser, "tessera_mail_queue_depth") == 0
