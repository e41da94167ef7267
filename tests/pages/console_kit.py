"""What every console browser test needs: signing in, the accessibility check, screenshots.

``assert_accessible`` runs axe-core (installed from npm by scripts/test-tools, pinned by
package-lock.json) inside the page and fails on any serious or critical violation. It is
evaluated through the DevTools protocol, so the pages' strict CSP (no scripts at all) stays on.

Screenshots: every call saves ``.screenshots/<name>.png`` (ignored by git) so a failing run can
be looked at; ``TESSERA_SCREENSHOTS=1`` also refreshes ``docs/screenshots/<name>.png``, the
pictures the README shows.
"""

import json
import os
from pathlib import Path

from playwright.sync_api import Page, expect

from tests.external_tools import AXE, require
from tests.secrets_seen import remember

ROOT = Path(__file__).resolve().parents[2]
DOC_SCREENSHOTS = ROOT / "docs" / "screenshots"
RUN_SCREENSHOTS = ROOT / ".screenshots"
#: axe's impact levels that fail a test; "minor" and "moderate" are reported by axe only.
FAILING_IMPACTS = {"serious", "critical"}


def assert_accessible(page: Page) -> None:
    """No serious or critical WCAG 2 A/AA (or best-practice) violation on the page as shown."""
    require(AXE)
    page.evaluate(AXE.path.read_text(encoding="utf-8"))
    results = page.evaluate(
        """async () => {
            const outcome = await axe.run(document, {
                runOnly: {type: "tag", values: ["wcag2a", "wcag2aa", "wcag21aa", "best-practice"]},
            });
            return outcome.violations.map((v) => ({
                id: v.id, impact: v.impact, help: v.help,
                targets: v.nodes.map((n) => n.target.join(" ")).slice(0, 5),
            }));
        }"""
    )
    failing = [violation for violation in results if violation["impact"] in FAILING_IMPACTS]
    assert not failing, f"{page.url}: " + json.dumps(failing, indent=2)


def save_screenshot(page: Page, name: str) -> None:
    RUN_SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=RUN_SCREENSHOTS / f"{name}.png", full_page=True)
    if os.environ.get("TESSERA_SCREENSHOTS") == "1":
        DOC_SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=DOC_SCREENSHOTS / f"{name}.png", full_page=True)


def sign_in(page: Page, email: str, password: str) -> None:
    """Fill the login form by its labels, as a screen reader user would find the fields."""
    page.get_by_label("E-mail address").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def open_console(
    page: Page, server: str, email: str, password: str, path: str = "/console"
) -> None:
    """Open a console page signed out, sign in on the way, and land on it."""
    page.goto(server + path)
    sign_in(page, email, password)
    page.wait_for_url(server + path)
    remember(*(cookie.get("value", "") for cookie in page.context.cookies()))
    expect(page.get_by_role("navigation", name="Console")).to_be_visible()
