"""The consent page's words for each scope, made from the tags a pattern matches (ADR 0042)."""

import pytest

from tessera.core.oauth_scopes import OWN_TAGS, ScopeCatalogue
from tessera.core.scope_words import EVERYTHING_WORDS, describe_scope

CATALOGUE = ScopeCatalogue(
    [
        *OWN_TAGS,
        "tickets.tickets.list",
        "tickets.tickets.get",
        "tickets.tickets.post",
        "tickets.tickets.put",
        "tickets.tickets.delete",
        "tickets.ticket_messages.list",
        "reports",
    ]
)


@pytest.mark.parametrize(
    ("scope", "words"),
    [
        ("session", [EVERYTHING_WORDS]),
        ("tickets.tickets.*", ["Read, change and delete tickets"]),
        ("tickets.*.list", ["Read tickets ticket messages and tickets"]),
        (
            "tickets.* -*.delete",
            [
                "Read tickets ticket messages; read, change and delete tickets",
                "Except deleting anything",
            ],
        ),
        ("session -tickets.*.delete", [EVERYTHING_WORDS, "Except: delete tickets"]),
        ("people.people.list", ["Read people"]),
        ("me.device_setup_token.get", ["Create set-up codes that give a device all your rights"]),
        ("reports", ["Use reports"]),
        ("unknown.*", ["Call the endpoints tagged unknown.*"]),
        (
            "openid email",
            ["Know who you are: your account's number on this helpdesk", "See your e-mail address"],
        ),
    ],
)
def test_each_scope_value_gets_its_words(scope: str, words: list[str]) -> None:
    lines = describe_scope(scope, CATALOGUE)

    assert [line.value for line in lines] == scope.split()
    assert [line.words for line in lines] == words


def test_a_deny_speaks_only_of_what_the_allow_patterns_let_through() -> None:
    lines = describe_scope("people.* -tickets.*", CATALOGUE)

    assert lines[1].words == "Except the endpoints tagged tickets.*"
