"""Each client's ID token algorithm (OpenID Connect Registration ``id_token_signed_response_alg``).

RS256 unless the client registered ES256; the signature is checked with joserfc allowing only the
expected algorithm, against the published JWKS, so a token signed with the other key fails.
"""

import httpx
from joserfc import jwt
from joserfc.jwk import KeySet

from tessera.core.signing_keys import SigningAlgorithm
from tessera.services.container import Services
from tessera.services.oauth_clients import OAuthClientChanges
from tests.factories import make_oauth_client
from tests.oauth.flows import WEB_CALLBACK, Browser, received, refresh
from tests.oauth.test_openid import JWKS, USERINFO, half_hash, openid_tokens
from tests.secrets_seen import remember


def signed_with(api: httpx.Client, id_token: str, alg: str) -> tuple[str, dict[str, object]]:
    """The ``kid`` and claims of an ID token whose signature checks with ``alg`` only."""
    keys = KeySet.import_key_set(api.get(JWKS).json())
    decoded = jwt.decode(id_token, keys, algorithms=[alg])
    assert decoded.header["alg"] == alg
    return str(decoded.header["kid"]), dict(decoded.claims)


def published_alg(api: httpx.Client, kid: str) -> str:
    key = next(key for key in api.get(JWKS).json()["keys"] if key["kid"] == kid)
    return str(key["alg"])


def test_a_client_registered_for_es256_gets_es256_id_tokens_at_exchange_and_refresh(
    api: httpx.Client, browser: Browser, services: Services
) -> None:
    app = make_oauth_client(
        services, redirect_uris=[WEB_CALLBACK], id_token_alg=SigningAlgorithm.ES256
    )

    first = openid_tokens(browser, api, app, scope="openid offline_access", nonce="n-es256-first")
    again = received(refresh(api, app, first["refresh_token"]))
    remember(again["id_token"])

    kid, claims = signed_with(api, first["id_token"], "ES256")
    assert published_alg(api, kid) == "ES256"
    # at_hash: the left half of SHA-256, as for RS256 (OpenID Connect Core §3.1.3.6).
    assert claims["at_hash"] == half_hash(first["access_token"])
    assert claims["nonce"] == "n-es256-first"
    refreshed_kid, refreshed = signed_with(api, again["id_token"], "ES256")
    assert refreshed_kid == kid
    assert refreshed["at_hash"] == half_hash(again["access_token"])


def test_without_a_choice_a_client_gets_rs256(
    api: httpx.Client, browser: Browser, services: Services
) -> None:
    app = make_oauth_client(services, redirect_uris=[WEB_CALLBACK])

    assert app.client.id_token_signed_response_alg is SigningAlgorithm.RS256
    kid, _ = signed_with(api, openid_tokens(browser, api, app)["id_token"], "RS256")
    assert published_alg(api, kid) == "RS256"


def test_a_changed_choice_counts_from_the_next_token(
    api: httpx.Client, browser: Browser, services: Services
) -> None:
    app = make_oauth_client(services, redirect_uris=[WEB_CALLBACK])
    first = openid_tokens(browser, api, app, scope="openid offline_access")
    signed_with(api, first["id_token"], "RS256")

    changed = services.oauth_clients.change(
        app.client.id, OAuthClientChanges(id_token_signed_response_alg="ES256")
    )
    again = received(refresh(api, app, first["refresh_token"]))
    remember(again["id_token"])

    assert changed.id_token_signed_response_alg is SigningAlgorithm.ES256
    signed_with(api, again["id_token"], "ES256")


def test_userinfo_stays_json_for_an_es256_client(
    api: httpx.Client, browser: Browser, services: Services
) -> None:
    app = make_oauth_client(
        services, redirect_uris=[WEB_CALLBACK], id_token_alg=SigningAlgorithm.ES256
    )
    access = openid_tokens(browser, api, app)["access_token"]

    answer = api.get(USERINFO, headers={"Authorization": f"Bearer {access}"})

    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("application/json")
    assert "sub" in answer.json()
