"""How soon a second server process sees a revocation made through the first (target 6).

Run by ``run.sh`` with two Tessera processes on the same PostgreSQL database; only the HTTP API,
so it measures whatever the servers do (a credential cache with a change feed, or none):

    python revocation.py --origin http://127.0.0.1:8765 --other http://127.0.0.1:8766 \\
        --admin-key var/pool-ours-postgres/admin-key.txt \\
        --subjects var/pool-ours-postgres/revocation.json --out var/runs/.../revocation.json

For each subject in turn, one of three changes (cycling): revoke its API token
(``DELETE /api/v2/api_tokens/{id}``), regenerate its API key (``POST .../regenerate``), or
disable its person (``PUT /api/v2/people/{id}``). Before the change both processes answer
``GET /api/v2/me`` with the credential (200, so a cache would hold it); after the change returns,
the origin must refuse it on the very next request, and the other process is asked again and
again until it refuses too. The delay is from the change's response to the other's first 401.
Standard library only, so it runs under either virtual environment.
"""

import argparse
import http.client
import json
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

KINDS = ("revoke-token", "regenerate-key", "disable-person")


class Server:
    """One keep-alive connection to one server."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        self._host, self._port = parts.hostname or "127.0.0.1", parts.port or 80
        self._connection = http.client.HTTPConnection(self._host, self._port, timeout=10)

    def call(
        self, method: str, path: str, authorization: str, body: dict[str, Any] | None = None
    ) -> int:
        headers = {"Authorization": authorization}
        payload = None
        if body is not None:
            payload = json.dumps(body)
            headers["Content-Type"] = "application/json"
        try:
            self._connection.request(method, path, body=payload, headers=headers)
            response = self._connection.getresponse()
        except (http.client.HTTPException, OSError):
            # A closed keep-alive connection: one more try on a new one.
            self._connection.close()
            self._connection = http.client.HTTPConnection(self._host, self._port, timeout=10)
            self._connection.request(method, path, body=payload, headers=headers)
            response = self._connection.getresponse()
        response.read()
        return response.status


@dataclass
class Outcome:
    kind: str
    seen_after_ms: float | None  # None: still accepted when the wait ran out
    origin_refused_at_once: bool


def change(origin: Server, admin: str, kind: str, subject: dict[str, Any]) -> None:
    if kind == "revoke-token":
        status = origin.call("DELETE", f"/api/v2/api_tokens/{subject['token_id']}", admin)
    elif kind == "regenerate-key":
        status = origin.call("POST", f"/api/v2/api_keys/{subject['key_id']}/regenerate", admin)
    else:
        status = origin.call(
            "PUT", f"/api/v2/people/{subject['person_id']}", admin, {"is_disabled": True}
        )
    if not 200 <= status < 300:
        raise SystemExit(f"revocation: {kind} answered {status}")


def one(
    origin: Server, other: Server, admin: str, kind: str, subject: dict[str, Any], wait_s: float
) -> Outcome:
    credential = (
        f"key {subject['key']}" if kind == "regenerate-key" else f"token {subject['token']}"
    )
    for server in (origin, other):
        status = server.call("GET", "/api/v2/me", credential)
        if status != 200:
            raise SystemExit(f"revocation: a fresh credential answered {status}, not 200")
    change(origin, admin, kind, subject)
    changed_at = time.perf_counter()
    refused_at_once = origin.call("GET", "/api/v2/me", credential) == 401
    while time.perf_counter() - changed_at < wait_s:
        if other.call("GET", "/api/v2/me", credential) == 401:
            return Outcome(kind, (time.perf_counter() - changed_at) * 1000, refused_at_once)
        time.sleep(0.002)
    return Outcome(kind, None, refused_at_once)


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--origin", required=True)
    parser.add_argument("--other", required=True)
    parser.add_argument("--admin-key", type=Path, required=True)
    parser.add_argument("--subjects", type=Path, required=True)
    parser.add_argument("--count", type=int, default=0, help="0: every subject")
    parser.add_argument("--wait", type=float, default=5.0, help="seconds before giving up")
    parser.add_argument("--out", type=Path, required=True)
    arguments = parser.parse_args()

    admin = f"key {arguments.admin_key.read_text().strip()}"
    subjects: list[dict[str, Any]] = json.loads(arguments.subjects.read_text())
    if arguments.count:
        subjects = subjects[: arguments.count]
    origin, other = Server(arguments.origin), Server(arguments.other)
    outcomes = [
        one(origin, other, admin, KINDS[n % len(KINDS)], subject, arguments.wait)
        for n, subject in enumerate(subjects)
    ]
    seen = [o.seen_after_ms for o in outcomes if o.seen_after_ms is not None]
    # A change never seen counts as the whole wait: p99 must not hide it.
    delays = seen + [arguments.wait * 1000] * (len(outcomes) - len(seen))
    result = {
        "changes": len(outcomes),
        "kinds": {k: sum(o.kind == k for o in outcomes) for k in KINDS},
        "p50_ms": statistics.median(delays),
        "p99_ms": percentile(delays, 0.99),
        "max_ms": max(delays),
        "not_seen_within_wait": len(outcomes) - len(seen),
        "wait_s": arguments.wait,
        "origin_refused_at_once": sum(o.origin_refused_at_once for o in outcomes),
    }
    arguments.out.write_text(json.dumps(result, indent=2) + "\n")
    print(
        f"revocation: {result['changes']} changes, seen by the other process after"
        f" p50 {result['p50_ms']:.1f} ms, p99 {result['p99_ms']:.1f} ms,"
        f" max {result['max_ms']:.1f} ms; {result['not_seen_within_wait']} not within"
        f" {arguments.wait:g} s; the origin refused {result['origin_refused_at_once']}"
        f" of {result['changes']} at once",
        file=sys.stderr,
    )


if __name__ == "__main__":
    main()
