"""``tessera routes``: the table as the server compiles it, and why a request is allowed or not."""

import json
from pathlib import Path

import pytest

from tessera.services.container import Services
from tests.cli.conftest import Cli
from tests.factories import make_key, make_person, make_token
from tests.web.guard import write_routes

OPENAPI = {
    "openapi": "3.1.0",
    "paths": {
        "/tickets": {"get": {"operationId": "tickets_list"}},
        "/tickets/{id}": {"delete": {"x-tessera-tags": ["tickets.tickets.delete"]}},
    },
}


@pytest.fixture
def routes(tmp_path: Path) -> Path:
    return write_routes(tmp_path)


def test_show_prints_the_table_most_specific_first(cli: Cli, routes: Path) -> None:
    text = cli("routes", "show", "--routes", str(routes))
    data = cli.json("routes", "show", "--routes", str(routes))

    assert text.exit_code == 0, text.output
    assert (
        "GET     /tickets/{ticket_id}  tickets.tickets.get     routes.toml route 2" in text.stdout
    )
    assert 'A request no route names is refused with 403 forbidden (default = "refuse").' in (
        text.stdout
    )
    assert data["default"] == "refuse"
    assert [(r["methods"], r["path"]) for r in data["routes"]] == [
        (["GET"], "/tickets/{ticket_id}"),  # equally specific routes: in the order written
        (["DELETE"], "/tickets/{ticket_id}"),
        (["GET"], "/tickets"),
        (["POST"], "/tickets"),
    ]


def test_show_reads_the_servers_setting(cli: Cli, routes: Path) -> None:
    result = cli("routes", "show", env={"TESSERA_ROUTES_FILE": str(routes)})

    assert result.exit_code == 0, result.output
    assert f"Route table: {routes}" in result.stdout


def test_show_reads_an_openapi_document(cli: Cli, tmp_path: Path) -> None:
    document = tmp_path / "openapi.json"
    document.write_text(json.dumps(OPENAPI))

    data = cli.json("routes", "show", "--openapi", str(document))

    assert [(r["path"], r["tags"]) for r in data["routes"]] == [
        ("/tickets/{id}", ["tickets.tickets.delete"]),
        ("/tickets", ["tickets_list"]),
    ]


def test_every_problem_of_a_table_is_one_answer(cli: Cli, tmp_path: Path) -> None:
    bad = write_routes(tmp_path, '[[route]]\nmethod = "GET"\npath = "x"\n\n[[route]]\nmethod = 3\n')

    body = cli.json("routes", "show", "--routes", str(bad), exit_code=2)
    text = cli("routes", "show", "--routes", str(bad))

    assert body["code"] == "invalid_input"
    route_fields = body["errors"]["fields"]["route"]["fields"]
    assert set(route_fields["route_0"]["fields"]) == {"path", "tags"}
    assert set(route_fields["route_1"]["fields"]) == {"method", "path", "tags"}
    assert "route.route_0.path: A path pattern starts with /." in text.stderr


def test_without_a_table_the_command_says_how_to_name_one(cli: Cli) -> None:
    body = cli.json("routes", "show", exit_code=2)

    assert body["errors"]["fields"]["routes_file"]["errors"][0]["code"] == "required"


def test_check_names_the_route_the_tags_and_the_patterns(
    cli: Cli, routes: Path, services: Services
) -> None:
    key = make_key(services, make_person(services), tags="tickets.*, -*.delete")

    listed = cli.json(
        "routes",
        "check",
        "GET",
        "/tickets?page=2",
        "--key",
        str(key.key.id),
        "--routes",
        str(routes),
    )
    deleted = cli(
        "routes",
        "check",
        "DELETE",
        "/tickets/12",
        "--key",
        str(key.key.id),
        "--routes",
        str(routes),
    )

    assert listed["route"]["origin"] == "routes.toml route 1"
    assert listed["tag_checks"] == [
        {
            "tag": "tickets.tickets.list",
            "allowed": True,
            "allowed_by": "tickets.*",
            "denied_by": None,
        }
    ]
    assert listed["decision"] == {"allowed": True, "status": 200, "code": None}
    assert deleted.exit_code == 4
    assert "tickets.tickets.delete: allowed by tickets.*, denied by -*.delete" in deleted.stdout
    assert "Refused: 403 forbidden." in deleted.stdout


def test_check_says_why_a_credential_is_refused_whatever_the_request(
    cli: Cli, routes: Path, services: Services
) -> None:
    token = make_token(services, make_person(services))
    services.api_tokens.revoke(token.token.id)

    body = cli.json(
        "routes",
        "check",
        "GET",
        "/tickets",
        "--token",
        str(token.token.id),
        "--routes",
        str(routes),
        exit_code=1,
    )

    assert body["credential"]["refused_because"] == "the token is revoked"
    assert body["decision"] == {"allowed": False, "status": 401, "code": "invalid_api_token"}


def test_check_refuses_what_no_route_names(cli: Cli, routes: Path) -> None:
    result = cli("routes", "check", "PUT", "/tickets/12", "--routes", str(routes))
    ambiguous = cli.json(
        "routes", "check", "GET", "/tickets%2F12", "--routes", str(routes), exit_code=4
    )

    assert result.exit_code == 4
    assert "no route names it, and the table's default refuses" in result.stdout
    assert ambiguous["path_refusal"] == (
        "the path could name different endpoints to different servers"
    )
