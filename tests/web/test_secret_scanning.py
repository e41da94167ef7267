"""``POST /api/v2/secret_scanning/reports``: GitHub's partner protocol, against real servers.

The test plays GitHub: it makes a P-256 key pair, writes the public half as GitHub publishes its
keys, and signs each body the way GitHub does (ECDSA over SHA-256 of the raw bytes, DER, base64).
"""

import base64
import hashlib
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ec import (
    ECDSA,
    SECP256R1,
    EllipticCurvePrivateKey,
    generate_private_key,
)
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from tessera.bootstrap import Runtime, Wiring
from tessera.core.audit import AuditEvent, AuditFilters
from tessera.core.credential_codes import (
    API_KEY_CODE,
    API_TOKEN_CODE,
    INITIAL_ACCESS_TOKEN_CODE,
    MAGIC_LINK_CODE,
    REFRESH_TOKEN_CODE,
    REGISTRATION_TOKEN_CODE,
)
from tessera.core.credentials import CODE_ALPHABET
from tessera.core.errors import InvalidInput
from tessera.core.leak_reports import MAX_REPORTED
from tessera.core.paging import PageRequest
from tessera.services.container import Services
from tessera.store import magic_links as stored_links
from tessera.store.tables import ApiKeyRow
from tests.conftest import served, settings_for_tests
from tests.factories import key_header, make_key, make_oauth_client, make_person, make_token
from tests.oauth.flows import (
    WEB_CALLBACK,
    Browser,
    issue_tokens,
    make_account,
    me,
    refresh,
    signed_in,
)
from tests.old_codes import with_old_code
from tests.secrets_seen import remember
from tests.web.envelopes import assert_refused, envelope

REPORTS = "/api/v2/secret_scanning/reports"


@dataclass
class GitHub:
    """The partner: its signing keys, and the file of public keys the operator saved."""

    keys_file: Path
    key_identifier: str
    private_key: EllipticCurvePrivateKey

    def headers(self, body: bytes, *, key_identifier: str | None = None) -> dict[str, str]:
        signature = self.private_key.sign(body, ECDSA(SHA256()))
        return {
            "Content-Type": "application/json",
            "Github-Public-Key-Identifier": key_identifier or self.key_identifier,
            "Github-Public-Key-Signature": base64.b64encode(signature).decode(),
        }

    def report(self, api: httpx.Client, items: list[dict[str, Any]]) -> httpx.Response:
        body = json.dumps(items).encode()
        return api.post(REPORTS, content=body, headers=self.headers(body))


def publish(keys_file: Path, keys: list[tuple[str, EllipticCurvePrivateKey]]) -> None:
    """Write the keys as https://api.github.com/meta/public_keys/secret_scanning has them."""
    entries = [
        {
            "key_identifier": identifier,
            "key": key.public_key()
            .public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
            .decode(),
            "is_current": number == 0,
        }
        for number, (identifier, key) in enumerate(keys)
    ]
    keys_file.write_text(json.dumps({"public_keys": entries}), encoding="utf-8")


def new_signing_key() -> tuple[str, EllipticCurvePrivateKey]:
    key = generate_private_key(SECP256R1())
    der = key.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    return hashlib.sha256(der).hexdigest(), key


@pytest.fixture
def github(tmp_path: Path) -> GitHub:
    identifier, key = new_signing_key()
    keys_file = tmp_path / "github-secret-scanning-keys.json"
    publish(keys_file, [(identifier, key)])
    return GitHub(keys_file, identifier, key)


@pytest.fixture
def partner(database_url: str, github: GitHub) -> Iterator[tuple[Runtime, httpx.Client]]:
    """A server that accepts GitHub's reports (its own runtime, on the session's database)."""
    with served(database_url, secret_scanning_keys_file=str(github.keys_file)) as running:
        yield running


def item(token: str, kind: str = "tessera_api_key") -> dict[str, str]:
    return {
        "token": token,
        "type": kind,
        "url": "https://github.com/someone/project/blob/abc123/settings.py",
        "source": "content",
    }


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def events(services: Services, kind: str) -> list[AuditEvent]:
    return list(services.audit.list(AuditFilters(kind=kind), PageRequest(1, 100)).items)


def forged(code: str) -> str:
    """The same code with its last symbol changed: the checksum no longer holds."""
    return code[:-1] + next(symbol for symbol in CODE_ALPHABET if symbol != code[-1])


def test_the_endpoint_is_off_without_the_partners_keys(api: httpx.Client) -> None:
    body = b'[{"token": "1:X", "type": "t", "url": "", "source": "content"}]'

    answer = api.post(REPORTS, content=body, headers={"Content-Type": "application/json"})

    assert answer.status_code == 404
    assert answer.json() == envelope(404, "not_found")


def test_live_credentials_reported_are_revoked_at_once_everywhere_and_audited(
    partner: tuple[Runtime, httpx.Client], github: GitHub, api: httpx.Client
) -> None:
    runtime, partner_api = partner
    services = runtime.services
    owner = make_account(services)
    key, token = make_key(services, owner.person), make_token(services, owner.person)
    app = make_oauth_client(services, name="Leaky App", redirect_uris=[WEB_CALLBACK])
    browser = signed_in(Browser(str(partner_api.base_url)), owner)
    oauth = issue_tokens(browser, partner_api, app)
    browser.close()
    # Both servers have the key and the token verified in their caches.
    for server in (partner_api, api):
        assert server.get("/api/v2/me", headers=key_header(key)).status_code == 200
        assert (
            server.get(
                "/api/v2/me", headers={"Authorization": f"token {token.token_string}"}
            ).status_code
            == 200
        )
    assert me(partner_api, oauth.access).status_code == 200

    answer = github.report(
        partner_api,
        [
            item(key.key_string),
            item(token.token_string, "tessera_api_token"),
            item(oauth.refresh, "tessera_oauth_refresh_token"),
        ],
    )

    assert answer.status_code == 200, answer.text
    assert answer.json() == [
        {
            "token_hash": sha256(key.key_string),
            "token_type": "tessera_api_key",
            "label": "true_positive",
        },
        {
            "token_hash": sha256(token.token_string),
            "token_type": "tessera_api_token",
            "label": "true_positive",
        },
        {
            "token_hash": sha256(oauth.refresh),
            "token_type": "tessera_oauth_refresh_token",
            "label": "true_positive",
        },
    ]
    # The next request on the node that revoked them is refused…
    assert_refused(partner_api.get("/api/v2/me", headers=key_header(key)), "invalid_api_key")
    assert_refused(
        partner_api.get("/api/v2/me", headers={"Authorization": f"token {token.token_string}"}),
        "invalid_api_token",
    )
    assert_refused(me(partner_api, oauth.access), "invalid_api_token")
    assert refresh(partner_api, app, oauth.refresh).status_code == 400
    # …and, within the change feed's poll, on every other. Each credential is revoked in a
    # transaction of its own, so one poll may see the key's revocation before the token's.
    token_header = {"Authorization": f"token {token.token_string}"}
    deadline = time.monotonic() + 5
    for header in (key_header(key), token_header):
        while api.get("/api/v2/me", headers=header).status_code == 200:
            assert time.monotonic() < deadline, "the other server still accepts a leaked one"
            time.sleep(0.05)
    assert_refused(api.get("/api/v2/me", headers=key_header(key)), "invalid_api_key")
    assert_refused(api.get("/api/v2/me", headers=token_header), "invalid_api_token")

    revoked = (
        events(services, "api_key.revoked")
        + events(services, "api_token.revoked")
        + events(services, "oauth_grant.revoked")
    )
    assert len(revoked) == 3
    for event in revoked:
        assert event.subject_person_id == owner.person.id
        assert event.actor_person_id is None
        assert event.detail["reason"] == "leaked"
        assert event.detail["reported_by"] == "github_secret_scanning"
        assert event.detail["source"] == "content"
        assert event.detail["url"] == "https://github.com/someone/project/blob/abc123/settings.py"
        for secret in (key.code, token.code, oauth.refresh, oauth.access.split(":", 1)[1]):
            assert secret not in repr(event)
    assert {event.credential_id for event in revoked} >= {key.key.id, token.token.id}


def test_anything_else_is_a_false_positive_and_changes_nothing(
    partner: tuple[Runtime, httpx.Client], github: GitHub
) -> None:
    runtime, partner_api = partner
    services = runtime.services
    agent = make_person(services)
    key, token = make_key(services, agent), make_token(services, agent)
    revoked = make_key(services, agent)
    services.api_keys.revoke(revoked.key.id)
    app = make_oauth_client(services, name="Secret App", redirect_uris=[WEB_CALLBACK])
    assert app.secret is not None
    reported = [
        f"{key.key.id}:{forged(key.code)}",  # a wrong checksum: never issued
        f"{key.key.id}:{API_KEY_CODE.new()}",  # a right checksum, not this key's code
        f"{token.token.id}:{API_TOKEN_CODE.new()}",
        # A token's code under another id (not the key's: keys and tokens number apart, and a
        # key's id may be the token's own, which would make this the token itself).
        f"{token.token.id + 1}:{token.code}",
        revoked.key_string,  # already revoked
        REFRESH_TOKEN_CODE.new(),  # no such refresh token
        forged(REFRESH_TOKEN_CODE.new()),
        app.secret,  # a client secret: an admin decides
        "12:not-ours-at-all",
        "x" * 600,
    ]

    answer = github.report(partner_api, [item(text) for text in reported])

    assert answer.status_code == 200, answer.text
    assert [verdict["label"] for verdict in answer.json()] == ["false_positive"] * len(reported)
    assert [verdict["token_hash"] for verdict in answer.json()] == [
        sha256(text) for text in reported
    ]
    assert partner_api.get("/api/v2/me", headers=key_header(key)).status_code == 200
    assert (
        partner_api.get(
            "/api/v2/me", headers={"Authorization": f"token {token.token_string}"}
        ).status_code
        == 200
    )
    assert events(services, "api_token.revoked") == []
    assert len(events(services, "api_key.revoked")) == 1  # the one revoked before


def test_a_key_of_the_old_format_is_found_and_revoked_too(
    partner: tuple[Runtime, httpx.Client], github: GitHub
) -> None:
    runtime, partner_api = partner
    key = make_key(runtime.services, make_person(runtime.services))
    old = f"{key.key.id}:{with_old_code(runtime, ApiKeyRow, key.key.id)}"
    assert partner_api.get("/api/v2/me", headers={"Authorization": f"key {old}"}).status_code == 200

    answer = github.report(partner_api, [item(old)])

    assert answer.json()[0]["label"] == "true_positive"
    assert_refused(
        partner_api.get("/api/v2/me", headers={"Authorization": f"key {old}"}), "invalid_api_key"
    )


def test_reports_without_a_good_signature_are_refused_and_change_nothing(
    partner: tuple[Runtime, httpx.Client], github: GitHub
) -> None:
    runtime, partner_api = partner
    key = make_key(runtime.services, make_person(runtime.services))
    body = json.dumps([item(key.key_string)]).encode()
    signed = github.headers(body)
    _, stranger = new_signing_key()
    by_a_stranger = GitHub(github.keys_file, github.key_identifier, stranger).headers(body)
    attempts = [
        {"Content-Type": "application/json"},  # unsigned
        {**signed, "Github-Public-Key-Identifier": "0" * 64},  # a key GitHub never had
        by_a_stranger,  # the right key's name, another key's signature
        github.headers(body + b" "),  # signed, but not this body
        {**signed, "Github-Public-Key-Signature": "not base64!"},
        {**signed, "Github-Public-Key-Signature": base64.b64encode(b"\x30\x02\x01").decode()},
        {**signed, "Github-Public-Key-Signature": "A" * 5000},
    ]

    for headers in attempts:
        answer = partner_api.post(REPORTS, content=body, headers=headers)
        assert answer.status_code == 401, (headers, answer.text)
        assert answer.json() == envelope(401, "invalid_signature")

    assert partner_api.get("/api/v2/me", headers=key_header(key)).status_code == 200


def test_signed_bodies_that_are_not_reports_get_clear_errors(
    partner: tuple[Runtime, httpx.Client], github: GitHub
) -> None:
    _, partner_api = partner
    answers = {}
    for name, body in {
        "not json": b"[{",
        "an object": b'{"token": "1:X"}',
        "no token": b'[{"type": "tessera_api_key"}]',
        "a number token": b'[{"token": 12}]',
        "too many": json.dumps([item("1:X")] * (MAX_REPORTED + 1)).encode(),
    }.items():
        answer = partner_api.post(REPORTS, content=body, headers=github.headers(body))
        answers[name] = (answer.status_code, answer.json()["code"])
    empty = partner_api.post(REPORTS, content=b"[]", headers=github.headers(b"[]"))
    huge = b"[" + b" " * (2 * 1024 * 1024) + b"]"
    too_large = partner_api.post(REPORTS, content=huge, headers=github.headers(huge))

    assert answers == {
        "not json": (400, "invalid_json_body"),
        "an object": (400, "invalid_input"),
        "no token": (400, "invalid_input"),
        "a number token": (400, "invalid_input"),
        "too many": (400, "invalid_input"),
    }
    assert (empty.status_code, empty.json()) == (200, [])
    assert too_large.status_code == 413


def test_reports_are_throttled_per_address(database_url: str, github: GitHub) -> None:
    with served(
        database_url,
        secret_scanning_keys_file=str(github.keys_file),
        secret_scanning_rate_per_address="2/minute",
    ) as (_, partner_api):
        answers = [github.report(partner_api, []).status_code for _ in range(3)]
        unsigned = partner_api.post(REPORTS, content=b"[]").status_code

    assert answers == [200, 200, 429]
    assert unsigned == 429  # counted before the signature: floods cost no verification


def test_a_rotated_key_is_read_from_the_replaced_file_without_a_restart(
    partner: tuple[Runtime, httpx.Client], github: GitHub
) -> None:
    _, partner_api = partner
    new_identifier, new_key = new_signing_key()
    rotated = GitHub(github.keys_file, new_identifier, new_key)
    assert rotated.report(partner_api, []).status_code == 401

    publish(
        github.keys_file, [(new_identifier, new_key), (github.key_identifier, github.private_key)]
    )

    assert rotated.report(partner_api, []).status_code == 200
    assert github.report(partner_api, []).status_code == 200  # the old one still verifies


def test_a_keys_file_that_holds_no_keys_stops_the_start_with_its_name(
    database_url: str, tmp_path: Path
) -> None:
    broken = tmp_path / "keys.json"
    broken.write_text('{"public_keys": [{"key_identifier": "k", "key": "not a key"}]}')
    wiring = Wiring(settings_for_tests(database_url, secret_scanning_keys_file=str(broken)))

    with pytest.raises(InvalidInput) as raised:
        _ = wiring.partner_keyring

    assert "secret_scanning_keys_file" in raised.value.problems.fields


def test_registration_tokens_and_magic_links_reported_are_revoked_and_audited(
    database_url: str, github: GitHub
) -> None:
    # Every kind with a prefix is answered; those that can be revoked are (secret-scanning.md).
    with served(
        database_url,
        secret_scanning_keys_file=str(github.keys_file),
        oauth_registration="initial_token",
    ) as (runtime, partner_api):
        services = runtime.services
        registration = services.client_registration
        invitation = registration.create_initial_token(
            note="leaked", lifetime=timedelta(days=1), single_use=False, created_by=None
        ).value
        remember(invitation)
        registered = partner_api.post(
            "/oauth/register",
            json={"client_name": "Leaky", "redirect_uris": [WEB_CALLBACK]},
            headers={"Authorization": f"Bearer {invitation}"},
        ).json()
        remember(registered["registration_access_token"])
        remember(str(registered.get("client_secret", "")))
        person = make_person(services)
        link = MAGIC_LINK_CODE.new()
        remember(link)
        now = datetime.now(UTC)
        with runtime.database.write() as session:
            stored_links.add_magic_link(
                session,
                code_digest=registration._hasher.digest(link),
                person_id=person.id,
                target="/",
                now=now,
                expires_at=now + timedelta(minutes=10),
            )
        reported = [
            item(invitation, "tessera_initial_access_token"),
            item(registered["registration_access_token"], "tessera_registration_token"),
            item(link, "tessera_magic_link"),
            item(INITIAL_ACCESS_TOKEN_CODE.new(), "tessera_initial_access_token"),
            item(forged(REGISTRATION_TOKEN_CODE.new()), "tessera_registration_token"),
        ]

        answer = github.report(partner_api, reported)
        again = github.report(partner_api, reported[:3])

        assert answer.status_code == 200, answer.text
        assert [verdict["label"] for verdict in answer.json()] == [
            "true_positive",
            "true_positive",
            "true_positive",
            "false_positive",
            "false_positive",
        ]
        # Revoked once: a second report finds nothing live.
        assert [verdict["label"] for verdict in again.json()] == ["false_positive"] * 3
        refused = partner_api.post(
            "/oauth/register",
            json={"client_name": "Another", "redirect_uris": [WEB_CALLBACK]},
            headers={"Authorization": f"Bearer {invitation}"},
        )
        assert refused.status_code == 401
        read = partner_api.get(
            urlsplit(registered["registration_client_uri"]).path,
            headers={"Authorization": f"Bearer {registered['registration_access_token']}"},
        )
        assert read.status_code == 401
        with runtime.database.read() as session:
            assert not stored_links.is_live(
                session, registration._hasher.digests(link), now=datetime.now(UTC)
            )
        kinds = (
            "oauth_initial_access_token.revoked",
            "oauth_client.registration_token_revoked",
            "magic_link.revoked",
        )
        for kind in kinds:
            [event] = events(services, kind)
            assert event.detail["reason"] == "leaked"
            assert event.detail["reported_by"] == "github_secret_scanning"
            for secret in (invitation, registered["registration_access_token"], link):
                assert secret not in repr(event)
        assert events(services, "magic_link.revoked")[0].subject_person_id == person.id
