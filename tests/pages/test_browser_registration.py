"""A client that lives in a page (MCP Inspector, say) discovers Tessera and registers itself.

Such a client runs on an origin of its own and reaches Tessera with ``fetch``: every endpoint it
calls before the person is sent to the consent page must answer CORS, or Chromium refuses to
hand the answer to the page (the request fails with a ``TypeError``, whatever Tessera said).
Tessera answered CORS at its token-side endpoints, but not at ``/oauth/register``, its RFC 7592
addresses, ``/.well-known/openid-configuration``, ``/oauth/jwks`` or ``/oauth/userinfo``: the
first thing a browser-based MCP client does after discovery failed there.
"""

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page

from tessera.bootstrap import Runtime
from tests.conftest import served
from tests.pages.conftest import Callback
from tests.secrets_seen import remember

pytestmark = pytest.mark.browser

#: What a client in a page does, in order, as MCP Inspector does it; each answer as the page sees
#: it, or the error ``fetch`` threw.
CLIENT = """
async ([tessera, redirectUri]) => {
  const seen = {};
  const call = async (name, url, init) => {
    try {
      const answer = await fetch(url, init);
      seen[name] = {status: answer.status, body: await answer.json()};
    } catch (error) {
      seen[name] = {error: String(error)};
    }
    return seen[name].body;
  };
  await call("oauth-metadata", `${tessera}/.well-known/oauth-authorization-server`);
  await call("openid-metadata", `${tessera}/.well-known/openid-configuration`);
  await call("jwks", `${tessera}/oauth/jwks`);
  const json = {"Content-Type": "application/json"};
  const registered = await call("register", `${tessera}/oauth/register`, {
    method: "POST", headers: json,
    body: JSON.stringify({client_name: "A client in a page", redirect_uris: [redirectUri],
                          token_endpoint_auth_method: "none"}),
  });
  await call("refused", `${tessera}/oauth/register`, {
    method: "POST", headers: json, body: JSON.stringify({redirect_uris: ["ftp://no"]}),
  });
  if (registered && registered.client_id) {
    await call("configuration", `${tessera}/oauth/register/${registered.client_id}`, {
      headers: {Authorization: `Bearer ${registered.registration_access_token}`},
    });
  }
  await call("userinfo", `${tessera}/oauth/userinfo`, {
    headers: {Authorization: "Bearer 1:not-a-token"},
  });
  return seen;
}
"""


@pytest.fixture
def tessera(database_url: str) -> Iterator[tuple[Runtime, httpx.Client]]:
    with served(
        database_url, oauth_registration="open", oauth_registration_rate_per_address="1000/minute"
    ) as pair:
        yield pair


def test_a_client_in_a_page_discovers_and_registers(
    tessera: tuple[Runtime, httpx.Client], page: Page, callback: Callback
) -> None:
    _, api = tessera
    url = str(api.base_url).rstrip("/")
    page.goto(callback.url)  # the client's own origin: another port of 127.0.0.1
    assert not url.startswith(callback.url.removesuffix("/callback"))

    seen: dict[str, Any] = page.evaluate(CLIENT, [url, "http://localhost:6274/oauth/callback"])

    for name in ("oauth-metadata", "openid-metadata", "jwks"):
        assert seen[name].get("status") == 200, (name, seen[name])
    register = seen["register"]
    assert register.get("status") == 201, register
    remember(register["body"].get("registration_access_token", ""))
    assert register["body"]["token_endpoint_auth_method"] == "none"
    assert seen["refused"].get("status") == 400, seen["refused"]  # readable, with its reason
    assert seen["refused"]["body"]["error"] == "invalid_redirect_uri"
    assert seen["configuration"].get("status") == 200, seen["configuration"]
    assert seen["configuration"]["body"]["client_id"] == register["body"]["client_id"]
    assert seen["userinfo"].get("status") == 401, seen["userinfo"]
