"""Server-rendered pages (Jinja2): sign-in and OAuth consent. Independent of ``web.api``.

Pages work without JavaScript, load nothing from the internet, cannot be framed, and every
form is CSRF-protected (a random cookie echoed in a hidden field).
"""
