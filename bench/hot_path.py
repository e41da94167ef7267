"""Micro-benchmark of the per-request credential check, in process (no HTTP).

Measures ``Authenticator.authenticate`` — parse, the credential cache or one SELECT by primary
key, keyed digest compared in constant time, usage noted — for API keys and tokens spread over
a pool, on a throwaway SQLite file or on PostgreSQL, twice: ``db`` with the cache off (every
check reads the database) and ``cached`` with it on and warm (every check a hit, as on the
event loop). Run on demand, never by the tests:

    .venv/bin/python bench/hot_path.py                       # SQLite
    .venv/bin/python bench/hot_path.py --database-url postgresql://postgres@127.0.0.1/test

PostgreSQL runs in a schema of its own, dropped at the end.
"""

import argparse
import secrets
import statistics
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

from sqlalchemy import create_engine
from sqlalchemy.engine import make_url

from tessera.bootstrap import Runtime, build_runtime
from tessera.core.credential_codes import API_TOKEN_CODE
from tessera.core.credentials import format_credential
from tessera.core.ids import PersonId
from tessera.core.passwords import PasswordHasher
from tessera.core.principals import TokenSource
from tessera.services.api_keys import NewApiKey
from tessera.services.authenticate import PresentedRequest
from tessera.services.jwt_access_tokens import access_token_claims
from tessera.services.oauth_clients import NewOAuthClient
from tessera.services.people import NewPerson
from tessera.settings import Settings
from tessera.store import api_tokens as stored_tokens
from tessera.store import oauth as stored_grants
from tessera.store.database import normalize_url


@contextmanager
def database(url: str | None) -> Iterator[str]:
    if url is None:
        with tempfile.TemporaryDirectory() as folder:
            yield f"sqlite:///{folder}/bench.db"
        return
    base = normalize_url(url)
    schema = f"tessera_bench_{secrets.token_hex(4)}"
    admin = create_engine(base)
    with admin.begin() as connection:
        connection.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    try:
        yield (
            make_url(base)
            .update_query_dict({"options": f"-csearch_path={schema}"})
            .render_as_string(hide_password=False)
        )
    finally:
        with admin.begin() as connection:
            connection.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        admin.dispose()


#: The scope of the narrowed OAuth tokens (ADR 0042): a tag limit on every check.
NARROW_SCOPE = "me.* -*.delete"
#: The endpoint whose tags each check tests, as ``GET /api/v2/me`` does.
TAGS = ("me.me.get",)


def seed(runtime: Runtime, pool: int) -> dict[str, list[str]]:
    """``key``, ``token`` (device set-up), ``oauth`` (scope session), ``scoped`` (narrowed)."""
    services = runtime.services
    agent = services.people.add(NewPerson(email="bench@example.test", name="Bench", is_agent=True))
    keys = [
        services.api_keys.create(NewApiKey(note="bench", person_id=agent.id)).key_string
        for _ in range(pool)
    ]
    tokens = []
    for _ in range(pool):
        code = services.api_tokens.create_device_setup_code(agent)
        tokens.append(services.api_tokens.redeem_device_setup_code(code, "127.0.0.1").token_string)
    app = services.oauth_clients.create(
        NewOAuthClient(name="bench", redirect_uris=["https://bench.example.test/cb"])
    )
    return {
        "key": [f"key {k}" for k in keys],
        "token": [f"token {t}" for t in tokens],
        "oauth": oauth_tokens(runtime, app.client.id, agent.id, "session", pool),
        "scoped": oauth_tokens(runtime, app.client.id, agent.id, NARROW_SCOPE, pool),
        # RFC 9068 (ADR 0051): the signature checked, then the same row as "oauth".
        "jwt": oauth_tokens(runtime, app.client.id, agent.id, "session", pool, jwt=True),
    }


def oauth_tokens(
    runtime: Runtime, client_id: int, person_id: int, scope: str, pool: int, *, jwt: bool = False
) -> list[str]:
    """OAuth access tokens of one grant, as the token endpoint stores them (no HTTP flow)."""
    context = runtime.oauth.context
    hasher, now = context.hasher, context.clock.now()
    expires_at = now + timedelta(days=1)
    tokens = []
    with runtime.database.write() as session:
        grant = stored_grants.add_grant(
            session, client_id=client_id, person_id=person_id, scope=scope, now=now
        )
        for _ in range(pool):
            code = API_TOKEN_CODE.new()
            token = stored_tokens.add_api_token(
                session,
                code_digest=hasher.digest(code),
                person_id=PersonId(person_id),
                scope=scope,
                source=TokenSource.OAUTH,
                now=now,
                expires_at=expires_at,
                grant_id=grant.id,
            )
            if not jwt:
                tokens.append(f"Bearer {format_credential(token.id, code)}")
                continue
            claims = access_token_claims(
                issuer=context.issuer,
                token_id=token.id,
                subject=str(person_id),
                client_id=f"{client_id}_bench",
                audience=(context.own_resource,),
                scope=scope,
                issued_at=now,
                expires_at=expires_at,
            )
            signed, signature = context.access_tokens.sign(claims)
            stored_tokens.set_code_digest(session, token.id, hasher.digest(signature))
            tokens.append(f"Bearer {signed}")
    return tokens


def measure(runtime: Runtime, headers: list[str], rounds: int) -> list[float]:
    """Nanoseconds per check (the credential, then the tags of ``TAGS``), per round."""
    authenticate = runtime.services.authenticator.authenticate
    requests = [PresentedRequest(authorization=h, client_address="127.0.0.1") for h in headers]
    figures = []
    for _ in range(rounds):
        started = time.perf_counter_ns()
        for request in requests:
            if not authenticate(request).may_call(TAGS, admin=False):
                raise AssertionError("the benchmark's endpoint must be allowed")
        figures.append((time.perf_counter_ns() - started) / len(requests))
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url")
    parser.add_argument("--pool", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=5)
    arguments = parser.parse_args()
    with database(arguments.database_url) as url:
        base = {
            "database_url": url,
            "secret_key": "bench-secret-key-" + "b" * 32,
            "auto_migrate": True,
            "device_setup_rate_per_address": "1000000/minute",
        }
        passwords = PasswordHasher(time_cost=1, memory_cost_kib=1024)
        runtimes = {
            "db": build_runtime(
                Settings.model_validate({**base, "credential_cache_size": 0}),
                passwords=passwords,
            ),
            # A TTL longer than the run: every measured check is a hit.
            "cached": build_runtime(
                Settings.model_validate({**base, "credential_cache_seconds": 300}),
                passwords=passwords,
            ),
        }
        try:
            credentials = seed(runtimes["db"], arguments.pool)
            backend = make_url(url).get_backend_name()
            for case, runtime in runtimes.items():
                for kind, headers in credentials.items():
                    measure(runtime, headers, 1)  # warm the pool and the cache
                    figures = measure(runtime, headers, arguments.rounds)
                    print(
                        f"{backend:10} {case:6} {kind:6} pool={arguments.pool}: median"
                        f" {statistics.median(figures):9,.0f} ns per check"
                        f" (min {min(figures):,.0f},"
                        f" max {max(figures):,.0f}; {arguments.rounds} rounds)"
                    )
        finally:
            for runtime in runtimes.values():
                runtime.database.dispose()


if __name__ == "__main__":
    main()
