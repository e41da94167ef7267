"""The Jinja2 environment and the headers every page carries."""

from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from starlette.responses import HTMLResponse

TEMPLATES = Path(__file__).parent / "templates"
STATIC = Path(__file__).parent / "static"

_environment = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(default=True),
    # A missing variable fails loudly (in a test) instead of rendering blank.
    undefined=StrictUndefined,
)

#: No framing (clickjacking of the consent button), no inline script or style, every asset
#: and request only to ourselves. Scripts are small files of /static, progressive enhancement
#: only: every page works without them. (No form-action: the consent form's answer is a
#: redirect to the app, which Chromium would check against it.)
PAGE_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
        "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


def render(name: str, status: int = 200, **context: Any) -> HTMLResponse:
    html = _environment.get_template(name).render(**context)
    return HTMLResponse(html, status_code=status, headers=PAGE_HEADERS)
