"""Turn run.sh's raw.tsv into one Markdown table: the median of the repetitions."""

import csv
import statistics
import sys


def main(path: str) -> None:
    groups: dict[tuple[str, str], list[dict[str, str]]] = {}
    with open(path, newline="") as f:
        for row in csv.DictReader(f, delimiter="\t"):
            groups.setdefault((row["peer"], row["db"]), []).append(row)
    if not groups:
        print("no measurements")
        return
    print(
        "| peer | db | server | workers | conns | req/s (median) | p50 ms | p99 ms "
        "| req/s min–max (n) | spread | non-2xx | socket errors | steal % max |"
    )
    print("|---|---|---|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|")
    for (peer, db), rows in groups.items():
        rps = [float(r["rps"]) for r in rows]
        p50 = statistics.median(float(r["p50_ms"]) for r in rows)
        p99 = statistics.median(float(r["p99_ms"]) for r in rows)
        med = statistics.median(rps)
        spread = (max(rps) - min(rps)) / med * 100 if med else 0.0
        non2xx = sum(int(r["non2xx"]) for r in rows)
        errors = sum(int(r["socket_errors"]) for r in rows)
        steals = [float(r["steal_pct"]) for r in rows if r.get("steal_pct") not in (None, "", "-")]
        steal = f"{max(steals):.1f}" if steals else "-"
        first = rows[0]
        fmt = "{:,.0f}" if med >= 100 else "{:,.1f}"
        print(
            f"| {peer} | {db} | {first['server']} | {first['workers']} | {first['connections']} "
            f"| {fmt.format(med)} | {p50:.2f} | {p99:.2f} "
            f"| {fmt.format(min(rps))}–{fmt.format(max(rps))} ({len(rows)}) "
            f"| {spread:.1f}% | {non2xx} | {errors} | {steal} |"
        )


if __name__ == "__main__":
    main(sys.argv[1])
