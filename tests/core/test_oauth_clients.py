"""The client_id format and the redirect URIs that may be registered (RFC 6749, 8252, 9700)."""

from datetime import UTC, datetime

import pytest

from tessera.core.errors import FieldErrors
from tessera.core.oauth_clients import (
    ClientContext,
    GrantType,
    OAuthClient,
    authorization_endpoint,
    check_redirect_uris,
    is_insecure_redirect_uri,
    new_random_id,
    parse_client_id,
    redirect_uri_problem,
    token_endpoint,
)
from tessera.core.site import SiteInfo


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("12_abc", (12, "abc")),
        ("1_A", (1, "A")),
        ("9223372036854775807_z9", (2**63 - 1, "z9")),
        ("7_" + "a" * 64, (7, "a" * 64)),
        ("3_abc_def", None),  # the random part has no underscore
        ("9223372036854775808_abc", None),  # beyond 64 bits
        ("99999999999999999999_abc", None),
        ("0_abc", None),
        ("012_abc", None),  # one client, one client_id string: no leading zeros
        ("-1_abc", None),
        ("+1_abc", None),
        ("12_", None),
        ("_abc", None),
        ("12abc", None),
        ("12", None),
        ("", None),
        ("12_abc\n", None),
        (" 12_abc", None),
        ("12_ab c", None),
        ("12_ab-c", None),
        ("12_" + "a" * 65, None),
        ("١٢_abc", None),  # Arabic-Indic digits are digits to str.isdigit, not to us
        ("12_abç", None),
    ],
)
def test_parse_client_id(value: str, expected: tuple[int, str] | None) -> None:
    assert parse_client_id(value) == expected


def test_a_client_id_is_id_underscore_random_id_and_parses_back() -> None:
    moment = datetime(2026, 1, 1, tzinfo=UTC)
    random_id = new_random_id()
    client = OAuthClient(
        id=42,
        random_id=random_id,
        name="App",
        context=ClientContext.AGENT,
        redirect_uris=("https://app.example/cb",),
        allowed_grant_type=GrantType.AUTHORIZATION_CODE,
        is_enabled=True,
        is_public=False,
        has_secret=True,
        created_at=moment,
        updated_at=moment,
    )

    assert client.client_id == f"42_{random_id}"
    assert parse_client_id(client.client_id) == (42, random_id)
    assert len(random_id) == 32
    assert new_random_id() != random_id


def test_endpoints_are_absolute_under_the_public_url() -> None:
    site = SiteInfo(public_url="https://help.example.com/desk", version="1")

    assert authorization_endpoint(site) == "https://help.example.com/desk/oauth/authorize"
    assert token_endpoint(site) == "https://help.example.com/desk/oauth/token"


ACCEPTED = [
    "https://app.example.com/oauth/callback",
    "https://app.example.com",
    "https://app.example.com:8443/cb?tenant=1",
    "HTTPS://App.Example.com/cb",
    "https://192.0.2.10/cb",
    "https://[2001:db8::1]:443/cb",
    "https://localhost/cb",  # https is fine anywhere
    "https://app.example.com/a%20b",
    "http://127.0.0.1/callback",
    "http://127.0.0.1:53682/callback",
    "http://127.0.0.1",
    "http://[::1]/callback",
    "http://[::1]:8080/",
    # localhost is loopback too (decision 17): command-line and MCP clients register it.
    "http://localhost/cb",
    "http://localhost:8080/cb",
    "http://localhost:6274/oauth/callback",
    "http://LOCALHOST/cb",
    # Reverse-domain app schemes (RFC 8252 §7.1) and short ones, as Deskpro's apps use.
    "com.example.app:/oauth2redirect/example-provider",
    "com.example.app:/callback",
    "com.example.app://callback",
    "Com.Example.App:/callback",
    "io.github.some-one.app+dev:/cb",
    "myapp://callback",
    "myapp:/callback",
    "deskpro-agent://oauth",
    "x-my-app+dev://cb?tenant=1",
]


@pytest.mark.parametrize("uri", ACCEPTED)
def test_accepted_redirect_uris(uri: str) -> None:
    assert redirect_uri_problem(uri) is None


@pytest.mark.parametrize(
    ("uri", "code"),
    [
        # Not an absolute URI.
        ("", "invalid_url"),
        ("not a url", "invalid_url"),
        ("/relative/callback", "invalid_url"),
        ("app.example.com/cb", "invalid_url"),
        ("//app.example.com/cb", "invalid_url"),
        ("https:app.example.com/cb", "invalid_url"),
        ("https:///cb", "invalid_url"),
        ("https://", "invalid_url"),
        ("https://exa mple.com/cb", "invalid_url"),
        (" https://app.example.com/cb", "invalid_url"),
        ("https://app.example.com/cb\n", "invalid_url"),
        ("https://app.example.com/caf\u00e9", "invalid_url"),
        ("https://app.example.com/%zz", "invalid_url"),
        ("https://app.example.com\\@evil.example/cb", "invalid_url"),
        ("https://app.example.com:0/cb", "invalid_url"),
        ("https://app.example.com:65536/cb", "invalid_url"),
        ("https://app.example.com:/cb", "invalid_url"),
        ("https://app.example.com:http/cb", "invalid_url"),
        ("https://app_1.example.com/cb", "invalid_url"),
        ("https://-app.example.com/cb", "invalid_url"),
        ("https://[::1/cb", "invalid_url"),
        ("https://[fe80::1%25eth0]/cb", "invalid_url"),
        ("https://[nonsense]/cb", "invalid_url"),
        ("com.example.app:", "invalid_url"),
        # Fragments (RFC 6749 §3.1.2).
        ("https://app.example.com/cb#", "invalid_url"),
        ("https://app.example.com/cb#frag", "invalid_url"),
        ("http://127.0.0.1/cb#x", "invalid_url"),
        ("com.example.app:/cb#x", "invalid_url"),
        # User information: what looks like the host is not.
        ("https://app.example.com@evil.example/cb", "invalid_url"),
        ("https://user:pw@app.example.com/cb", "invalid_url"),
        ("http://127.0.0.1@evil.example/cb", "invalid_url"),
        ("com.example.app://user@callback", "invalid_url"),
        # Schemes the browser runs or reads.
        ("javascript:alert(1)", "invalid_url"),
        ("JavaScript://app.example.com/%0Aalert(1)", "invalid_url"),
        ("vbscript:msgbox(1)", "invalid_url"),
        ("data:text/html,%3Cscript%3Ealert(1)%3C/script%3E", "invalid_url"),
        ("file:///etc/passwd", "invalid_url"),
        ("blob:https://app.example.com/uuid", "invalid_url"),
        ("about:blank", "invalid_url"),
        # Plain http off the loopback interface (RFC 8252 §7.3): names only as written.
        ("http://app.example.com/cb", "insecure_redirect_uri"),
        ("http://localhost.evil.example/cb", "insecure_redirect_uri"),
        ("http://localhost./cb", "insecure_redirect_uri"),
        ("http://app.localhost/cb", "insecure_redirect_uri"),
        ("http://127.0.0.2/cb", "insecure_redirect_uri"),
        ("http://127.1/cb", "insecure_redirect_uri"),
        ("http://[0:0:0:0:0:0:0:1]/cb", "insecure_redirect_uri"),
        ("http://[::ffff:127.0.0.1]/cb", "insecure_redirect_uri"),
        ("http://127.0.0.1.evil.example/cb", "insecure_redirect_uri"),
        ("http://192.168.1.10/cb", "insecure_redirect_uri"),
        # A scheme with dots is a reverse domain name (RFC 8252 §7.1); web protocols the
        # browser speaks itself are no app's scheme.
        ("com..example:/cb", "invalid_scheme"),
        ("com.example.:/cb", "invalid_scheme"),
        ("ws://127.0.0.1/cb", "invalid_scheme"),
        ("wss://app.example.com/cb", "invalid_scheme"),
        ("ftp://app.example.com/cb", "invalid_scheme"),
        ("c:/Users/app/cb", "invalid_url"),  # a Windows path, not a scheme
        # Wildcards: every URI is compared exactly, so none may look like a pattern.
        ("https://*.example.com/cb", "wildcard_redirect_uri"),
        ("https://app.example.com/*", "wildcard_redirect_uri"),
        ("http://127.0.0.1:*/cb", "wildcard_redirect_uri"),
        ("myapp://*", "wildcard_redirect_uri"),
        # Length.
        ("https://app.example.com/" + "a" * 1977, "too_long"),
    ],
)
def test_refused_redirect_uris(uri: str, code: str) -> None:
    problem = redirect_uri_problem(uri)

    assert problem is not None
    assert problem.code == code


def test_the_length_limit_is_2000_characters() -> None:
    base = "https://app.example.com/"

    assert redirect_uri_problem(base + "a" * (2000 - len(base))) is None
    assert redirect_uri_problem(base + "a" * (2001 - len(base))) is not None


def test_refusals_use_the_deskpro_and_tessera_wording() -> None:
    invalid = redirect_uri_problem("not a url")
    insecure = redirect_uri_problem("http://app.example.com/cb")

    assert invalid is not None
    assert (invalid.code, invalid.message) == ("invalid_url", "This value is not a valid URL.")
    assert insecure is not None
    assert insecure.message == (
        "A redirect URI must use https, or http on a loopback address (127.0.0.1, [::1] or "
        "localhost); this server does not allow plain http to other hosts."
    )


@pytest.mark.parametrize(
    "uri",
    ["http://app.example.com/cb", "http://192.168.1.10:8080/cb", "http://intranet/cb?x=1"],
)
def test_the_operators_switch_lets_plain_http_reach_other_hosts(uri: str) -> None:
    problem = redirect_uri_problem(uri)

    assert problem is not None
    assert problem.code == "insecure_redirect_uri"
    assert redirect_uri_problem(uri, allow_insecure_http=True) is None
    assert is_insecure_redirect_uri(uri)


@pytest.mark.parametrize(
    "uri",
    [
        "javascript:alert(1)",
        "http://user@app.example.com/cb",
        "http://app.example.com/cb#x",
        "http://*.example.com/cb",
        "ftp://app.example.com/cb",
    ],
)
def test_the_switch_allows_nothing_else(uri: str) -> None:
    assert redirect_uri_problem(uri, allow_insecure_http=True) is not None


@pytest.mark.parametrize(
    ("uri", "insecure"),
    [
        ("http://app.example.com/cb", True),
        ("HTTP://app.example.com/cb", True),
        ("http://127.0.0.1:8080/cb", False),
        ("http://[::1]/cb", False),
        ("http://localhost:6274/cb", False),
        ("https://app.example.com/cb", False),
        ("myapp://callback", False),
    ],
)
def test_which_uris_need_the_switch(uri: str, insecure: bool) -> None:
    assert is_insecure_redirect_uri(uri) is insecure


def test_a_list_of_uris_reports_each_problem_at_its_index() -> None:
    problems = FieldErrors()

    checked = check_redirect_uris(
        problems,
        ["https://a.example/cb", "http://a.example/cb", "https://a.example/cb", "x"],
    )

    assert checked is None
    fields = problems.as_json()["fields"]["redirect_uris"]["fields"]
    assert set(fields) == {"redirect_uris_1", "redirect_uris_2", "redirect_uris_3"}
    assert fields["redirect_uris_1"]["errors"][0]["code"] == "insecure_redirect_uri"
    assert fields["redirect_uris_2"]["errors"][0] == {
        "code": "duplicate",
        "message": "This value is already used.",
    }
    assert fields["redirect_uris_3"]["errors"][0]["code"] == "invalid_url"


@pytest.mark.parametrize(
    ("count", "code", "message"),
    [
        (0, "too_few_elements", "This collection should contain 1 elements or more."),
        (21, "too_many_elements", "This collection should contain 20 elements or less."),
    ],
)
def test_a_list_holds_1_to_20_uris(count: int, code: str, message: str) -> None:
    problems = FieldErrors()
    uris = [f"https://app.example/cb{i}" for i in range(count)]

    assert check_redirect_uris(problems, uris) is None
    assert problems.as_json() == {
        "fields": {"redirect_uris": {"errors": [{"code": code, "message": message}]}}
    }


def test_twenty_distinct_uris_are_fine_and_kept_in_order() -> None:
    problems = FieldErrors()
    uris = [f"https://app.example/cb{i}" for i in range(20)]

    assert check_redirect_uris(problems, uris) == uris
    assert not problems


def test_one_string_is_one_uri_not_a_list_of_characters() -> None:
    problems = FieldErrors()

    assert check_redirect_uris(problems, "https://app.example/cb") == ["https://app.example/cb"]
