"""What the device grant's tests share: the device's requests and the person's /device forms."""

from typing import Any

import httpx

from tessera.core.device_codes import USER_CODE_ALPHABET
from tessera.core.oauth_clients import GrantType
from tessera.services.container import Services
from tessera.services.oauth_clients import IssuedOAuthClient
from tests.factories import make_oauth_client
from tests.oauth.flows import Browser, hidden_fields, post_as, received
from tests.secrets_seen import remember

DEVICE_AUTHORIZATION = "/oauth/device_authorization"
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
TOKEN = "/oauth/token"
#: Registered, never used: a device client has no redirect (clients register one all the same).


def make_device_client(
    services: Services, *, public: bool = True, **extra: Any
) -> IssuedOAuthClient:
    return make_oauth_client(
        services,
        name=extra.pop("name", "TV App"),
        redirect_uris=extra.pop("redirect_uris", []),  # a device takes no redirect: none needed
        public=public,
        grant=GrantType.DEVICE_CODE,
        **extra,
    )


def start(api: httpx.Client, client: IssuedOAuthClient, **form: str) -> dict[str, Any]:
    """The device's first request; its codes are remembered as secrets."""
    answer = post_as(api, client, DEVICE_AUTHORIZATION, form)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert isinstance(body, dict)
    remember(body["device_code"], body["user_code"], body["user_code"].replace("-", ""))
    return body


def poll(api: httpx.Client, client: IssuedOAuthClient, device_code: str) -> httpx.Response:
    answer = post_as(api, client, TOKEN, {"grant_type": DEVICE_GRANT, "device_code": device_code})
    if answer.status_code == 200:
        received(answer)
    return answer


def error_of(answer: httpx.Response) -> tuple[int, str]:
    return answer.status_code, answer.json()["error"]


def enter_code(browser: Browser, typed: str) -> httpx.Response:
    """Type a code on the /device form, as a person would (CSRF token from the page)."""
    page = browser.http.get("/device")
    assert page.status_code == 200, page.text
    return browser.http.post("/device", data={**hidden_fields(page.text), "user_code": typed})


def answer(browser: Browser, confirmation: httpx.Response, decision: str) -> httpx.Response:
    """Press Allow ("accept") or Deny ("deny") on the confirmation page."""
    assert confirmation.status_code == 200, confirmation.text
    fields = {name: values[0] for name, values in hidden_fields(confirmation.text).items()}
    return browser.http.post("/device/decision", data={**fields, "decision": decision})


def approve(browser: Browser, user_code: str) -> None:
    done = answer(browser, enter_code(browser, user_code), "accept")
    assert done.status_code == 200, done.text
    assert "is connected" in done.text


def is_user_code(value: str) -> bool:
    left, dash, right = value.partition("-")
    return (
        dash == "-"
        and len(left) == len(right) == 4
        and all(c in USER_CODE_ALPHABET for c in left + right)
    )
