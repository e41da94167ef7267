"""What the OAuth protocol tests share: a person's browser, PKCE pairs, the app's requests.

The browser is plain httpx with a cookie jar that never follows redirects: it signs in on the
login form and answers the consent form the way a person would, CSRF token included. The app's
side is either an independent client library (Authlib, requests-oauthlib) or raw httpx, for the
requests no well-behaved library would send. Every code, token and secret seen is remembered, so
the suite-wide log check can prove none of them reaches a log line.
"""

import base64
import hashlib
import secrets
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qsl, urlencode

import httpx

from tessera.core.people import Person
from tessera.services.container import Services
from tessera.services.oauth_clients import IssuedOAuthClient
from tessera.web.cookies import bound_csrf_token
from tests.factories import make_person, new_password
from tests.secrets_seen import remember

with warnings.catch_warnings():
    # Authlib 1.9 would rather have the httpx2 package; plain httpx is what this project uses.
    warnings.simplefilter("ignore", DeprecationWarning)
    from authlib.integrations.httpx_client import OAuth2Client

AUTHORIZE = "/oauth/authorize"
TOKEN = "/oauth/token"
REVOKE = "/oauth/revoke"
INTROSPECT = "/oauth/introspect"
ME = "/api/v2/me"
SESSION_COOKIE = "tessera_session"


def csrf_token_of(cookies: httpx.Cookies) -> str:
    """The CSRF token this browser's pages carry (bound to its session, ``web.cookies``)."""
    return bound_csrf_token(cookies["tessera_csrf"], cookies.get(SESSION_COOKIE))


WEB_CALLBACK = "https://app.example.test/callback"
APP_CALLBACK = "com.example.app:/callback"
#: Registered with one port; RFC 8252 §7.3 lets the app listen on any other.
LOOPBACK_CALLBACK = "http://127.0.0.1:8080/cb"
#: A state with characters that must survive encoding and decoding unchanged.
ODD_STATE = "a b+c/d=e&f?g#h%20i~j;k'l\"m<n>é✓"


@dataclass(frozen=True, slots=True)
class Account:
    """A person who signs in with a password."""

    person: Person
    password: str

    @property
    def email(self) -> str:
        return self.person.primary_email


def make_account(services: Services, *, agent: bool = True) -> Account:
    password = new_password()
    return Account(make_person(services, agent=agent, password=password), password)


def pkce_pair() -> tuple[str, str]:
    """A code verifier (RFC 7636 §4.1) and its S256 challenge."""
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    remember(verifier)
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


class _HiddenFields(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.fields: dict[str, list[str]] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        name = values.get("name")
        if tag == "input" and values.get("type") == "hidden" and name:
            self.fields.setdefault(name, []).append(values.get("value") or "")


def hidden_fields(html: str) -> dict[str, list[str]]:
    """The hidden inputs of a page's form, unescaped, as a browser would submit them."""
    parser = _HiddenFields()
    parser.feed(html)
    return parser.fields


class Browser:
    """A person's browser: keeps its cookies, shows each redirect instead of following it."""

    def __init__(self, server: str) -> None:
        self.http = httpx.Client(base_url=server, timeout=60, follow_redirects=False)

    def close(self) -> None:
        self.http.close()

    def sign_in(self, account: Account) -> httpx.Response:
        page = self.http.get("/login")
        assert page.status_code == 200, page.text
        form = {**hidden_fields(page.text), "email": account.email, "password": account.password}
        answer = self.http.post("/login", data=form)
        remember(self.http.cookies.get(SESSION_COOKIE) or "")
        return answer

    def authorize(self, request: Mapping[str, str] | str) -> httpx.Response:
        """GET the authorization endpoint: with parameters, or a URL a client library built."""
        if isinstance(request, str):
            return self.http.get(request)
        return self.http.get(AUTHORIZE, params=dict(request))

    def consent_page(self, request: Mapping[str, str] | str) -> httpx.Response:
        page = self.authorize(request)
        assert page.status_code == 200, page.text
        assert "Grant access to" in page.text, page.text
        return page

    def decide(self, page: httpx.Response, decision: str = "accept") -> httpx.Response:
        """Press a button of the consent form ("accept" is Access, "deny" is Deny)."""
        return self.http.post(AUTHORIZE, data={**hidden_fields(page.text), "decision": decision})

    def approve(self, request: Mapping[str, str] | str) -> str:
        """Consent; the Location the app is sent back to."""
        answer = self.decide(self.consent_page(request))
        assert answer.status_code == 302, answer.text
        location = answer.headers["location"]
        assert isinstance(location, str)
        return location


def signed_in(browser: Browser, account: Account) -> Browser:
    answer = browser.sign_in(account)
    assert answer.status_code == 303, answer.text
    return browser


def _params_after(location: str, redirect_uri: str, separator: str) -> dict[str, str]:
    base, found, rest = location.partition(separator)
    assert (base, found) == (redirect_uri, separator), location
    pairs = parse_qsl(rest, keep_blank_values=True, strict_parsing=True)
    names = [name for name, _ in pairs]
    assert len(names) == len(set(names)), location
    params = dict(pairs)
    remember(params.get("code", ""), params.get("access_token", ""))
    return params


def callback_query(location: str, redirect_uri: str) -> dict[str, str]:
    """The query of a redirect back to the app at exactly ``redirect_uri``."""
    return _params_after(location, redirect_uri, "?")


def callback_fragment(location: str, redirect_uri: str) -> dict[str, str]:
    """The fragment of a redirect back to the app (implicit grant)."""
    return _params_after(location, redirect_uri, "#")


def is_error_page(response: httpx.Response, status: int = 400) -> bool:
    """Our HTML error page: never a redirect, so nothing reaches an unverified URI."""
    return (
        response.status_code == status
        and "location" not in response.headers
        and response.headers["content-type"].startswith("text/html")
        and "Cannot continue" in response.text
    )


def code_request(
    issued: IssuedOAuthClient,
    *,
    redirect_uri: str | None = WEB_CALLBACK,
    state: str = "xyz",
    challenge: str | None = None,
    **extra: str,
) -> dict[str, str]:
    params = {"response_type": "code", "client_id": issued.client.client_id, "state": state}
    if redirect_uri is not None:
        params["redirect_uri"] = redirect_uri
    if challenge is not None:
        params |= {"code_challenge": challenge, "code_challenge_method": "S256"}
    return params | extra


def issue_code(
    browser: Browser,
    issued: IssuedOAuthClient,
    *,
    redirect_uri: str = WEB_CALLBACK,
    challenge: str | None = None,
) -> str:
    location = browser.approve(code_request(issued, redirect_uri=redirect_uri, challenge=challenge))
    return callback_query(location, redirect_uri)["code"]


def received(response: httpx.Response) -> dict[str, Any]:
    """A token endpoint's JSON; the tokens in it are remembered as secrets."""
    body = response.json()
    assert isinstance(body, dict)
    for name in ("access_token", "refresh_token"):
        value = body.get(name)
        if isinstance(value, str):
            remember(value)
    return body


def post_as(
    api: httpx.Client, issued: IssuedOAuthClient, path: str, data: Mapping[str, str]
) -> httpx.Response:
    """POST as this client: Basic authentication with its secret, or its client_id if public."""
    if issued.secret is None:
        return api.post(path, data={**data, "client_id": issued.client.client_id})
    return api.post(path, data=dict(data), auth=(issued.client.client_id, issued.secret))


def exchange(
    api: httpx.Client,
    issued: IssuedOAuthClient,
    code: str,
    *,
    redirect_uri: str = WEB_CALLBACK,
    verifier: str | None = None,
) -> httpx.Response:
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri}
    if verifier is not None:
        data["code_verifier"] = verifier
    response = post_as(api, issued, TOKEN, data)
    received(response)
    return response


def refresh(api: httpx.Client, issued: IssuedOAuthClient, refresh_token: str) -> httpx.Response:
    data = {"grant_type": "refresh_token", "refresh_token": refresh_token}
    response = post_as(api, issued, TOKEN, data)
    received(response)
    return response


@dataclass(frozen=True, slots=True)
class Tokens:
    access: str
    refresh: str


def tokens_of(response: httpx.Response) -> Tokens:
    assert response.status_code == 200, response.text
    body = received(response)
    return Tokens(body["access_token"], body["refresh_token"])


def issue_tokens(
    browser: Browser,
    api: httpx.Client,
    issued: IssuedOAuthClient,
    *,
    redirect_uri: str = WEB_CALLBACK,
) -> Tokens:
    """The whole code flow with PKCE over raw HTTP: what most tests start from."""
    verifier, challenge = pkce_pair()
    code = issue_code(browser, issued, redirect_uri=redirect_uri, challenge=challenge)
    return tokens_of(exchange(api, issued, code, redirect_uri=redirect_uri, verifier=verifier))


def me(api: httpx.Client, access_token: str, scheme: str = "Bearer") -> httpx.Response:
    return api.get(ME, headers={"Authorization": f"{scheme} {access_token}"})


def authlib_client(
    issued: IssuedOAuthClient,
    *,
    redirect_uri: str = WEB_CALLBACK,
    auth_method: str = "client_secret_basic",
) -> OAuth2Client:
    """The app's side in Authlib's client: PKCE S256, the given token endpoint auth method."""
    return OAuth2Client(
        client_id=issued.client.client_id,
        client_secret=issued.secret,
        token_endpoint_auth_method=auth_method,
        redirect_uri=redirect_uri,
        code_challenge_method="S256",
        timeout=60,
    )


# -- RFC 8707: resources named on the requests ---------------------------------------------


def authorization_url(issued: IssuedOAuthClient, challenge: str, *resources: str) -> str:
    """An authorization request naming each resource once (RFC 8707 repeats the parameter)."""
    params = list(code_request(issued, challenge=challenge).items())
    params += [("resource", resource) for resource in resources]
    return f"{AUTHORIZE}?{urlencode(params)}"


def code_for(browser: Browser, issued: IssuedOAuthClient, *resources: str) -> tuple[str, str]:
    verifier, challenge = pkce_pair()
    location = browser.approve(authorization_url(issued, challenge, *resources))
    return callback_query(location, WEB_CALLBACK)["code"], verifier


def token_request(
    api: httpx.Client, issued: IssuedOAuthClient, code: str, verifier: str, *resources: str
) -> httpx.Response:
    form = [
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", WEB_CALLBACK),
        ("code_verifier", verifier),
        *(("resource", resource) for resource in resources),
    ]
    assert issued.secret is not None
    answer = api.post(
        TOKEN,
        content=urlencode(form),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        auth=(issued.client.client_id, issued.secret),
    )
    received(answer)
    return answer


def granted(
    browser: Browser, api: httpx.Client, app: IssuedOAuthClient, scope: str | None
) -> dict[str, Any]:
    """The code flow with PKCE asking for ``scope`` (None: no scope); the token answer."""
    verifier, challenge = pkce_pair()
    extra = {} if scope is None else {"scope": scope}
    location = browser.approve(code_request(app, challenge=challenge, **extra))
    answer = exchange(api, app, callback_query(location, WEB_CALLBACK)["code"], verifier=verifier)
    assert answer.status_code == 200, answer.text
    return received(answer)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
