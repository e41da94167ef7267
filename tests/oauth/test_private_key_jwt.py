"""private_key_jwt at the token, revocation and introspection endpoints (ADR 0052).

Authlib's own client (``PrivateKeyJWT``) is the app for the whole flow; the refusals are
assertions made by hand with joserfc, each wrong in one way, against the session's server.
Keys at a ``jwks_uri`` are served by a real HTTPS server on loopback (tests/document_server.py).
"""

import base64
import json
import warnings
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import OctKey

from tessera.bootstrap import Runtime
from tessera.services.container import Services
from tessera.services.oauth_clients import IssuedOAuthClient
from tests.conftest import served
from tests.document_server import Answer, DocumentServer, document_server
from tests.oauth.flows import (
    INTROSPECT,
    REVOKE,
    TOKEN,
    WEB_CALLBACK,
    Browser,
    issue_code,
    me,
    pkce_pair,
)
from tests.oauth.keys import (
    ClientKey,
    assertion,
    assertion_form,
    ec_key,
    jwks,
    key_client,
    rsa_key,
)
from tests.secrets_seen import remember

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    from authlib.integrations.httpx_client import OAuth2Client
    from authlib.oauth2.rfc7523 import PrivateKeyJWT

JSON = {"Content-Type": "application/json"}


@pytest.fixture
def issuer(runtime: Runtime) -> str:
    return runtime.oauth.context.issuer


@pytest.fixture
def key() -> ClientKey:
    return ec_key()


@pytest.fixture
def app(services: Services, key: ClientKey) -> IssuedOAuthClient:
    return key_client(services, keys=jwks(key))


def key_app_client(app: IssuedOAuthClient, key: ClientKey, token_endpoint: str) -> OAuth2Client:
    """Authlib's client, authenticating with private_key_jwt (its assertion's aud: the token
    endpoint as the issuer names it)."""
    client = OAuth2Client(
        client_id=app.client.client_id,
        client_secret=key.private,
        token_endpoint_auth_method="private_key_jwt",
        # Authlib's default for revocation is client_secret_basic whenever a "secret" is set.
        revocation_endpoint_auth_method="private_key_jwt",
        redirect_uri=WEB_CALLBACK,
        code_challenge_method="S256",
        timeout=60,
    )
    client.register_client_auth_method(PrivateKeyJWT(token_endpoint, alg=key.alg))
    return client


def introspect_as(api: httpx.Client, value: str, **extra: str) -> httpx.Response:
    """Introspection is the cheapest endpoint that authenticates the client."""
    return api.post(INTROSPECT, data={"token": "nothing-of-ours", **assertion_form(value, **extra)})


def assert_invalid_client(answer: httpx.Response, *words: str) -> None:
    body = answer.json()
    assert (answer.status_code, body["error"]) == (400, "invalid_client"), answer.text
    assert answer.headers["Cache-Control"] == "no-store"
    for word in words:
        assert word in body["error_description"], body


# -- a real client library ------------------------------------------------------------------


@pytest.mark.parametrize("make_key", [ec_key, rsa_key], ids=["ES256", "RS256"])
def test_authlibs_client_signs_its_way_through_code_refresh_introspection_and_revocation(
    api: httpx.Client,
    server: str,
    browser: Browser,
    services: Services,
    issuer: str,
    make_key: Any,
) -> None:
    key = make_key()
    app = key_client(services, keys=jwks(key))
    assert app.secret is None
    verifier, challenge = pkce_pair()
    code = issue_code(browser, app, challenge=challenge)

    with key_app_client(app, key, f"{issuer}/oauth/token") as client:
        token = client.fetch_token(server + TOKEN, code=code, code_verifier=verifier)
        remember(token["access_token"], token["refresh_token"])
        renewed = client.refresh_token(server + TOKEN, refresh_token=token["refresh_token"])
        remember(renewed["access_token"], renewed["refresh_token"])
        inspected = client.introspect_token(server + INTROSPECT, token=renewed["access_token"])
        revoked = client.revoke_token(server + REVOKE, token=renewed["access_token"])

    assert inspected.status_code == 200, inspected.text
    assert inspected.json()["active"] is True
    assert inspected.json()["client_id"] == app.client.client_id
    assert revoked.status_code == 200, revoked.text
    assert me(api, renewed["access_token"]).status_code == 401


def test_the_issuer_and_the_endpoint_called_are_audiences_too(
    api: httpx.Client, app: IssuedOAuthClient, key: ClientKey, issuer: str
) -> None:
    client_id = app.client.client_id
    for audience in (issuer, f"{issuer}/oauth/introspect", [f"{issuer}/oauth/token", "other"]):
        answer = introspect_as(api, assertion(key, client_id, audience))
        assert answer.status_code == 200, (audience, answer.text)


# -- refusals, each in the invalid_client shape ----------------------------------------------


def _unsigned(claims: dict[str, Any]) -> str:
    def part(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(claims)}."


def test_a_replayed_assertion_is_refused(
    api: httpx.Client, app: IssuedOAuthClient, key: ClientKey, issuer: str
) -> None:
    value = assertion(key, app.client.client_id, f"{issuer}/oauth/token")

    first = introspect_as(api, value)
    again = introspect_as(api, value)

    assert first.status_code == 200, first.text
    assert_invalid_client(again, "JWT ID is used before")


def test_assertions_wrong_in_one_way_are_refused(
    api: httpx.Client, app: IssuedOAuthClient, key: ClientKey, issuer: str
) -> None:
    client_id, audience = app.client.client_id, f"{issuer}/oauth/token"
    other = ec_key(kid=key.kid)  # the same kid, another key
    hmac_key = OctKey.import_key(json.dumps(key.public_jwk).encode())
    claims = {"iss": client_id, "sub": client_id, "aud": audience, "exp": 2**31, "jti": "x1"}
    cases = {
        "another key": (assertion(other, client_id, audience), "did not verify"),
        "expired": (assertion(key, client_id, audience, lifetime=-120), "exp"),
        "too long": (assertion(key, client_id, audience, lifetime=7300), "lives too long"),
        "wrong aud": (assertion(key, client_id, "https://elsewhere.example/token"), "aud"),
        "no jti": (assertion(key, client_id, audience, jti=None), "JWT ID"),
        "iss is not sub": (assertion(key, client_id, audience, iss="someone"), "Issuer"),
        "no exp": (assertion(key, client_id, audience, exp=None), "exp"),
        "alg none": (_unsigned(claims), "did not verify"),
        "HS256 with the public key": (
            jwt.encode({"alg": "HS256", "kid": key.kid}, claims, hmac_key, algorithms=["HS256"]),
            "did not verify",
        ),
        "unknown kid": (
            assertion(ec_key(), client_id, audience),
            "JWK Set does not hold",
        ),
    }

    for name, (value, words) in cases.items():
        answer = introspect_as(api, value)
        assert answer.status_code == 400, (name, answer.text)
        assert_invalid_client(answer, words)


def test_an_assertion_for_another_client_or_beside_a_secret_is_refused(
    api: httpx.Client,
    app: IssuedOAuthClient,
    key: ClientKey,
    issuer: str,
    web_app: IssuedOAuthClient,
) -> None:
    audience = f"{issuer}/oauth/token"
    assert web_app.secret is not None

    other_id = introspect_as(
        api, assertion(key, app.client.client_id, audience), client_id=web_app.client.client_id
    )
    beside_secret = api.post(
        INTROSPECT,
        data={"token": "x", **assertion_form(assertion(key, app.client.client_id, audience))},
        auth=(app.client.client_id, "a-secret"),
    )
    # A client with a secret cannot switch to assertions, nor the key client to a secret.
    secret_client = introspect_as(api, assertion(key, web_app.client.client_id, audience))
    key_client_with_secret = api.post(
        INTROSPECT, data={"token": "x"}, auth=(app.client.client_id, web_app.secret)
    )

    assert_invalid_client(other_id, "client_id")
    assert (beside_secret.status_code, beside_secret.json()["error"]) == (400, "invalid_request")
    assert_invalid_client(secret_client, "private_key_jwt")
    assert key_client_with_secret.status_code == 401
    assert key_client_with_secret.json()["error"] == "invalid_client"


def test_the_metadata_advertises_the_method_and_its_algorithms(api: httpx.Client) -> None:
    for path in ("/.well-known/oauth-authorization-server", "/.well-known/openid-configuration"):
        metadata = api.get(path).json()
        for endpoint in ("token", "revocation", "introspection"):
            assert "private_key_jwt" in metadata[f"{endpoint}_endpoint_auth_methods_supported"]
            algs = metadata[f"{endpoint}_endpoint_auth_signing_alg_values_supported"]
            assert {"RS256", "ES256", "PS256"} <= set(algs)
            assert not {"none", "HS256"} & set(algs)


# -- keys at a jwks_uri ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def documents(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DocumentServer]:
    with document_server(tmp_path_factory.mktemp("jwks")) as server:
        yield server


@pytest.fixture(scope="module")
def fetching(
    database_url: str, documents: DocumentServer
) -> Iterator[tuple[Runtime, httpx.Client]]:
    """A server that may fetch from the loopback document server, trusting its CA."""
    with served(
        database_url,
        oauth_client_document_networks="127.0.0.1/32",
        oauth_client_document_ca_file=str(documents.ca_file),
    ) as pair:
        yield pair


def publish_keys(documents: DocumentServer, path: str, *keys: ClientKey, **headers: str) -> str:
    body = json.dumps(jwks(*keys)).encode()
    return documents.serve(path, Answer(body=body, headers=JSON | headers))


def test_keys_at_a_jwks_uri_are_fetched_once_and_refetched_for_a_new_kid(
    fetching: tuple[Runtime, httpx.Client], documents: DocumentServer
) -> None:
    runtime, api = fetching
    issuer = runtime.oauth.context.issuer
    first, second = ec_key(), rsa_key()
    url = publish_keys(documents, "/rotating/jwks.json", first)
    app = key_client(runtime.services, jwks_uri=url)
    client_id = app.client.client_id

    one = introspect_as(api, assertion(first, client_id, issuer))
    two = introspect_as(api, assertion(first, client_id, issuer))
    fetched_before_rotation = len(documents.requests_for("/rotating/jwks.json"))
    publish_keys(documents, "/rotating/jwks.json", second)  # the client rotated its key
    rotated = introspect_as(api, assertion(second, client_id, issuer))

    assert (one.status_code, two.status_code) == (200, 200), (one.text, two.text)
    assert fetched_before_rotation == 1  # kept between the two
    assert rotated.status_code == 200, rotated.text
    assert len(documents.requests_for("/rotating/jwks.json")) == 2


def test_an_unknown_kid_is_refused_after_one_refetch_and_does_not_refetch_again(
    fetching: tuple[Runtime, httpx.Client], documents: DocumentServer
) -> None:
    runtime, api = fetching
    issuer = runtime.oauth.context.issuer
    known, stranger = ec_key(), ec_key()
    url = publish_keys(documents, "/fixed/jwks.json", known)
    client_id = key_client(runtime.services, jwks_uri=url).client.client_id
    assert introspect_as(api, assertion(known, client_id, issuer)).status_code == 200

    refused = introspect_as(api, assertion(stranger, client_id, issuer))
    again = introspect_as(api, assertion(stranger, client_id, issuer))

    assert_invalid_client(refused, "does not hold")
    assert_invalid_client(again, "does not hold")
    # The first fetch and one refetch for the unknown kid; made-up kids fetch no more.
    assert len(documents.requests_for("/fixed/jwks.json")) == 2


def test_a_jwks_uri_that_fails_is_never_kept(
    fetching: tuple[Runtime, httpx.Client], documents: DocumentServer
) -> None:
    runtime, api = fetching
    issuer = runtime.oauth.context.issuer
    key = ec_key()
    url = documents.serve("/failing/jwks.json", Answer(status=503))
    client_id = key_client(runtime.services, jwks_uri=url).client.client_id

    failed = introspect_as(api, assertion(key, client_id, issuer))
    publish_keys(documents, "/failing/jwks.json", key)
    recovered = introspect_as(api, assertion(key, client_id, issuer))
    private = documents.serve(
        "/private/jwks.json",
        Answer(body=json.dumps({"keys": [key.private_jwk]}).encode(), headers=JSON),
    )
    leaky = key_client(runtime.services, jwks_uri=private).client.client_id
    refused = introspect_as(api, assertion(key, leaky, issuer))

    assert_invalid_client(failed, "JWK Set", "answered 503")
    assert recovered.status_code == 200, recovered.text
    assert_invalid_client(refused, "private key")


def test_a_jwks_uri_on_a_private_address_is_not_fetched(
    api: httpx.Client, services: Services, issuer: str
) -> None:
    # The session server allows no extra networks: loopback is refused before any connection.
    key = ec_key()
    client_id = key_client(services, jwks_uri="https://127.0.0.1:9/jwks.json").client.client_id

    answer = introspect_as(api, assertion(key, client_id, issuer))

    assert_invalid_client(answer, "loopback")


def test_an_assertion_is_spent_for_every_process_and_only_one_racing_use_wins(
    fetching: tuple[Runtime, httpx.Client],
    api: httpx.Client,
    app: IssuedOAuthClient,
    key: ClientKey,
    issuer: str,
) -> None:
    # Two servers on one database (two processes' worth of state): the jti is the database's.
    _, other = fetching
    spent = assertion(key, app.client.client_id, issuer)
    racing = assertion(key, app.client.client_id, issuer)
    assert introspect_as(api, spent).status_code == 200

    replayed = introspect_as(other, spent)
    with ThreadPoolExecutor(max_workers=6) as pool:
        answers = list(pool.map(lambda client: introspect_as(client, racing), [api, other] * 3))

    assert_invalid_client(replayed, "JWT ID is used before")
    assert sorted(answer.status_code for answer in answers) == [200, 400, 400, 400, 400, 400]


def test_a_refused_assertion_at_the_token_endpoint_spends_no_code(
    api: httpx.Client,
    browser: Browser,
    app: IssuedOAuthClient,
    key: ClientKey,
    issuer: str,
) -> None:
    verifier, challenge = pkce_pair()
    code = issue_code(browser, app, challenge=challenge)
    grant = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": WEB_CALLBACK,
        "code_verifier": verifier,
    }
    client_id, audience = app.client.client_id, f"{issuer}/oauth/token"

    forged = api.post(
        TOKEN, data={**grant, **assertion_form(assertion(ec_key(key.kid), client_id, audience))}
    )
    expired = api.post(
        REVOKE,
        data={"token": "x", **assertion_form(assertion(key, client_id, audience, lifetime=-300))},
    )
    granted = api.post(TOKEN, data={**grant, **assertion_form(assertion(key, client_id, audience))})

    assert_invalid_client(forged, "did not verify")
    assert_invalid_client(expired, "expired")
    assert granted.status_code == 200, granted.text
    body = granted.json()
    remember(body["access_token"], body["refresh_token"])
    assert me(api, body["access_token"]).status_code == 200
