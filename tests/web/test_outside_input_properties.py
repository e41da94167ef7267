"""Every parser of outside input, over arbitrary input (issue #16 §1, hypothesis).

Each either answers or refuses in its documented way, never with any other exception: that is
what keeps a request from becoming a 500. The last test sends arbitrary header values to a
real server and asserts it never answers 5xx.
"""

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from authlib.oauth2.rfc6749.errors import InvalidClientError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tessera.core.errors import FieldErrors, TesseraError
from tessera.core.oauth_clients import parse_client_id, redirect_uri_problem
from tessera.core.oauth_scopes import scope_to_grant, scope_to_refresh
from tessera.core.proxies import TrustedProxies
from tessera.oauth.client_auth import refuse_undecodable_basic
from tessera.web.api.audit import _moment
from tessera.web.authz import Door, OriginalRequest, original_request
from tessera.web.cors import origin_to_answer
from tessera.web.forwarded import believe_forwarded
from tessera.web.untyped_bodies import declared_type

#: A header value as HTTP allows one (RFC 9110 §5.5: visible characters, obs-text, space and
#: tab); a client library will not send anything else.
_FIELD_BYTES = [9, 32, *range(33, 127), *range(128, 256)]
header_values = st.lists(st.sampled_from(_FIELD_BYTES), max_size=300).map(bytes)
texts = st.text(max_size=300)


def _scope(headers: list[tuple[bytes, bytes]], path: str = "/authz/forward-auth") -> dict[str, Any]:
    return {
        "type": "http",
        "method": "GET",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "headers": headers,
        "client": ("127.0.0.1", 5000),
        "scheme": "http",
    }


@given(texts)
def test_an_audit_date_is_a_moment_or_invalid_input(value: str) -> None:
    problems = FieldErrors()

    moment = _moment(problems, "since", value)

    assert (moment is None) == bool(problems) or value == ""
    if moment is not None:
        assert moment.utcoffset() is not None


class _Request:
    def __init__(self, authorization: bytes) -> None:
        self.headers = {"Authorization": authorization.decode("latin-1")}


@given(st.binary(max_size=200))
def test_basic_client_credentials_are_read_or_refused_as_invalid_client(payload: bytes) -> None:
    import base64

    for value in (b"Basic " + base64.b64encode(payload), b"Basic " + payload):
        try:
            refuse_undecodable_basic(_Request(value))
        except InvalidClientError as refused:
            status = refused.status_code
        else:
            status = None
        assert status in (None, 401)


@given(
    st.sampled_from(list(Door)),
    st.lists(
        st.tuples(
            st.sampled_from(
                [
                    b"x-forwarded-method",
                    b"x-forwarded-uri",
                    b"x-original-method",
                    b"x-original-url",
                    b"x-original-uri",
                    b"x-forwarded-for",
                    b"x-forwarded-proto",
                ]
            ),
            header_values,
        ),
        max_size=6,
    ),
    st.text(alphabet=st.characters(min_codepoint=33, max_codepoint=126), max_size=60),
)
def test_a_door_reads_the_original_request_or_refuses(
    door: Door, headers: list[tuple[bytes, bytes]], tail: str
) -> None:
    path = {"forward-auth": "/authz/forward-auth", "auth-request": "/authz/auth-request"}.get(
        door.value, "/authz/ext-authz/" + tail
    )
    scope = _scope(headers, path)
    believe_forwarded(scope, TrustedProxies.parse("127.0.0.1"))

    try:
        original = original_request(door, scope)
    except TesseraError:
        return
    assert isinstance(original, OriginalRequest)
    assert isinstance(scope["client"][0], str)


@given(st.one_of(st.none(), texts), st.sampled_from(["/api/v2/me", "/oauth/token", "/login"]))
def test_an_origin_is_answered_or_ignored(origin: str | None, path: str) -> None:
    answered = origin_to_answer(_scope([], path), origin)

    assert answered is None or answered == origin


@given(st.binary(max_size=500))
def test_an_untyped_body_gets_a_type_or_none(body: bytes) -> None:
    found = declared_type(body)

    assert found is None or found[0] == b"content-type"


@given(texts)
def test_client_ids_redirect_uris_and_scopes_are_read_or_refused(value: str) -> None:
    parsed = parse_client_id(value)
    assert parsed is None or (isinstance(parsed[0], int) and isinstance(parsed[1], str))
    redirect_uri_problem(value)
    redirect_uri_problem(value, allow_insecure_http=True)
    assert isinstance(scope_to_grant(value), str)
    scope_to_refresh(value, "session")


@pytest.fixture(scope="module")
def live(server: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server, timeout=30) as client:
        yield client


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    st.sampled_from(
        [
            "Authorization",
            "X-DeskPRO-Agent-ID",
            "X-DeskPRO-API-Key",
            "X-DeskPRO-API-Token",
            "Cookie",
            "Origin",
            "X-DeskPRO-Client-Request-ID",
            "Content-Type",
        ]
    ),
    header_values.map(lambda v: v.strip(b" \t")),
    st.sampled_from(
        [
            ("GET", "/api/v2/me"),
            ("GET", "/authz/forward-auth"),
            ("GET", "/authz/auth-request"),
            ("POST", "/oauth/token"),
            ("POST", "/oauth/introspect"),
            ("POST", "/api/v2/api_tokens"),
            ("GET", "/console"),
        ]
    ),
)
def test_no_header_value_makes_the_server_fail(
    live: httpx.Client, name: str, value: bytes, route: tuple[str, str]
) -> None:
    method, path = route
    answer = live.request(method, path, headers=[(name.encode(), value)], content=b"")

    assert answer.status_code < 500, (name, value, answer.text[:300])
