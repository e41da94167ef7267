"""First run: the one-time link that creates the first admin, on a database of its own."""

import re
from collections.abc import Iterator

import httpx
import pytest

from tessera.app import create_app
from tessera.bootstrap import Runtime, build_runtime
from tests.conftest import fresh_database, settings_for_tests
from tests.factories import make_person, new_password, unique_email
from tests.live import serving
from tests.secrets_seen import remember


@pytest.fixture
def empty_runtime(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runtime]:
    """A runtime on a brand-new database: first run is about a server with nobody in it."""
    with fresh_database(backend, tmp_path_factory.mktemp("first-run")) as url:
        runtime = build_runtime(settings_for_tests(url))
        yield runtime
        runtime.database.dispose()


def _fill(client: httpx.Client, path: str, **fields: str) -> httpx.Response:
    page = client.get(path)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert csrf is not None, page.text
    return client.post(path, data={"csrf_token": csrf[1], **fields})


def test_the_link_creates_the_first_admin_once(empty_runtime: Runtime) -> None:
    code = empty_runtime.services.first_run.new_setup_code()
    assert code is not None
    remember(code)
    password = new_password()
    email = unique_email("first-admin")
    with serving(create_app(runtime=empty_runtime)) as url, httpx.Client(base_url=url) as client:
        created = _fill(
            client,
            f"/setup/{code}",
            name="First Admin",
            email=email,
            password=password,
            password_again=password,
        )
        again = client.get(f"/setup/{code}")
        token = client.post("/api/v2/api_tokens", json={"email": email, "password": password})

    assert created.status_code == 303
    assert again.status_code == 404
    assert token.status_code == 201
    remember(token.json()["data"]["token"])
    admin = empty_runtime.services.people.find(email)
    assert admin.is_admin
    assert admin.is_agent


def test_a_mistake_in_the_form_does_not_burn_the_link(empty_runtime: Runtime) -> None:
    code = empty_runtime.services.first_run.new_setup_code()
    assert code is not None
    remember(code)
    with serving(create_app(runtime=empty_runtime)) as url, httpx.Client(base_url=url) as client:
        short = _fill(
            client,
            f"/setup/{code}",
            name="A",
            email=unique_email(),
            password="x",
            password_again="x",
        )
        differ = _fill(
            client,
            f"/setup/{code}",
            name="A",
            email=unique_email(),
            password="long enough 1",
            password_again="long enough 2",
        )
        still = client.get(f"/setup/{code}")

    assert short.status_code == 400
    assert "password" in short.text
    assert differ.status_code == 400
    assert still.status_code == 200


def test_no_link_once_an_admin_exists(empty_runtime: Runtime) -> None:
    code = empty_runtime.services.first_run.new_setup_code()
    assert code is not None
    remember(code)

    make_person(empty_runtime.services, admin=True)

    assert empty_runtime.services.first_run.new_setup_code() is None
    assert not empty_runtime.services.first_run.is_valid(code)


def test_a_new_link_replaces_the_old_one_and_strangers_get_nothing(empty_runtime: Runtime) -> None:
    first_run = empty_runtime.services.first_run
    old, new = first_run.new_setup_code(), first_run.new_setup_code()
    assert old is not None
    assert new is not None
    remember(old, new)

    assert not first_run.is_valid(old)
    assert first_run.is_valid(new)
    assert not first_run.is_valid("2" * 32)
    assert not first_run.is_valid("x" * 500)
