"""The rules of magic links: where a link may lead, who may get one, what the mail says."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from tessera.core.ids import PersonId
from tessera.core.magic_links import (
    DEFAULT_TARGET,
    MAX_TARGET_LENGTH,
    Refusal,
    message,
    refusal_for,
    safe_target,
)
from tessera.core.people import Person


@pytest.mark.parametrize(
    "target",
    ["/", "/console", "/console/account/sign-ins", "/oauth/authorize?client_id=1_x&state=a%2Fb"],
)
def test_a_path_on_this_server_is_kept(target: str) -> None:
    assert safe_target(target) == target


@pytest.mark.parametrize(
    "target",
    [
        None,
        "",
        "console",
        "https://evil.example/",
        "http:/evil.example",
        "//evil.example",
        "///evil.example",
        "/\\evil.example",
        "\\\\evil.example",
        "/\t/evil.example",
        "/\n/evil.example",
        "/ /evil.example",
        "/\x7f",
        "javascript:alert(1)",
        "/" + "a" * MAX_TARGET_LENGTH,
    ],
)
def test_anything_else_leads_to_the_sign_in_page(target: str | None) -> None:
    assert safe_target(target) == DEFAULT_TARGET


_SOMEONE = Person(
    id=PersonId(7),
    name="Una User",
    first_name="Una",
    last_name="User",
    display_name="Una User",
    primary_email="una@example.test",
    emails=("una@example.test",),
    is_agent=False,
    is_admin=False,
    is_disabled=False,
    timezone="UTC",
    language_id=1,
    phone=None,
    identity_provider=None,
    has_password=False,
    created_at=datetime(2026, 12, 6, tzinfo=UTC),
)


def test_users_may_agents_only_when_allowed_never_the_disabled_or_external() -> None:
    agent = replace(_SOMEONE, is_agent=True)

    assert refusal_for(_SOMEONE, allow_agents=False) is None
    assert refusal_for(agent, allow_agents=False) is Refusal.AGENT
    assert refusal_for(agent, allow_agents=True) is None
    assert refusal_for(replace(agent, is_disabled=True), allow_agents=True) is Refusal.DISABLED
    external = replace(agent, identity_provider="entra")
    assert refusal_for(external, allow_agents=True) is Refusal.IDENTITY_PROVIDER


def test_the_mail_holds_the_link_alone_on_its_line_and_its_lifetime() -> None:
    link = "https://helpdesk.example/magic-link/TSRMCODE"

    mail = message(
        sender="helpdesk@example.test",
        recipient="una@example.test",
        helpdesk_name="Example Help",
        link=link,
        lifetime=timedelta(minutes=15),
    )

    assert mail["Subject"] == "Sign in to Example Help"
    assert mail["Auto-Submitted"] == "auto-generated"
    text = mail.get_content()
    assert f"\n{link}\n" in text
    assert "within 15 minutes" in text
