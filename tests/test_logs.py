"""Secrets never reach a log line (the whole-suite check lives in conftest.py)."""

import logging

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tessera.logs import _SECRETS, RedactingFilter, redact


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (
            '"GET /api/v2/api_tokens/device_setup/3WQ7ZR HTTP/1.1" 201',
            '"GET /api/v2/api_tokens/device_setup/[redacted] HTTP/1.1" 201',
        ),
        (
            "GET /api/v2/me?API-KEY=12:ABCDEFGHJKMNPQRS HTTP/1.1",
            "GET /api/v2/me?API-KEY=[redacted] HTTP/1.1",
        ),
        ("token 12:2345678923456789ABCDGHJK used", "token 12:[redacted] used"),
        (
            '"GET /setup/BBXDN7WB5KJ8PW4QJWASPQ4HRRQQJK9Q HTTP/1.1" 200',
            '"GET /setup/[redacted] HTTP/1.1" 200',
        ),
        ("nothing secret here 12:34", "nothing secret here 12:34"),
        (
            '"GET /device?user_code=BCDF-GHJK HTTP/1.1" 200',
            '"GET /device?user_code=[redacted] HTTP/1.1" 200',
        ),
        (
            '"GET /login?next=%2Fdevice%3Fuser_code%3DBCDF-GHJK HTTP/1.1" 200',
            '"GET /login?next=%2Fdevice%3Fuser_code%3D[redacted] HTTP/1.1" 200',
        ),
        (
            '"GET /oauth/authorize?prompt=none&id_token_hint=eyJ0.eyJp.c2ln&state=x HTTP/1.1" 302',
            '"GET /oauth/authorize?prompt=none&id_token_hint=[redacted]&state=x HTTP/1.1" 302',
        ),
        (
            '"GET /login?next=%2Foauth%2Fauthorize%3Fid_token_hint%3DeyJ0.eyJp.c2ln HTTP/1.1" 200',
            '"GET /login?next=%2Foauth%2Fauthorize%3Fid_token_hint%3D[redacted] HTTP/1.1" 200',
        ),
        (
            '"GET /login/sources/3/callback?code=Hw0J7Wvoekm_rlab&state=imc&iss=x HTTP/1.1" 303',
            '"GET /login/sources/3/callback?code=[redacted]&state=imc&iss=x HTTP/1.1" 303',
        ),
        (
            '"GET /api/v2/api_tokens/user_sources/3/callback/ios?state=a&code=Hw0J7Wvo HTTP/1.1"',
            '"GET /api/v2/api_tokens/user_sources/3/callback/ios?state=a&code=[redacted] HTTP/1.1"',
        ),
        (
            "refresh_token=TSRR5HDGC6G742XNCAM36HJJZB7NKJ43J46CKY86CR8WMX6YBZB489R6A4B&x=1",
            "refresh_token=TSRR[redacted]&x=1",
        ),
        ("secret TSRS7AA9Z4SCS4WJQ8YJ332GKJ75K3WP98R6CA6HH5XXAZXA96M", "secret TSRS[redacted]"),
        ("key 12:TSRKKCX8YHBNX5JCPRCTY24KZ78TQ9D4SSGJ", "key 12:[redacted]"),
        (
            '"POST /magic-link/TSRMQSG2XCC2C45BB57KMP474SR9KJTXQTA875S9SAB86DMBNWT HTTP/1.1" 303',
            '"POST /magic-link/[redacted] HTTP/1.1" 303',
        ),
        # A mangled code in the path is masked too: only the path says what it is.
        (
            '"GET /magic-link/tsrm-not-a-code HTTP/1.1" 404',
            '"GET /magic-link/[redacted] HTTP/1.1" 404',
        ),
        (
            "link https://helpdesk.test/x?c=TSRM2345678923456789ABCDGH",
            "link https://helpdesk.test/x?c=TSRM[redacted]",
        ),
    ],
)
def test_redaction(line: str, expected: str) -> None:
    assert redact(line) == expected


def test_the_filter_rewrites_records_with_arguments() -> None:
    record = logging.LogRecord(
        "uvicorn.access", logging.INFO, __file__, 1, "%s %s", ("GET", "/x?api-token=9:ZZZ"), None
    )

    RedactingFilter().filter(record)

    assert record.getMessage() == "GET /x?api-token=[redacted]"


def _redact_without_the_first_look(text: str) -> str:
    for pattern, replacement in _SECRETS:
        text = pattern.sub(replacement, text)
    return text


_PIECES = st.sampled_from(
    [
        "GET ",
        "/api/v2/me",
        " HTTP/1.1",
        "127.0.0.1:5000",
        "12:",
        "2345678923456789ABCD",
        "TSRR",
        "TSRT",
        "device_setup/",
        "/setup/",
        "/magic-link/",
        "TSRM",
        "ABC",
        "?api-key=",
        "API-TOKEN=",
        "id_token_hint=",
        "ID_TOKEN_HINT%3D",
        "eyJ0.x",
        "&",
        " ",
        '"',
    ]
)


@given(st.lists(_PIECES | st.text(max_size=8), max_size=12).map("".join))
def test_the_first_look_never_lets_a_secret_through(text: str) -> None:
    # A line the quick search passes over is one no substitution would have changed.
    assert redact(text) == _redact_without_the_first_look(text)
