"""``tessera serve --workers 2``: a scrape answered by either worker adds up both (ADR 0036)."""

from pathlib import Path

import httpx

from tests.cli.conftest import Cli, cli_environment
from tests.conftest import SECRET_KEY
from tests.metrics.scrape import samples
from tests.secrets_seen import remember
from tests.served import clean_environment, serving

REQUESTS = 40
ME = frozenset({"route": "/api/v2/me", "method": "GET", "status": "200"}.items())
ALLOWED = frozenset({"outcome": "allowed", "reason": "api_key"}.items())


def test_every_scrape_sums_the_counters_of_every_worker(tmp_path: Path) -> None:
    database = f"sqlite:///{tmp_path}/tessera.db"
    cli = Cli(cli_environment(database))
    assert cli("migrate").exit_code == 0
    cli("people", "add", "ada@example.com", "--name", "Ada", "--admin")
    key = cli.json("keys", "create", "--note", "n", "--agent", "ada@example.com")["key_string"]
    remember(key)
    environment = clean_environment(TESSERA_DATABASE_URL=database, TESSERA_SECRET_KEY=SECRET_KEY)

    with serving("--workers", "2", environment=environment, log=tmp_path / "out") as server:
        for _ in range(REQUESTS):
            # A connection each: the workers take turns accepting them.
            answer = httpx.get(f"{server.url}/api/v2/me", headers={"Authorization": f"key {key}"})
            assert answer.is_success
        scrapes = [samples(httpx.get(f"{server.url}/metrics").text) for _ in range(8)]

    assert [scrape[("tessera_http_request_duration_seconds_count", ME)] for scrape in scrapes] == [
        REQUESTS
    ] * len(scrapes)
    assert [scrape[("tessera_credential_decisions_total", ALLOWED)] for scrape in scrapes] == [
        REQUESTS
    ] * len(scrapes)
