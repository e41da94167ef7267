# The Django peer, as in the team's shared harness; not type-checked or linted here.
"""Reset the database and seed what the benchmark needs.

- one login user (for DOT's password grant) and one public OAuth application;
- a pool of N users, each with one DOT access token and one DRF token, created
  directly in the database (no HTTP), so validation load spreads over many rows.

Token values go to files, one per line, shuffled, for wrk's round-robin script.
"""

import hashlib
import os
import random
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlencode

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.db import connection, transaction
from django.utils import timezone
from oauth2_provider.models import get_access_token_model, get_application_model
from oauthlib.common import generate_token
from rest_framework.authtoken.models import Token

BATCH = 1000


class Command(BaseCommand):
    help = "Flush the database and seed the benchmark users, application and token pools."

    def add_arguments(self, parser):
        parser.add_argument("--pool", type=int, default=10_000, help="users/tokens in each pool")
        parser.add_argument("--out-dir", required=True, help="folder for the token files")
        parser.add_argument("--username", default="bench")
        parser.add_argument("--client-id", default="bench-client")

    def handle(self, *args, pool, out_dir, username, client_id, **options):
        password = os.environ.get("BENCH_LOGIN_PASSWORD")
        if not password:
            raise SystemExit("set BENCH_LOGIN_PASSWORD (setup.sh does)")
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)

        call_command("flush", interactive=False, verbosity=0)
        User = get_user_model()
        Application = get_application_model()
        AccessToken = get_access_token_model()
        expires = timezone.now() + timedelta(days=365)

        with transaction.atomic():
            login = User.objects.create_user(username=username, password=password)
            app = Application.objects.create(
                name="bench",
                client_id=client_id,
                client_type=Application.CLIENT_PUBLIC,
                authorization_grant_type=Application.GRANT_PASSWORD,
                user=login,
            )
            users = User.objects.bulk_create(
                [User(username=f"pool{i:06d}", password=make_password(None)) for i in range(pool)],
                batch_size=BATCH,
            )
            dot_tokens = [generate_token() for _ in users]
            AccessToken.objects.bulk_create(
                [
                    AccessToken(
                        user=user,
                        application=app,
                        token=value,
                        token_checksum=hashlib.sha256(value.encode()).hexdigest(),
                        expires=expires,
                        scope="read write",
                    )
                    for user, value in zip(users, dot_tokens)
                ],
                batch_size=BATCH,
            )
            drf_tokens = [Token.generate_key() for _ in users]
            Token.objects.bulk_create(
                [Token(user=user, key=key) for user, key in zip(users, drf_tokens)],
                batch_size=BATCH,
            )

        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")

        rng = random.Random()
        for name, values in (("tokens-dot.txt", dot_tokens), ("tokens-drf.txt", drf_tokens)):
            values = list(values)
            rng.shuffle(values)
            (out / name).write_text("\n".join(values) + "\n")
        form = {
            "grant_type": "password",
            "username": username,
            "password": password,
            "client_id": client_id,
            "scope": "read",
        }
        (out / "issue-body.txt").write_text(urlencode(form))
        self.stdout.write(
            f"seeded {pool} pool users with one DOT and one DRF token each, login user "
            f"{username!r} (id {login.pk}), public application {client_id!r}; files in {out}"
        )
