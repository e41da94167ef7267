"""The admin pages over plain HTTP: a signed-in browser without JavaScript, as httpx.

Quick checks of what a browser test would take long to show: refusals, CSRF, bad input.
"""

import re
from collections.abc import Iterator
from contextlib import contextmanager
from html import unescape

import httpx

from tessera.core.people import Person
from tessera.services.container import Services
from tests.factories import make_person, new_password
from tests.secrets_seen import remember

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


class Console:
    """One browser's cookies, signed in; ``post`` sends a form with this browser's CSRF token."""

    def __init__(self, http: httpx.Client, person: Person) -> None:
        self.http = http
        self.person = person

    def get(self, path: str) -> httpx.Response:
        return self.http.get(path)

    def csrf(self) -> str:
        match = _CSRF.search(self.http.get("/console").text)
        assert match is not None
        return match[1]

    def post(
        self, path: str, form: dict[str, str] | None = None, *, csrf: bool = True
    ) -> httpx.Response:
        data = dict(form or {})
        if csrf:
            data["csrf_token"] = self.csrf()
        return self.http.post(path, data=data)


def sign_in(http: httpx.Client, email: str, password: str) -> None:
    page = http.get("/login")
    match = _CSRF.search(page.text)
    assert match is not None
    form = {"email": email, "password": password, "csrf_token": match[1], "next": "/console"}
    answer = http.post("/login", data=form)
    assert answer.status_code == 303, answer.text
    remember(*http.cookies.values())


@contextmanager
def console_as(server: str, services: Services, *, admin: bool = True) -> Iterator[Console]:
    """A browser signed in as a new admin (or, with ``admin=False``, a plain agent)."""
    password = new_password()
    person = make_person(services, admin=admin, password=password, name="Console Tester")
    with httpx.Client(base_url=server, timeout=60) as http:
        sign_in(http, person.primary_email, password)
        yield Console(http, person)


def text_of(response: httpx.Response) -> str:
    """The page's text with tags removed and entities decoded, blanks collapsed."""
    # Inline elements join their neighbours' text; every other tag separates words.
    inline_gone = re.sub(r"</?(?:span|code|strong|em|a)\b[^>]*>", "", response.text)
    without_tags = re.sub(r"<[^>]+>", " ", inline_gone)
    return " ".join(unescape(without_tags).split())


def value_of(response: httpx.Response, name: str) -> str | None:
    """What an ``<input name=…>`` holds, or a ``<textarea>``'s text."""
    field = re.search(rf'<input[^>]*name="{name}"[^>]*>', response.text)
    if field is not None:
        value = re.search(r'value="([^"]*)"', field[0])
        return unescape(value[1]) if value else None
    area = re.search(rf'<textarea[^>]*name="{name}"[^>]*>(.*?)</textarea>', response.text, re.S)
    return unescape(area[1]) if area else None
