"""``response_mode=form_post``: the page that carries an authorization response to the app.

OAuth 2.0 Form Post Response Mode §2: the answer's parameters are the hidden fields of a form
the browser posts to the redirect URI at once, by a script (``/static/form_post.js``); without
scripts, the person presses Continue. The page's policy allows exactly that: our stylesheet
and that script, and a form to the app's origin and nowhere else (not even back to us).
"""

from starlette.responses import HTMLResponse

from tessera.oauth.messages import FormPost
from tessera.web.pages.rendering import csp_source_of, render

FORM_POST_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; frame-ancestors 'none'; "
    "base-uri 'none'; form-action {target}"
)


def render_form_post(answer: FormPost) -> HTMLResponse:
    return render(
        "form_post.html",
        csp=FORM_POST_CSP.format(target=csp_source_of(answer.action)),
        action=answer.action,
        fields=answer.fields,
    )
