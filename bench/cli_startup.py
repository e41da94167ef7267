"""How long a ``tessera`` command takes to answer, start to exit, next to what it cannot avoid.

Each command runs ``--runs`` times in a fresh process (interleaved with the others, so that a
busy moment of the machine falls on all of them alike); the table shows the minimum and the
median wall time, and the CPU time of the median run. The floor rows are what every Python
command pays here (the interpreter; the command-line library; SQLAlchemy's ORM, which a
command that reads the database needs), measured in the same run. Run on demand:

    .venv/bin/python bench/cli_startup.py [--runs 30] [--people 50]

``tessera people list`` reads a small SQLite database made for the run (``--people`` people),
migrated first, as an operator's would be. The target of issue #12 is 0.3 s for
``tessera --help`` and ``tessera people list``.
"""

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

PYTHON = sys.executable
TESSERA = str(Path(PYTHON).parent / "tessera")
TARGET_SECONDS = 0.3


@dataclass
class Case:
    label: str
    argv: list[str]
    walls: list[float] = field(default_factory=list)
    cpus: list[float] = field(default_factory=list)


def cases() -> list[Case]:
    return [
        Case("python -c pass (floor: the interpreter)", [PYTHON, "-c", "pass"]),
        Case("python -c 'import typer' (floor: the CLI library)", [PYTHON, "-c", "import typer"]),
        Case(
            "python -c 'import sqlalchemy.orm' (floor: the ORM)",
            [PYTHON, "-c", "import sqlalchemy.orm"],
        ),
        Case("tessera --help", [TESSERA, "--help"]),
        Case("tessera people --help", [TESSERA, "people", "--help"]),
        Case("tessera people list", [TESSERA, "people", "list"]),
        Case("tessera keys list", [TESSERA, "keys", "list"]),
        Case("tessera config check", [TESSERA, "config", "check"]),
    ]


def run_once(case: Case, environment: dict[str, str], folder: Path) -> None:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    # Our own interpreter and entry point with fixed arguments: no untrusted input.
    done = subprocess.run(  # noqa: S603
        case.argv, env=environment, cwd=folder, capture_output=True, check=False
    )
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"{case.label} failed: {done.stderr.decode()}")
    case.walls.append(wall)
    case.cpus.append((after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime))


def seed(folder: Path, environment: dict[str, str], people: int) -> None:
    def tessera(*arguments: str) -> None:
        # Fixed arguments, our own entry point.
        subprocess.run(  # noqa: S603
            [TESSERA, *arguments], env=environment, cwd=folder, check=True, capture_output=True
        )

    tessera("migrate")
    for number in range(people):
        tessera(
            "people", "add", f"agent{number}@example.com", "--name", f"Agent {number}", "--agent"
        )
    tessera("keys", "create", "--note", "bench", "--agent", "agent0@example.com")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--people", type=int, default=50)
    options = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="tessera-cli-bench-") as name:
        folder = Path(name)
        environment = {k: v for k, v in os.environ.items() if not k.startswith("TESSERA_")}
        environment["TESSERA_DATABASE_URL"] = f"sqlite:///{folder}/tessera.db"
        environment["TESSERA_SECRET_KEY"] = "bench-cli-startup-secret-key-" + "x" * 16
        seed(folder, environment, options.people)
        measured = cases()
        for case in measured:  # one unmeasured run each: the page cache holds the files
            run_once(case, environment, folder)
            case.walls.clear()
            case.cpus.clear()
        for _ in range(options.runs):
            for case in measured:
                run_once(case, environment, folder)

    print(
        f"{options.runs} runs each, interleaved; PYTHONDONTWRITEBYTECODE="
        f"{os.environ.get('PYTHONDONTWRITEBYTECODE', '(unset)')}"
    )
    print(f"{'command':<58} {'min s':>7} {'median s':>9} {'cpu s':>7}")
    for case in measured:
        median = statistics.median(case.walls)
        cpu = statistics.median(case.cpus)
        mark = ""
        if case.label.startswith("tessera"):
            mark = "  ok" if median < TARGET_SECONDS else "  over 0.3 s"
        print(f"{case.label:<58} {min(case.walls):>7.3f} {median:>9.3f} {cpu:>7.3f}{mark}")


if __name__ == "__main__":
    main()
