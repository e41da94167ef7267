"""Summarise a py-spy ``--format raw --threads`` profile: where the server's CPU time goes.

python3 lib/profile_summary.py var/profile/ours-sqlite.collapsed
"""

import collections
import re
import sys

# (label, regex on one frame "function (path:line)"): inclusive share of samples whose stack
# contains a matching frame. Ordered roughly from the outside in.
CATEGORIES = [
    ("uvicorn/httptools protocol (parse, write)", r"uvicorn/protocols/http"),
    ("Tessera middleware (request id, dated paths)", r"tessera/web/middleware"),
    ("FastAPI dependency solving", r"solve_dependencies"),
    (
        "thread-pool hop (anyio run_sync / to_thread, both sides)",
        r"anyio/(to_thread|_backends/_asyncio).*(run_sync|_report_result|worker)"
        r"|run_in_threadpool",
    ),
    (
        "credential check Authenticator.authenticate",
        r"authenticate \(.*tessera/services/authenticate",
    ),
    ("  of which SQLAlchemy execute (all)", r"sqlalchemy/engine/base.*execute|_execute_context"),
    ("  of which DB driver (sqlite3 / psycopg)", r"sqlite3|psycopg"),
    ("  of which pool checkout/checkin (incl. pre-ping)", r"sqlalchemy/pool"),
    ("  of which HMAC digest / compare", r"hmac|compare_digest|tessera/core/credentials"),
    ("endpoint read_me + envelope", r"read_me|tessera/web/api/me"),
    (
        "FastAPI response validation/serialisation (serialize_response)",
        r"serialize_response|_prepare_response_content|jsonable_encoder",
    ),
    ("pydantic (any)", r"pydantic"),
    ("JSON encoding", r"json/encoder|dumps \(|render \("),
    ("logging", r"/logging/"),
    ("usage recorder (note / flush)", r"tessera/services/usage"),
]


def main(path: str) -> None:
    stacks: list[tuple[list[str], int]] = []
    with open(path, encoding="utf-8", errors="replace") as file:
        for line in file:
            text, _, number = line.rstrip("\n").rpartition(" ")
            if text:
                stacks.append((text.split(";"), int(number)))
    # py-spy counts a thread blocked in Python-level waits (an idle pool thread waiting for
    # work) as active; such samples are not CPU time.
    idle = re.compile(r"^(Condition\.wait|Event\.wait|Queue\.get|wait) \(.*(threading|queue)\.py")
    idle_samples = sum(c for frames, c in stacks if idle.search(frames[-1]))
    stacks = [(frames, c) for frames, c in stacks if not idle.search(frames[-1])]
    print(f"{idle_samples} samples of threads waiting for work left out")
    total = sum(c for _, c in stacks)
    if not total:
        print("no samples")
        return
    print(f"{total} samples (busy; all threads)\n")
    threads: collections.Counter[str] = collections.Counter()
    for frames, count in stacks:
        main_thread = "MainThread" in frames[0] or "main" in frames[0].lower()
        threads["main (event loop)" if main_thread else "worker threads"] += count
    print("| thread | share |\n|---|---:|")
    for name, count in threads.most_common():
        print(f"| {name} | {100 * count / total:.1f} % |")
    print("\n| inclusive | share of samples |\n|---|---:|")
    for label, pattern in CATEGORIES:
        regex = re.compile(pattern)
        hits = sum(c for frames, c in stacks if any(regex.search(f) for f in frames))
        print(f"| {label} | {100 * hits / total:.1f} % |")
    self_time: collections.Counter[str] = collections.Counter()
    inclusive: collections.Counter[str] = collections.Counter()
    for frames, count in stacks:
        self_time[frames[-1]] += count
        for f in set(frames[1:]):
            inclusive[f] += count
    print("\nTop self time:")
    for frame, count in self_time.most_common(15):
        print(f"  {100 * count / total:5.1f} %  {frame}")
    print("\nTop inclusive (excluding the outermost frames):")
    shown = 0
    for frame, count in inclusive.most_common(60):
        if count / total > 0.9:
            continue
        print(f"  {100 * count / total:5.1f} %  {frame}")
        shown += 1
        if shown == 30:
            break


if __name__ == "__main__":
    main(sys.argv[1])
