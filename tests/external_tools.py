"""Programs outside Python that some tests drive, and what a run does when one is missing.

``scripts/test-tools`` (run by ``scripts/test``) installs them where it can: Debian's packages
when it runs as root with apt-get, the npm packages of package-lock.json when npm is there.
What it could not install it writes, with the reason, to ``.tools/missing-test-tools``.

A test that needs a missing tool is skipped, and the run ends with one loud line per tool
saying why and how to get it; under ``CI=true`` the test fails instead, so that CI never passes
with a part of the suite left out.
"""

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MISSING_FILE = ROOT / ".tools" / "missing-test-tools"


@dataclass(frozen=True, slots=True)
class ExternalTool:
    name: str
    path: Path
    #: How a person gets it when scripts/test-tools could not.
    how_to_get: str

    def present(self) -> bool:
        return self.path.is_file()

    def why_missing(self) -> str:
        """The reason scripts/test-tools recorded for this tool, or the general advice."""
        if MISSING_FILE.is_file():
            for line in MISSING_FILE.read_text(encoding="utf-8").splitlines():
                if line.startswith((f"{self.path}:", f"{self.name}:")):
                    return f"{self.path} is missing ({line.split(':', 1)[1].strip()})"
        return f"{self.path} is missing: {self.how_to_get}"


CHROMIUM = ExternalTool(
    "chromium",
    Path("/usr/bin/chromium"),
    "run ./scripts/test as root (it installs Debian's chromium), or `sudo apt-get install"
    " chromium`; Playwright never downloads a browser",
)
AXE = ExternalTool(
    "node_modules",
    ROOT / "node_modules" / "axe-core" / "axe.min.js",
    "install Node.js and npm, then run ./scripts/test (it runs `npm ci`)",
)
XMLSEC1 = ExternalTool(
    "xmlsec1",
    Path("/usr/bin/xmlsec1"),
    "run ./scripts/test as root (it installs Debian's xmlsec1), or `sudo apt-get install"
    " xmlsec1`; SAML user sources and their test IdP sign and verify with it",
)
NODE = ExternalTool(
    "npm",
    Path(shutil.which("node") or "/usr/bin/node"),
    "run ./scripts/test as root (it installs Debian's npm, which brings nodejs), or `sudo"
    " apt-get install npm`",
)
STRICT_CLIENTS = ExternalTool(
    "tests/strict_client/node_modules",
    ROOT / "tests" / "strict_client" / "node_modules" / "oauth4webapi" / "package.json",
    "install Node.js and npm, then run ./scripts/test-tools (it runs `npm ci` in"
    " tests/strict_client)",
)
IDENTITY_PROVIDER = ExternalTool(
    "tests/identity_providers/node_modules",
    ROOT / "tests" / "identity_providers" / "node_modules" / "oidc-provider" / "package.json",
    "install Node.js and npm, then run ./scripts/test-tools (it runs `npm ci` in"
    " tests/identity_providers)",
)

#: Why each missing tool's tests were skipped this run, in the order first met.
_skipped_because: dict[str, str] = {}


def require(*tools: ExternalTool) -> None:
    """Skip the calling test (fail it under CI=true) unless every tool is present."""
    for tool in tools:
        if tool.present():
            continue
        reason = tool.why_missing()
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason} (CI=true: no test may be skipped)", pytrace=False)
        _skipped_because.setdefault(tool.name, reason)
        pytest.skip(reason)


def report_skipped(terminal: pytest.TerminalReporter) -> None:
    """The loud lines at the end of a run that left tests out for want of a tool."""
    for reason in _skipped_because.values():
        terminal.write_sep("!", f"TESTS SKIPPED: {reason}", red=True, bold=True)
