"""The OpenID Foundation's Basic OP conformance modules, mirrored one test each (#14 §1).

The official suite needs Docker and Maven; these tests play its part against a real server on
loopback. The relying party is Authlib's ``OAuth2Client`` (authorization URL, code exchange,
refresh) and joserfc checks every ID token against the published JWKS, as a relying party
does (Core §3.1.3.7); the person is the browser of flows.py, which signs in and presses the
consent page's buttons. Each test is named after the module it mirrors
(``oidcc-prompt-none-not-logged-in`` → ``test_oidcc_prompt_none_not_logged_in``).
"""

import secrets
import warnings
from collections.abc import Iterator
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import KeySet
from joserfc.jwt import JWTClaimsRegistry

from tessera.services.oauth_clients import IssuedOAuthClient
from tests.clock import ManualClock
from tests.oauth.flows import (
    AUTHORIZE,
    TOKEN,
    WEB_CALLBACK,
    Account,
    Browser,
    authlib_client,
    callback_query,
    hidden_fields,
    is_error_page,
    pkce_pair,
    received,
)
from tests.oauth.test_openid import ISSUER, JWKS, USERINFO, half_hash
from tests.secrets_seen import remember

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    from authlib.integrations.httpx_client import OAuth2Client
    from authlib.oidc.discovery import OpenIDProviderMetadata

SCOPE = "openid profile email"


class RelyingParty:
    """One app's side of a flow: Authlib's client, PKCE, and the checks on what comes back."""

    def __init__(
        self, server: str, api: httpx.Client, app: IssuedOAuthClient, clock: ManualClock
    ) -> None:
        self.server = server
        self.clock = clock
        self.api = api
        self.app = app
        self.client: OAuth2Client = authlib_client(app)
        self.verifier, _ = pkce_pair()
        self.state = ""

    def authorization_url(self, **params: str) -> str:
        params.setdefault("scope", SCOPE)
        url, self.state = self.client.create_authorization_url(
            self.server + AUTHORIZE, code_verifier=self.verifier, **params
        )
        assert isinstance(url, str)
        return url

    def callback(self, location: str) -> dict[str, str]:
        """The answer at the redirect URI: its state checked, its parameters."""
        params = callback_query(location, WEB_CALLBACK)
        assert params["state"] == self.state
        return params

    def exchange(self, location: str) -> dict[str, Any]:
        """The code of ``location`` for tokens, as the app's library does it."""
        token = dict(
            self.client.fetch_token(
                self.server + TOKEN,
                authorization_response=location,
                state=self.state,
                code_verifier=self.verifier,
            )
        )
        return remembered(token)

    def refresh(self, refresh_token: str) -> dict[str, Any]:
        token = self.client.refresh_token(self.server + TOKEN, refresh_token=refresh_token)
        return remembered(dict(token))

    def id_token_claims(self, token: dict[str, Any], nonce: str | None = None) -> dict[str, Any]:
        """The ID token's claims once a relying party has checked all of it (Core §3.1.3.7)."""
        keys = KeySet.import_key_set(self.api.get(JWKS).json())
        decoded = jwt.decode(token["id_token"], keys, algorithms=["RS256"])
        assert decoded.header["alg"] == "RS256"
        assert decoded.header["kid"] in {key["kid"] for key in self.api.get(JWKS).json()["keys"]}
        expected: dict[str, Any] = {
            "iss": {"essential": True, "value": ISSUER},
            "aud": {"essential": True, "value": self.app.client.client_id},
            "sub": {"essential": True},
            "exp": {"essential": True},
            "iat": {"essential": True},
            "auth_time": {"essential": True},
        }
        if nonce is not None:
            expected["nonce"] = {"essential": True, "value": nonce}
        # "Now" is the server's clock, which a test may have moved on.
        now = int(self.clock.now().timestamp())
        JWTClaimsRegistry(now=now, leeway=5, **expected).validate(decoded.claims)
        claims = dict(decoded.claims)
        assert claims["at_hash"] == half_hash(token["access_token"])
        return claims


def remembered(token: dict[str, Any]) -> dict[str, Any]:
    for name in ("access_token", "refresh_token", "id_token"):
        remember(str(token.get(name) or ""))
    return token


@pytest.fixture
def rp(
    server: str, api: httpx.Client, web_app: IssuedOAuthClient, clock: ManualClock
) -> Iterator[RelyingParty]:
    party = RelyingParty(server, api, web_app, clock)
    with party.client:
        yield party


def sign_in_when_asked(browser: Browser, answer: httpx.Response, account: Account) -> str:
    """The sign-in form the answer leads to, filled in; where the browser goes next."""
    assert answer.status_code == 303, answer.text
    login = answer.headers["location"]
    assert urlsplit(login).path == "/login"
    page = browser.http.get(login)
    assert page.status_code == 200
    assert 'name="password"' in page.text
    form = {**hidden_fields(page.text), "email": account.email, "password": account.password}
    signed_in = browser.http.post("/login", data=form)
    assert signed_in.status_code == 303, signed_in.text
    following = signed_in.headers["location"]
    assert isinstance(following, str)
    return following


def consent(browser: Browser, url: str) -> str:
    """Press Access on the consent page at ``url``; the Location back to the app."""
    return browser.approve(url)


def code_flow(rp: RelyingParty, browser: Browser, **params: str) -> dict[str, Any]:
    """Authorization with consent, then the exchange: the token answer."""
    return rp.exchange(consent(browser, rp.authorization_url(**params)))


# -- discovery and the basic flow --------------------------------------------------------------


def test_oidcc_server_discovery(api: httpx.Client) -> None:
    document = api.get("/.well-known/openid-configuration").json()
    # The test server's issuer is plain http, which Discovery forbids in production (and
    # Authlib's check with it): check the document as it is served behind https.
    served_securely = {
        name: value.replace(f"{ISSUER}/", f"https{ISSUER[4:]}/")
        if isinstance(value, str)
        else value
        for name, value in document.items()
    } | {"issuer": f"https{ISSUER[4:]}"}

    OpenIDProviderMetadata(served_securely).validate()  # Authlib's own check of Discovery §3
    assert document["issuer"] == ISSUER
    assert "RS256" in document["id_token_signing_alg_values_supported"]
    assert {"query", "fragment", "form_post"} <= set(document["response_modes_supported"])
    assert {"openid", "profile", "email", "offline_access"} <= set(document["scopes_supported"])
    assert document["end_session_endpoint"] == f"{ISSUER}/oauth/logout"


def test_oidcc_server(rp: RelyingParty, browser: Browser, account: Account) -> None:
    token = code_flow(rp, browser)

    claims = rp.id_token_claims(token)
    assert claims["sub"] == str(account.person.id)
    assert token["token_type"] == "Bearer"


def test_oidcc_idtoken_signature(rp: RelyingParty, browser: Browser, api: httpx.Client) -> None:
    token = code_flow(rp, browser)
    head, body, signature = token["id_token"].split(".")
    forged = f"{head}.{body}.{signature[:-4]}AAAA"

    rp.id_token_claims(token)
    with pytest.raises(Exception, match="signature"):
        jwt.decode(forged, KeySet.import_key_set(api.get(JWKS).json()), algorithms=["RS256"])


# -- userinfo and claims by scope ---------------------------------------------------------------


def test_oidcc_userinfo_get(
    rp: RelyingParty, browser: Browser, api: httpx.Client, account: Account
) -> None:
    token = code_flow(rp, browser)

    answer = api.get(USERINFO, headers={"Authorization": f"Bearer {token['access_token']}"})
    assert answer.status_code == 200
    assert answer.json()["sub"] == rp.id_token_claims(token)["sub"] == str(account.person.id)


def test_oidcc_userinfo_post_header(
    rp: RelyingParty, browser: Browser, api: httpx.Client, account: Account
) -> None:
    token = code_flow(rp, browser)

    answer = api.post(USERINFO, headers={"Authorization": f"Bearer {token['access_token']}"})
    assert answer.status_code == 200
    assert answer.json()["sub"] == str(account.person.id)


@pytest.mark.parametrize(
    ("scope", "claims"),
    [
        ("openid profile", {"name", "given_name", "family_name", "preferred_username"}),
        ("openid email", {"email", "email_verified"}),
        ("openid profile email", {"name", "email", "email_verified"}),
    ],
)
def test_oidcc_scope_profile_email_all(
    rp: RelyingParty, browser: Browser, api: httpx.Client, scope: str, claims: set[str]
) -> None:
    token = code_flow(rp, browser, scope=scope)

    answer = api.get(USERINFO, headers={"Authorization": f"Bearer {token['access_token']}"})
    assert claims <= set(answer.json())
    assert claims <= set(rp.id_token_claims(token))
    if "email" not in scope:
        assert "email" not in answer.json()


def test_oidcc_scope_address_and_phone_are_not_offered(
    rp: RelyingParty, browser: Browser, api: httpx.Client
) -> None:
    # The suite skips these modules for a provider that does not list the scopes.
    document = api.get("/.well-known/openid-configuration").json()
    token = code_flow(rp, browser, scope="openid address phone")

    assert not {"address", "phone"} & set(document["scopes_supported"])
    assert token["scope"] == "openid session"


def test_oidcc_ensure_request_with_nonce_succeeds(rp: RelyingParty, browser: Browser) -> None:
    nonce = secrets.token_urlsafe(16)

    token = code_flow(rp, browser, nonce=nonce)

    assert rp.id_token_claims(token, nonce=nonce)["nonce"] == nonce


# -- prompt, max_age, id_token_hint ---------------------------------------------------------------


def test_oidcc_prompt_none_not_logged_in(
    rp: RelyingParty, new_browser: Any, account: Account
) -> None:
    stranger = new_browser()

    answer = stranger.authorize(rp.authorization_url(prompt="none"))

    assert answer.status_code == 302
    assert rp.callback(answer.headers["location"])["error"] == "login_required"


def test_oidcc_prompt_none_logged_in(rp: RelyingParty, browser: Browser, account: Account) -> None:
    first = code_flow(rp, browser)

    answer = browser.authorize(rp.authorization_url(prompt="none"))

    assert answer.status_code == 302, answer.text  # no page: the person agreed before
    token = rp.exchange(answer.headers["location"])
    assert rp.id_token_claims(token)["sub"] == rp.id_token_claims(first)["sub"]


def test_oidcc_prompt_login(
    rp: RelyingParty, browser: Browser, account: Account, clock: ManualClock
) -> None:
    first = rp.id_token_claims(code_flow(rp, browser))
    clock.advance(timedelta(seconds=30))

    asked = browser.authorize(rp.authorization_url(prompt="login"))
    back = sign_in_when_asked(browser, asked, account)
    token = rp.exchange(consent(browser, back))

    again = rp.id_token_claims(token)
    assert again["auth_time"] >= first["auth_time"] + 30
    assert again["sub"] == first["sub"]


def test_oidcc_max_age_1(
    rp: RelyingParty, browser: Browser, account: Account, clock: ManualClock
) -> None:
    first = rp.id_token_claims(code_flow(rp, browser))
    clock.advance(timedelta(seconds=2))

    asked = browser.authorize(rp.authorization_url(max_age="1"))
    back = sign_in_when_asked(browser, asked, account)
    token = rp.exchange(consent(browser, back))

    again = rp.id_token_claims(token)
    assert again["auth_time"] >= first["auth_time"] + 2


def test_oidcc_max_age_10000(
    rp: RelyingParty, browser: Browser, account: Account, clock: ManualClock
) -> None:
    first = rp.id_token_claims(code_flow(rp, browser))
    clock.advance(timedelta(seconds=2))

    token = code_flow(rp, browser, max_age="10000")  # the consent page at once: no sign-in

    assert rp.id_token_claims(token)["auth_time"] == first["auth_time"]


def test_oidcc_id_token_hint(rp: RelyingParty, browser: Browser) -> None:
    first = code_flow(rp, browser)

    answer = browser.authorize(rp.authorization_url(prompt="none", id_token_hint=first["id_token"]))

    assert answer.status_code == 302, answer.text
    token = rp.exchange(answer.headers["location"])
    assert rp.id_token_claims(token)["sub"] == rp.id_token_claims(first)["sub"]


# -- codes, redirect URIs, refresh, PKCE ----------------------------------------------------------


def test_oidcc_codereuse(rp: RelyingParty, browser: Browser, api: httpx.Client) -> None:
    location = consent(browser, rp.authorization_url())
    token = rp.exchange(location)
    code = rp.callback(location)["code"]

    again = api.post(
        TOKEN,
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": WEB_CALLBACK,
            "code_verifier": rp.verifier,
        },
        auth=(rp.app.client.client_id, rp.app.secret or ""),
    )

    assert (again.status_code, again.json()["error"]) == (400, "invalid_grant")
    bearer = {"Authorization": f"Bearer {token['access_token']}"}
    assert api.get(USERINFO, headers=bearer).status_code == 401  # what it issued is revoked


def test_oidcc_ensure_registered_redirect_uri(rp: RelyingParty, browser: Browser) -> None:
    url = rp.authorization_url(redirect_uri="https://attacker.example.test/callback")

    answer = browser.authorize(url)

    assert is_error_page(answer)


def test_oidcc_refresh_token(rp: RelyingParty, browser: Browser) -> None:
    token = code_flow(rp, browser, scope=f"{SCOPE} offline_access")
    first = rp.id_token_claims(token)

    renewed = rp.refresh(token["refresh_token"])

    claims = rp.id_token_claims(renewed)
    assert (claims["sub"], claims["auth_time"]) == (first["sub"], first["auth_time"])
    assert renewed["refresh_token"] != token["refresh_token"]


def test_oidcc_pkce_wrong_verifier_is_refused(
    rp: RelyingParty, browser: Browser, api: httpx.Client
) -> None:
    code = rp.callback(consent(browser, rp.authorization_url()))["code"]
    wrong, _ = pkce_pair()

    answer = api.post(
        TOKEN,
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": WEB_CALLBACK,
            "code_verifier": wrong,
        },
        auth=(rp.app.client.client_id, rp.app.secret or ""),
    )

    assert (answer.status_code, received(answer)["error"]) == (400, "invalid_grant")


def test_oidcc_response_mode_form_post(rp: RelyingParty, browser: Browser) -> None:
    page = browser.decide(browser.consent_page(rp.authorization_url(response_mode="form_post")))

    assert page.status_code == 200
    assert f'action="{WEB_CALLBACK}"' in page.text
    fields = hidden_fields(page.text)
    assert fields["state"] == [rp.state]
    remember(fields["code"][0])
    token = rp.exchange(f"{WEB_CALLBACK}?code={fields['code'][0]}&state={rp.state}")
    rp.id_token_claims(token)
