"""A real ``tessera serve`` that guards the test APIs: its route table, its access log.

The access log is how the tests count the calls the guard makes: one line per request that
reached Tessera, read from the process's output (no mock of Tessera anywhere).
"""

import re
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.conftest import SECRET_KEY
from tests.external_tools import ROOT
from tests.served import clean_environment, start, stop, wait_until_serving

#: The example helpdesk's route table, which every guard test asks Tessera about.
HELPDESK_ROUTES = ROOT / "examples" / "helpdesk" / "routes.toml"
#: How long Tessera lets an answer be reused (``Cache-Control: max-age``).
MAX_AGE_SECONDS = 10
#: The tag of the guard's own key, for the revocation stream.
STREAM_TAG = "authz.changes.get"
_DECISION = re.compile(r'"(?:GET|POST|PUT|PATCH|DELETE|HEAD) /authz/ext-authz/')


@dataclass
class TesseraNode:
    url: str
    log: Path
    process: "subprocess.Popen[bytes]"

    def decisions(self) -> int:
        """Requests to the decision endpoint so far (access-log lines)."""
        return len(_DECISION.findall(self.log.read_text(errors="replace")))

    def stop(self) -> None:
        stop(self.process)


@contextmanager
def tessera_node(
    database_url: str, folder: Path, *, routes_toml: str | None = None, **settings: str
) -> Iterator[TesseraNode]:
    """``tessera serve`` with ``routes_toml`` as its route table, and ``settings`` (variables)."""
    routes = folder / "routes.toml"
    routes.write_text(HELPDESK_ROUTES.read_text() if routes_toml is None else routes_toml)
    environment = clean_environment(
        TESSERA_DATABASE_URL=database_url,
        TESSERA_SECRET_KEY=SECRET_KEY,
        TESSERA_AUTO_MIGRATE="true",
        TESSERA_LOG_LEVEL="info",
        TESSERA_ACCESS_LOG="true",
        TESSERA_ROUTES_FILE=str(routes),
        TESSERA_AUTHZ_MAX_AGE_SECONDS=str(MAX_AGE_SECONDS),
        **settings,
    )
    log = folder / "tessera.log"
    process = start(["--port", "0"], environment=environment, log=log)
    try:
        node = TesseraNode(wait_until_serving(process, log), log, process)
        yield node
    finally:
        stop(process)
