"""Seed Tessera's benchmark database and write the pools.

Run by ``ours_seed`` in ``peers.sh`` with the project's interpreter, after the database has
been reset and migrated, and with the same ``TESSERA_*`` environment as the server:

    ../.venv/bin/python seed_tessera.py OUT_DIR [--pool 10000] [--storm-accounts 1000]

Writes, shuffled, one credential a line as sent after the scheme in ``Authorization``:

    OUT_DIR/tokens.txt       API tokens  (``token ID:CODE``), one agent per token;
    OUT_DIR/keys.txt         API keys    (``key ID:CODE``), bound to the same agents, one each;
    OUT_DIR/issue-body.json  {"email", "password"} of one more agent, whose password is hashed
                             with the production PasswordHasher (argon2id, t=2, m=19 MiB, p=1),
                             for POST /api/v2/api_tokens;
    OUT_DIR/storm-bodies.txt one such JSON body a line for each of --storm-accounts more agents
                             (the login storm: many accounts, so that the per-e-mail throttle
                             stays at its default); they share one production hash of one
                             password, which costs each verification what its own would;
    OUT_DIR/admin-key.txt    an API key of an admin, for revocation.py.

The pool's agents, tokens and keys, and the storm's agents, are written in bulk (``bulk.py``:
the store's tables, the server's keyed digests, no audit events; seconds instead of the
services' minutes); the login agent, the admin and their key come through the services, and one
token and one key of the pool are checked through the services' per-request path.
Everyone else has no password, so seeding costs database writes, not argon2.
"""

import argparse
import json
import secrets
import sys
import time
from pathlib import Path

from bulk import add_agents, add_keys, add_tokens, advance_sequences
from tessera.bootstrap import build_runtime
from tessera.core.credentials import CodeHasher
from tessera.core.passwords import PasswordHasher
from tessera.secret_key_file import secret_keys
from tessera.services.api_keys import NewApiKey
from tessera.services.authenticate import PresentedRequest
from tessera.services.people import NewPerson
from tessera.settings import Settings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--pool", type=int, default=10_000)
    parser.add_argument("--storm-accounts", type=int, default=1_000)
    arguments = parser.parse_args()
    out: Path = arguments.out_dir
    out.mkdir(parents=True, exist_ok=True)

    settings = Settings(auto_migrate=False)  # everything from TESSERA_*, as the server sees it
    runtime = build_runtime(settings)  # production PasswordHasher
    services = runtime.services
    engine = runtime.database.engine
    hasher = CodeHasher(secret_keys(settings))
    started = time.monotonic()
    try:
        # Bulk first, with ids from 1 in the empty database; the services' rows come after.
        pool = add_agents(
            engine, [f"bench-{n}@example.test" for n in range(arguments.pool)], first_id=1
        )
        tokens = add_tokens(engine, hasher, pool, arguments.pool, first_id=1)
        keys = add_keys(engine, hasher, pool, first_id=1)
        storm_password = secrets.token_urlsafe(18)
        storm_emails = [f"bench-storm-{n}@example.test" for n in range(arguments.storm_accounts)]
        add_agents(
            engine,
            storm_emails,
            first_id=arguments.pool + 1,
            password_hash=PasswordHasher().hash(storm_password),
        )
        advance_sequences(engine)

        password = secrets.token_urlsafe(18)
        services.people.add(
            NewPerson(
                email="bench-login@example.test",
                name="Bench Login",
                is_agent=True,
                password=password,
            )
        )
        admin = services.people.add(
            NewPerson(email="bench-admin@example.test", name="Bench Admin", is_admin=True)
        )
        admin_key = services.api_keys.create(NewApiKey(note="bench admin", person_id=admin.id))

        # Sanity check through the same per-request path the server uses.
        authenticate = services.authenticator.authenticate
        for header in (f"token {tokens[0]}", f"key {keys[0]}"):
            authenticate(PresentedRequest(authorization=header, client_address="127.0.0.1"))
    finally:
        runtime.services.usage.flush()
        runtime.database.dispose()

    shuffle = secrets.SystemRandom().shuffle
    shuffle(tokens)
    shuffle(keys)
    (out / "tokens.txt").write_text("\n".join(tokens) + "\n")
    (out / "keys.txt").write_text("\n".join(keys) + "\n")
    body = out / "issue-body.json"
    body.write_text(json.dumps({"email": "bench-login@example.test", "password": password}))
    storm = out / "storm-bodies.txt"
    storm.write_text(
        "".join(json.dumps({"email": e, "password": storm_password}) + "\n" for e in storm_emails)
    )
    (out / "admin-key.txt").write_text(admin_key.key_string + "\n")
    for path in (out / "tokens.txt", out / "keys.txt", body, storm, out / "admin-key.txt"):
        path.chmod(0o600)
    print(
        f"seed_tessera: {arguments.pool} agents, tokens and keys in"
        f" {time.monotonic() - started:.0f} s -> {out}",
        file=sys.stderr,
    )


if __name__ == "__main__":
    main()
