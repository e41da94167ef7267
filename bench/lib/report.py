"""Turn one suite run (``var/runs/<stamp>/``) into docs/benchmarks.md's section and a chart.

Run by ``run.sh`` at the end of ``--full`` or ``--quick``, with the peers' ``.venv`` (which has
matplotlib; Tessera's own environment does not need it):

    .venv/bin/python lib/report.py var/runs/<stamp> --mode full \\
        --markdown ../docs/benchmarks.md --charts ../docs/benchmarks

Reads ``meta.txt`` (machine, versions, settings), ``raw.tsv`` (one row per measurement) and
``extras.jsonl`` (argon2 cost, memory, revocation delays, the storm's exchanges). Every cell is
the median of the repetitions with their min–max. The section replaces whatever lies between
the two markers in the Markdown file (or goes in before its first dated section), so earlier
dated sections stay below it.
"""

import argparse
import csv
import importlib
import json
import statistics
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

START = "<!-- bench:generated:start -->"
END = "<!-- bench:generated:end -->"
CHART = "throughput.png"


@dataclass(frozen=True, slots=True)
class Figure:
    """One scenario's measurements over the repetitions."""

    peer: str
    db: str
    rps: list[float]
    p50: list[float]
    p99: list[float]
    non2xx: int
    errors: int
    steal: float | None
    connections: str

    @property
    def label(self) -> str:
        return self.peer if self.db == "-" else f"{self.peer} ({self.db})"

    @property
    def median_rps(self) -> float:
        return statistics.median(self.rps)

    @property
    def median_p99(self) -> float:
        return statistics.median(self.p99)

    @property
    def clean(self) -> bool:
        return self.non2xx == 0 and self.errors == 0


@dataclass(frozen=True, slots=True)
class Verdict:
    target: str
    what: str
    measured: str
    goal: str
    passed: bool | None  # None: not measured in this run


def read_figures(raw: Path) -> dict[tuple[str, str], Figure]:
    groups: dict[tuple[str, str], list[dict[str, str]]] = {}
    with raw.open(newline="") as file:
        for row in csv.DictReader(file, delimiter="\t"):
            groups.setdefault((row["peer"], row["db"]), []).append(row)
    figures = {}
    for (peer, db), rows in groups.items():
        steals = [float(r["steal_pct"]) for r in rows if r["steal_pct"] not in ("", "-")]
        figures[peer, db] = Figure(
            peer=peer,
            db=db,
            rps=[float(r["rps"]) for r in rows],
            p50=[float(r["p50_ms"]) for r in rows],
            p99=[float(r["p99_ms"]) for r in rows],
            non2xx=sum(int(r["non2xx"]) for r in rows),
            errors=sum(int(r["socket_errors"]) for r in rows),
            steal=max(steals) if steals else None,
            connections=rows[0]["connections"],
        )
    return figures


def read_extras(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def read_meta(path: Path) -> dict[str, str]:
    meta: dict[str, str] = {}
    for line in path.read_text().splitlines():
        name, _, value = line.partition(":")
        if value:
            meta.setdefault(name.strip(), value.strip())
    return meta


def number(value: float) -> str:
    return f"{value:,.0f}" if value >= 100 else f"{value:,.1f}"


def spread(values: list[float]) -> str:
    median = statistics.median(values)
    if len(values) == 1:
        return number(median)
    return f"{number(median)} ({number(min(values))}–{number(max(values))})"


class Judge:
    """Applies issue #5's targets to one run's figures."""

    def __init__(self, figures: dict[tuple[str, str], Figure], extras: list[dict[str, Any]]):
        self.figures = figures
        self.extras = extras
        self.verdicts: list[Verdict] = []

    def find(self, peer: str, db: str) -> Figure | None:
        return self.figures.get((peer, db))

    def add(self, target: str, what: str, measured: str, goal: str, passed: bool | None) -> None:
        self.verdicts.append(Verdict(target, what, measured, goal, passed))

    def databases(self) -> list[str]:
        return sorted({db for _, db in self.figures if db != "-"})

    def judge(self) -> list[Verdict]:
        for db in self.databases():
            self.warm_path(db)
            self.versus_peer(db)
            self.cold_path(db)
            self.storm(db)
            self.oauth(db)
        self.revocation()
        self.memory()
        return self.verdicts

    def warm_path(self, db: str) -> None:
        bare = self.find("bare-starlette", "-")
        for peer, what in (("ours-w1", "tokens"), ("ours-key-w1", "API keys")):
            ours = self.find(peer, db)
            if bare is None or ours is None:
                continue
            rate = ours.median_rps / bare.median_rps
            tail = ours.median_p99 / bare.median_p99
            self.add(
                "T1",
                f"warm `/me`, {what}, {db}: req/s vs bare Starlette",
                f"{number(ours.median_rps)} vs {number(bare.median_rps)} = {rate:.0%}",
                "≥ 80 %",
                rate >= 0.8 and ours.clean,
            )
            self.add(
                "T1",
                f"warm `/me`, {what}, {db}: p99 vs bare Starlette",
                f"{ours.median_p99:.1f} vs {bare.median_p99:.1f} ms = {tail:.2f}×",
                "≤ 1.5×",
                tail <= 1.5 and ours.clean,
            )

    def versus_peer(self, db: str) -> None:
        ours = self.find("ours-w1", db)
        peers = [f for f in (self.find(p, db) for p in ("dot-gunicorn-w1", "dot-gunicorn-w2")) if f]
        if ours is None or not peers:
            return
        best = max(peers, key=lambda f: f.median_rps)
        ratio = ours.median_rps / best.median_rps
        self.add(
            "T3",
            f"warm `/me`, tokens, {db}: vs DRF + DOT (its best: {best.peer})",
            f"{number(ours.median_rps)} vs {number(best.median_rps)} = {ratio:.1f}×",
            "≥ 20×",
            ratio >= 20 and ours.clean,
        )

    def cold_path(self, db: str) -> None:
        small, large = self.find("ours-cold-small", db), self.find("ours-cold-large", db)
        if large is not None:
            self.add(
                "T2",
                f"cold `/me` (every token new to the process), {db}, large pool",
                f"{number(large.median_rps)} req/s",
                "≥ 3,000 req/s",
                large.median_rps >= 3000 and large.clean,
            )
        if small is not None and large is not None:
            ratio = large.median_rps / small.median_rps
            self.add(
                "T2",
                f"cold `/me`, {db}: large pool vs small pool",
                f"{number(large.median_rps)} vs {number(small.median_rps)} = {ratio:.0%}",
                "≥ 80 % (within 20 %)",
                ratio >= 0.8 and large.clean and small.clean,
            )

    def storm(self, db: str) -> None:
        alone = self.find("ours-storm-w1:me-alone", db)
        under = self.find("ours-storm-w1:me-under-storm", db)
        if alone is None or under is None:
            return
        kept = under.median_rps / alone.median_rps
        self.add(
            "T4",
            f"`/me` during a login storm, {db}: throughput kept",
            f"{number(under.median_rps)} of {number(alone.median_rps)} = {kept:.0%}",
            "≥ 50 %",
            kept >= 0.5 and under.clean,
        )
        self.add(
            "T4",
            f"`/me` during a login storm, {db}: p99",
            f"{under.median_p99:.1f} ms",
            "< 20 ms",
            under.median_p99 < 20 and under.clean,
        )
        issued = [
            (e["result"]["requests"] - e["result"]["non2xx"]) / e["result"]["duration_s"]
            for e in self.extras
            if e["kind"] == "storm-exchange" and e["db"] == db
        ]
        limit = self.argon2_limit()
        if issued:
            goal = "reported (no target)" if limit is None else f"argon2 limit {limit:.1f}/s"
            share = "" if limit is None else f" = {statistics.median(issued) / limit:.0%}"
            self.add(
                "T4",
                f"token exchanges issued during the storm, {db}",
                f"{spread(issued)}/s{share}",
                goal,
                None,
            )

    def argon2_limit(self) -> float | None:
        for extra in self.extras:
            if extra["kind"] == "argon2":
                return float(extra["cores"]) / float(extra["seconds_per_hash"])
        return None

    def oauth(self, db: str) -> None:
        for peer, what in (("ours-oauth-code", "code exchange"), ("ours-oauth-refresh", "refresh")):
            figure = self.find(peer, db)
            if figure is None:
                continue
            self.add(
                "T5",
                f"OAuth {what} (`POST /oauth/token`), {db}",
                f"{number(figure.median_rps)} grants/s",
                "≥ 300/s",
                figure.median_rps >= 300 and figure.clean,
            )

    def revocation(self) -> None:
        for extra in self.extras:
            if extra["kind"] != "revocation":
                continue
            result = extra["result"]
            self.add(
                "T6",
                f"change seen by the other process, {extra['db']} ({result['changes']} changes)",
                f"p50 {result['p50_ms']:.1f} ms, p99 {result['p99_ms']:.1f} ms,"
                f" max {result['max_ms']:.1f} ms",
                "p99 ≤ 1,000 ms",
                result["p99_ms"] <= 1000 and result["not_seen_within_wait"] == 0,
            )
            self.add(
                "T6",
                f"change seen at once by the process that made it, {extra['db']}",
                f"{result['origin_refused_at_once']} of {result['changes']}",
                "all",
                result["origin_refused_at_once"] == result["changes"],
            )

    def memory(self) -> None:
        samples = [e for e in self.extras if e["kind"] == "memory"]
        if not samples:
            return
        after = [e["rss_after_kb"] / 1024 for e in samples]
        before = [e["rss_before_kb"] / 1024 for e in samples]
        self.add(
            "T7",
            f"RSS per worker after {samples[0]['credentials']:,} different credentials",
            f"{spread(after)} MiB (at start {spread(before)} MiB)",
            "< 150 MiB",
            statistics.median(after) < 150,
        )


def verdict_cell(passed: bool | None) -> str:
    return {True: "**pass**", False: "**FAIL**", None: "–"}[passed]


def figures_table(figures: dict[tuple[str, str], Figure]) -> list[str]:
    lines = [
        "| scenario | conns | req/s median (min–max) | p50 ms | p99 ms median (min–max)"
        " | non-2xx | socket errors | steal % max |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for figure in figures.values():
        steal = "–" if figure.steal is None else f"{figure.steal:.1f}"
        p99 = " ".join(f"{v:.1f}" for v in (figure.median_p99,))
        if len(figure.p99) > 1:
            p99 += f" ({min(figure.p99):.1f}–{max(figure.p99):.1f})"
        lines.append(
            f"| {figure.label} | {figure.connections} | {spread(figure.rps)}"
            f" | {statistics.median(figure.p50):.1f} | {p99} | {figure.non2xx}"
            f" | {figure.errors} | {steal} |"
        )
    return lines


def section(
    run: Path,
    mode: str,
    meta: dict[str, str],
    figures: dict[tuple[str, str], Figure],
    verdicts: list[Verdict],
    chart: str,
) -> str:
    passed = sum(v.passed is True for v in verdicts)
    judged = sum(v.passed is not None for v in verdicts)
    notice = (
        "**A `--quick` run**: short measurements on a shared machine, to check the pipeline;"
        " these figures are not the final ones."
        if mode == "quick"
        else "A `--full` run."
    )
    lines = [
        START,
        "<!-- Written by bench/lib/report.py from one run of bench/run.sh; edits here are lost."
        " -->",
        f"## {meta.get('date (UTC)', '?')} UTC — issue #5 targets, `bench/run.sh --{mode}`",
        "",
        f"{notice} {passed} of {judged} targets met. Raw data: `bench/{run}/` (not committed).",
        "",
        "**Machine**: "
        + "; ".join(
            f"{name} {meta[name]}"
            for name in (
                "cpu",
                "kernel",
                "python",
                "wrk",
                "postgres",
                "pinning",
                "busy",
                "busy at end",
            )
            if name in meta
        ),
        "",
        "**Versions**: "
        + "; ".join(meta[name] for name in ("measured", "tessera", "packages") if name in meta),
        "",
        "**Settings**: "
        + "; ".join(
            f"{name} {meta[name]}"
            for name in ("load", "cold path", "oauth", "storm", "revocation", "steal", "duration")
            if name in meta
        ),
        "",
        "| target | what | measured (median, min–max) | goal | result |",
        "|---|---|---|---|---|",
    ]
    lines += [
        f"| {v.target} | {v.what} | {v.measured} | {v.goal} | {verdict_cell(v.passed)} |"
        for v in verdicts
    ]
    lines += [
        "",
        f"![Throughput and p99 latency per scenario](benchmarks/{chart})",
        "",
        "Every scenario of the run:",
        "",
        *figures_table(figures),
        "",
        END,
    ]
    return "\n".join(lines) + "\n"


def draw(figures: dict[tuple[str, str], Figure], path: Path) -> None:
    matplotlib: Any = importlib.import_module("matplotlib")
    matplotlib.use("Agg")
    pyplot: Any = importlib.import_module("matplotlib.pyplot")
    shown = list(figures.values())
    labels = [f.label for f in shown]
    height = max(3.0, 0.38 * len(shown) + 1.2)
    chart, (left, right) = pyplot.subplots(1, 2, figsize=(12, height), sharey=True)
    rows = list(range(len(shown)))

    def bars(axis: Any, values: Callable[[Figure], list[float]], title: str, colour: str) -> None:
        medians = [statistics.median(values(f)) for f in shown]
        low = [m - min(values(f)) for m, f in zip(medians, shown, strict=True)]
        high = [max(values(f)) - m for m, f in zip(medians, shown, strict=True)]
        axis.barh(rows, medians, xerr=[low, high], color=colour, capsize=3)
        axis.set_xscale("log")
        axis.set_title(title)
        axis.grid(axis="x", which="both", alpha=0.3)

    bars(left, lambda f: f.rps, "requests per second (median, min–max; log)", "#3b7dd8")
    bars(right, lambda f: f.p99, "p99 latency, ms (median, min–max; log)", "#d8703b")
    left.set_yticks(rows)
    left.set_yticklabels(labels)
    left.invert_yaxis()
    chart.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    chart.savefig(path, dpi=110)
    pyplot.close(chart)


def splice(markdown: Path, generated: str) -> None:
    text = markdown.read_text() if markdown.exists() else "# Benchmarks\n\n"
    if START in text and END in text:
        before, rest = text.split(START, 1)
        after = rest.split(END, 1)[1].lstrip("\n")
        text = before + generated + "\n" + after
    else:
        first_dated = text.find("\n## ")
        cut = len(text) if first_dated < 0 else first_dated + 1
        text = text[:cut] + generated + "\n" + text[cut:]
    markdown.write_text(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path)
    parser.add_argument("--mode", default="full")
    parser.add_argument("--markdown", type=Path, required=True)
    parser.add_argument("--charts", type=Path, required=True)
    arguments = parser.parse_args()
    run: Path = arguments.run
    figures = read_figures(run / "raw.tsv")
    if not figures:
        raise SystemExit("report: no measurements in this run")
    extras = read_extras(run / "extras.jsonl")
    verdicts = Judge(figures, extras).judge()
    draw(figures, arguments.charts / CHART)
    meta = read_meta(run / "meta.txt")
    splice(arguments.markdown, section(run, arguments.mode, meta, figures, verdicts, CHART))
    print(f"report: {arguments.markdown} and {arguments.charts / CHART}")
    for verdict in verdicts:
        result = verdict_cell(verdict.passed)
        print(f"  {verdict.target} {result:>10}  {verdict.what}: {verdict.measured}")


if __name__ == "__main__":
    main()
