"""The Jinja2 environment and the headers every page carries."""

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

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

#: No framing (clickjacking of the consent button), no inline script or style, every asset,
#: request and form only to ourselves. Scripts are small files of /static, progressive
#: enhancement only: every page works without them. The consent page widens ``form-action`` to
#: the app it answers (its form's answer redirects there, and browsers hold redirects after a
#: form to the same rule): ``render(form_targets=…)``.
_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)
PAGE_HEADERS = {
    "Content-Security-Policy": _CSP,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    # Not "no-referrer": under it a browser sends ``Origin: null`` with our own forms, and the
    # forms' origin check (web.pages.csrf) needs the real one. Other origins still get nothing
    # (no URL with a setup code or a state in it leaves the site).
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


def render(
    name: str,
    status: int = 200,
    *,
    form_targets: tuple[str, ...] = (),
    csp: str | None = None,
    **context: Any,
) -> HTMLResponse:
    """``form_targets``: CSP sources a form of this page may lead to besides ourselves;
    ``csp``: a policy of the page's own instead of the site's (no stricter rule is lost:
    the caller writes all of it)."""
    html = _environment.get_template(name).render(**context)
    headers = PAGE_HEADERS
    if form_targets:
        headers = {**PAGE_HEADERS, "Content-Security-Policy": f"{_CSP} {' '.join(form_targets)}"}
    if csp is not None:
        headers = {**PAGE_HEADERS, "Content-Security-Policy": csp}
    return HTMLResponse(html, status_code=status, headers=headers)


def csp_source_of(url: str) -> str:
    """The narrowest CSP source that allows ``url``: its origin, or its scheme for an app's
    own scheme (``com.example.app:/callback``)."""
    parts = urlsplit(url)
    if parts.netloc and parts.scheme in ("http", "https"):
        return f"{parts.scheme}://{parts.netloc}"
    return f"{parts.scheme}:"
