"""A relying party written in JavaScript, run by Node.js, with the person's part done here.

The script (``*.mjs`` beside this file) prints one JSON object per line: ``{"step": "authorize",
"url": ...}`` asks for the person's part, whose answer (the URL the browser was sent back to)
goes to its stdin; ``{"step": "done", ...}`` is what it received, after every check of its
library passed. It exits 0 only then; otherwise its stderr has the library's complaint.
"""

import json
import os
import queue
import subprocess
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from tests.external_tools import NODE, STRICT_CLIENTS, require
from tests.secrets_seen import remember

HERE = Path(__file__).resolve().parent
#: Each step is one or two local HTTP requests; a loaded two-core machine is slow, not this slow.
STEP_SECONDS = 120


@dataclass(frozen=True, slots=True)
class FlowResult:
    status: int
    #: The last line's object (``{"step": "done", ...}`` when the flow finished).
    result: dict[str, Any]
    stderr: str

    def why(self) -> str:
        return f"exit status {self.status}; stderr:\n{self.stderr}\nlast line: {self.result}"


def _lines_into(stream: IO[str], lines: "queue.Queue[str | None]") -> None:
    for line in stream:
        lines.put(line)
    lines.put(None)


def run_flow(
    script: str, settings: Mapping[str, str], person: Callable[[str], str], *, log: Path
) -> FlowResult:
    """Run ``script`` with ``settings`` in its environment; ``person`` gets the authorization
    URL and returns the callback URL. ``log``: where its stderr is kept."""
    require(NODE, STRICT_CLIENTS)
    environment = {**os.environ, **settings}
    with log.open("w+", encoding="utf-8") as stderr:
        # The node found by tests.external_tools, our own script: no untrusted input.
        process = subprocess.Popen(  # noqa: S603
            [str(NODE.path), str(HERE / script)],
            cwd=HERE,
            env=environment,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
            encoding="utf-8",
        )
        assert process.stdin is not None
        assert process.stdout is not None
        lines: queue.Queue[str | None] = queue.Queue()
        reader = threading.Thread(target=_lines_into, args=(process.stdout, lines), daemon=True)
        reader.start()
        last: dict[str, Any] = {}
        try:
            while (line := lines.get(timeout=STEP_SECONDS)) is not None:
                last = json.loads(line)
                remember(*last.get("secrets", ()))
                if last.get("step") == "authorize":
                    callback = person(last["url"])
                    process.stdin.write(json.dumps({"callback": callback}) + "\n")
                    process.stdin.flush()
            status = process.wait(timeout=STEP_SECONDS)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
            process.stdin.close()
            reader.join(timeout=STEP_SECONDS)
            process.stdout.close()
        stderr.seek(0)
        return FlowResult(status, last, stderr.read())
