"""Seed what a run uses up: OAuth codes and refresh tokens, and credentials to revoke.

Run by ``ours_seed`` (``peers.sh``) after ``seed_tessera.py``, on every run (even when the pool
is kept), with the same ``TESSERA_*`` environment as the server:

    ../.venv/bin/python seed_consumables.py OUT_DIR --grants 20000 --revocations 60

Writes, one request body a line (``application/x-www-form-urlencoded``), each usable once:

    OUT_DIR/oauth-code-bodies.txt     grant_type=authorization_code, a confidential client
                                      authenticating with client_secret_post;
    OUT_DIR/oauth-refresh-bodies.txt  grant_type=refresh_token, same client;
    OUT_DIR/revocation.json           agents, each with one API token and one API key, for
                                      ``revocation.py`` to revoke, regenerate and disable.

The client and the people come through Tessera's services. Codes, refresh tokens and the grants
they belong to (one grant each, as each would come from one person's consent) go in as bulk
INSERTs into the store's tables, with the keyed digests the server computes: seeding 20,000 of
each takes seconds. Codes are stored valid for a day, not the 60 s a real one lives, so that the
seed survives until its measurement; what an exchange costs does not depend on it.
"""

import argparse
import json
import secrets
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import insert

from tessera.bootstrap import Runtime, build_runtime
from tessera.core.credentials import CodeHasher
from tessera.secret_key_file import secret_keys
from tessera.services.api_keys import NewApiKey
from tessera.services.oauth_clients import NewOAuthClient
from tessera.services.people import NewPerson
from tessera.settings import Settings
from tessera.store.tables import OAuthCodeRow, OAuthGrantRow, OAuthRefreshTokenRow

REDIRECT_URI = "https://bench.example.test/callback"
BATCH = 5_000


def seed_grants(runtime: Runtime, count: int, out: Path, tag: str) -> None:
    code_bodies, refresh_bodies = grant_bodies(runtime, count, tag)
    write_private(out / "oauth-code-bodies.txt", code_bodies)
    write_private(out / "oauth-refresh-bodies.txt", refresh_bodies)


def grant_bodies(runtime: Runtime, count: int, tag: str) -> tuple[list[str], list[str]]:
    """A new confidential client, ``count`` codes and refresh tokens; their request bodies."""
    services = runtime.services
    issued = services.oauth_clients.create(
        NewOAuthClient(name=f"Bench app {tag}", redirect_uris=[REDIRECT_URI])
    )
    if issued.secret is None:
        raise SystemExit("seed_consumables: a confidential client came back without a secret")
    client = {"client_id": issued.client.client_id, "client_secret": issued.secret}
    person = services.people.add(
        NewPerson(email=f"bench-oauth-{tag}@example.test", name="Bench OAuth", is_agent=True)
    )
    digest = CodeHasher(secret_keys(runtime.settings)).digest
    now = datetime.now(UTC)
    grant_row = {
        "client_id": issued.client.id,
        "person_id": person.id,
        "scope": "",
        "created_at": now,
    }
    code_bodies: list[str] = []
    refresh_bodies: list[str] = []
    engine = runtime.database.engine
    for start in range(0, count, BATCH):
        size = min(BATCH, count - start)
        with engine.begin() as connection:
            ids = connection.execute(
                insert(OAuthGrantRow).returning(OAuthGrantRow.id, sort_by_parameter_order=True),
                [grant_row] * (2 * size),
            ).scalars()
            grant_ids = list(ids)
            codes: list[dict[str, Any]] = []
            refreshes: list[dict[str, Any]] = []
            for n in range(size):
                code = secrets.token_urlsafe(32)
                refresh = secrets.token_urlsafe(32)
                codes.append(
                    {
                        "code_digest": digest(code),
                        "grant_id": grant_ids[2 * n],
                        "redirect_uri": REDIRECT_URI,
                        "created_at": now,
                        "expires_at": now + timedelta(days=1),
                    }
                )
                refreshes.append(
                    {
                        "token_digest": digest(refresh),
                        "grant_id": grant_ids[2 * n + 1],
                        "created_at": now,
                        "expires_at": now + timedelta(days=13),
                    }
                )
                code_bodies.append(
                    urlencode(
                        {
                            "grant_type": "authorization_code",
                            "code": code,
                            "redirect_uri": REDIRECT_URI,
                            **client,
                        }
                    )
                )
                refresh_bodies.append(
                    urlencode({"grant_type": "refresh_token", "refresh_token": refresh, **client})
                )
            connection.execute(insert(OAuthCodeRow), codes)
            connection.execute(insert(OAuthRefreshTokenRow), refreshes)
    return code_bodies, refresh_bodies


def seed_revocations(runtime: Runtime, count: int, out: Path, tag: str) -> None:
    services = runtime.services
    subjects: list[dict[str, object]] = []
    for n in range(count):
        agent = services.people.add(
            NewPerson(email=f"bench-revoke-{tag}-{n}@example.test", name="Revoke me", is_agent=True)
        )
        code = services.api_tokens.create_device_setup_code(agent)
        token = services.api_tokens.redeem_device_setup_code(code, "127.0.0.1")
        key = services.api_keys.create(NewApiKey(note="bench revocation", person_id=agent.id))
        subjects.append(
            {
                "person_id": agent.id,
                "token_id": token.token.id,
                "token": token.token_string,
                "key_id": key.key.id,
                "key": key.key_string,
            }
        )
    path = out / "revocation.json"
    path.write_text(json.dumps(subjects))
    path.chmod(0o600)


def write_private(path: Path, lines: list[str]) -> None:
    path.write_text("\n".join(lines) + "\n")
    path.chmod(0o600)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--grants", type=int, default=20_000)
    parser.add_argument("--revocations", type=int, default=60)
    arguments = parser.parse_args()
    out: Path = arguments.out_dir
    out.mkdir(parents=True, exist_ok=True)
    # Many redemptions from one address: the production per-address limit would refuse them.
    settings = Settings(device_setup_rate_per_address="1000000/minute", auto_migrate=False)
    runtime = build_runtime(settings)
    started = time.monotonic()
    tag = secrets.token_hex(4)  # every run's people and apps are new: e-mails must not clash
    try:
        seed_grants(runtime, arguments.grants, out, tag)
        seed_revocations(runtime, arguments.revocations, out, tag)
    finally:
        runtime.services.usage.flush()
        runtime.database.dispose()
    print(
        f"seed_consumables: {arguments.grants:,} codes and refresh tokens,"
        f" {arguments.revocations} revocation subjects in {time.monotonic() - started:.0f} s",
        file=sys.stderr,
    )


if __name__ == "__main__":
    main()
