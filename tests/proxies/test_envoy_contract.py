"""Envoy's HTTP ext_authz, with the shipped examples/guard/envoy.yaml, as a contract test.

Envoy installs from none of the registries the tests can reach, so this sends Tessera exactly
what Envoy sends with that configuration (its ext_authz documentation: the request's own
method at ``path_prefix`` + its path and query, ``Host``, ``Content-Length: 0``,
``Authorization`` and the ``allowed_headers``; no body) and applies to each answer what Envoy
does with it (exactly 200 allows, with ``allowed_upstream_headers`` on the request for the
API; anything else goes to the client with ``allowed_client_headers``). The configuration is
read from the shipped file, so a header it forgets to pass fails here.
"""

from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import yaml

from tessera.guard.answers import identity_from_headers
from tessera.services.container import Services
from tests.external_tools import ROOT
from tests.factories import key_header, make_key, make_person, make_token, token_header
from tests.guard_library.tessera_node import TesseraNode

ENVOY_YAML = ROOT / "examples" / "guard" / "envoy.yaml"
#: Sent by Envoy whatever allowed_headers says (its ext_authz documentation).
ALWAYS_SENT = frozenset(("authorization", "host", "content-length"))
#: Added by Envoy to the client headers it passes on from a refusal.
ALWAYS_TO_CLIENT = frozenset(("www-authenticate", "location", "content-length"))


def _filters() -> dict[str, dict[str, Any]]:
    config = yaml.safe_load(ENVOY_YAML.read_text())
    manager = config["static_resources"]["listeners"][0]["filter_chains"][0]["filters"][0]
    return {f["name"]: f["typed_config"] for f in manager["typed_config"]["http_filters"]}


def _names(matchers: dict[str, Any]) -> frozenset[str]:
    return frozenset(pattern["exact"].lower() for pattern in matchers["patterns"])


@dataclass(frozen=True)
class EnvoyConfig:
    path_prefix: str
    allowed_headers: frozenset[str]
    upstream_headers: frozenset[str]
    client_headers: frozenset[str]
    removed_first: frozenset[str]
    filter_order: tuple[str, ...]

    @classmethod
    def shipped(cls) -> "EnvoyConfig":
        filters = _filters()
        service = filters["envoy.filters.http.ext_authz"]["http_service"]
        response = service["authorization_response"]
        mutations = filters["envoy.filters.http.header_mutation"]["mutations"]
        return cls(
            path_prefix=service["path_prefix"],
            allowed_headers=ALWAYS_SENT
            | _names(service["authorization_request"]["allowed_headers"]),
            upstream_headers=_names(response["allowed_upstream_headers"]),
            client_headers=ALWAYS_TO_CLIENT | _names(response["allowed_client_headers"]),
            removed_first=frozenset(m["remove"] for m in mutations["request_mutations"]),
            filter_order=tuple(filters),
        )


@dataclass(frozen=True)
class Outcome:
    """What Envoy does with Tessera's answer: the API's request headers, or the client's answer."""

    allowed: bool
    upstream_headers: dict[str, str]
    client_status: int
    client_headers: list[tuple[str, str]]
    client_body: bytes


def through_envoy(
    tessera: TesseraNode, method: str, target: str, headers: dict[str, str]
) -> Outcome:
    envoy = EnvoyConfig.shipped()
    client = {name.lower(): value for name, value in headers.items()}
    client = {n: v for n, v in client.items() if n not in envoy.removed_first}
    asked = {n: v for n, v in client.items() if n in envoy.allowed_headers}
    asked.update({"host": "helpdesk.example", "content-length": "0"})
    answer = httpx.request(method, f"{tessera.url}{envoy.path_prefix}{target}", headers=asked)
    if answer.status_code == 200:
        upstream = dict(client)
        upstream.update(
            {n: v for n, v in answer.headers.items() if n.lower() in envoy.upstream_headers}
        )
        return Outcome(True, upstream, 0, [], b"")
    passed = [(n, v) for n, v in answer.headers.multi_items() if n in envoy.client_headers]
    return Outcome(False, {}, answer.status_code, passed, answer.content)


def test_the_shipped_configuration_removes_client_identity_headers_before_asking() -> None:
    envoy = EnvoyConfig.shipped()

    assert envoy.filter_order.index(
        "envoy.filters.http.header_mutation"
    ) < envoy.filter_order.index("envoy.filters.http.ext_authz")
    assert envoy.removed_first == envoy.upstream_headers


def test_a_token_reaches_the_api_as_its_person(tessera: TesseraNode, services: Services) -> None:
    person = make_person(services, name="Zoë Agent")
    issued = make_token(services, person)

    outcome = through_envoy(tessera, "GET", "/tickets?page=2", token_header(issued))

    assert outcome.allowed
    caller = identity_from_headers(outcome.upstream_headers)
    assert (caller.person_id, caller.name, caller.auth_method) == (
        person.id,
        "Zoë Agent",
        "api_token",
    )


def test_a_limited_key_is_refused_a_delete_with_deskpros_403(
    tessera: TesseraNode, services: Services
) -> None:
    limited = key_header(make_key(services, make_person(services), tags="tickets.*, -*.delete"))

    listed = through_envoy(tessera, "GET", "/tickets", limited)
    closed = through_envoy(tessera, "DELETE", "/tickets/12", limited)

    assert listed.allowed
    assert not closed.allowed
    assert closed.client_status == 403
    assert closed.client_body == (
        b'{"status":403,"code":"forbidden",'
        b'"message":"You are not authorized to make this request."}'
    )
    assert ("content-type", "application/json") in closed.client_headers


def test_no_credential_gets_deskpros_401_and_challenge(tessera: TesseraNode) -> None:
    outcome = through_envoy(tessera, "GET", "/tickets", {})

    assert (outcome.allowed, outcome.client_status) == (False, 401)
    assert ("www-authenticate", 'session,token,key realm="DeskPRO API"') in outcome.client_headers


@pytest.mark.parametrize("legacy", [False, True], ids=["authorization", "x-deskpro-api-key"])
def test_a_superuser_key_acts_as_the_named_agent(
    tessera: TesseraNode, services: Services, legacy: bool
) -> None:
    agent = make_person(services)
    issued = make_key(services, None, superuser=True)
    credential = {"X-DeskPRO-API-Key": issued.key_string} if legacy else key_header(issued)

    outcome = through_envoy(
        tessera, "GET", "/tickets", {**credential, "X-DeskPRO-Agent-ID": str(agent.id)}
    )

    assert outcome.allowed
    assert identity_from_headers(outcome.upstream_headers).person_id == agent.id


def test_a_client_cannot_send_identity_headers_of_its_own(
    tessera: TesseraNode, services: Services
) -> None:
    person = make_person(services)
    forged = {"X-Tessera-Person-Id": "1", "X-Tessera-Client-Id": "1_forged"}

    outcome = through_envoy(
        tessera, "GET", "/tickets", {**key_header(make_key(services, person)), **forged}
    )

    assert outcome.allowed
    assert outcome.upstream_headers["x-tessera-person-id"] == str(person.id)
    assert "x-tessera-client-id" not in outcome.upstream_headers
