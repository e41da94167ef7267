"""The route table: reading it (TOML, OpenAPI), and which route a request gets (ADR 0024)."""

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tessera.core.errors import Forbidden, InvalidInput
from tessera.core.route_paths import AmbiguousPath, path_segments
from tessera.core.routes import Route, RouteTable, parse_route_table, route_table_from_openapi

TABLE = """
[[route]]
method = "GET"
path = "/tickets"
tags = ["tickets.tickets.list"]

[[route]]
method = ["GET", "head"]
path = "/tickets/{id}"
tags = ["tickets.tickets.get"]

[[route]]
method = "DELETE"
path = "/tickets/{id}"
tags = ["tickets.tickets.delete"]

[[route]]
method = "*"
path = "/tickets/{id}/**"
tags = ["tickets.details"]

[[route]]
method = "GET"
path = "/tickets/export"
tags = ["tickets.export"]

[[route]]
method = "*"
path = "/**"
tags = ["everything"]

[[route]]
method = "POST"
path = "/tickets/"
tags = ["tickets.tickets.post"]
"""


def tags(table: RouteTable, method: str, path: str) -> tuple[str, ...] | None:
    route = table.match(method, path)
    return None if route is None else route.tags


@pytest.mark.parametrize(
    ("method", "path", "expected"),
    [
        ("GET", "/tickets", ("tickets.tickets.list",)),
        ("GET", "/tickets?page=2&count=5", ("tickets.tickets.list",)),
        ("get", "/tickets", ("tickets.tickets.list",)),  # methods in any case
        ("GET", "/tickets/12", ("tickets.tickets.get",)),
        ("HEAD", "/tickets/12", ("tickets.tickets.get",)),
        ("DELETE", "/tickets/12", ("tickets.tickets.delete",)),
        ("PUT", "/tickets/12", ("tickets.details",)),  # {id}/** also matches no more segments
        ("PUT", "/tickets", ("everything",)),  # no route for PUT here: the catch-all
        ("GET", "/tickets/export", ("tickets.export",)),  # a literal beats {id}
        ("DELETE", "/tickets/export", ("tickets.tickets.delete",)),  # …for its method only
        ("GET", "/tickets/12/notes/3", ("tickets.details",)),  # {id}/** beats /**
        ("GET", "/tickets/12/", ("tickets.details",)),  # a trailing slash is a segment
        ("POST", "/tickets/", ("tickets.tickets.post",)),
        ("POST", "/tickets", ("everything",)),
        ("GET", "/", ("everything",)),
        ("GET", "/caf%C3%A9", ("everything",)),
        ("HEAD", "/tickets", ("tickets.tickets.list",)),  # HEAD is GET's where none names it
    ],
)
def test_the_most_specific_route_wins(method: str, path: str, expected: tuple[str, ...]) -> None:
    assert tags(parse_route_table(TABLE, origin="t"), method, path) == expected


def test_a_route_says_where_it_was_written() -> None:
    table = parse_route_table(TABLE, origin="routes.toml")

    route = table.match("DELETE", "/tickets/1")

    assert route == Route(
        frozenset({"DELETE"}), "/tickets/{id}", ("tickets.tickets.delete",), "routes.toml route 3"
    )
    assert table.match("PATCH", "/x") == Route(None, "/**", ("everything",), "routes.toml route 6")


def test_literals_compare_with_decoded_segments() -> None:
    table = parse_route_table(
        '[[route]]\nmethod = "GET"\npath = "/café/a b"\ntags = ["t"]', origin="t"
    )

    assert tags(table, "GET", "/caf%C3%A9/a%20b") == ("t",)
    assert tags(table, "GET", "/café/a b") == ("t",)


@pytest.mark.parametrize(
    "path",
    [
        "/tickets%2F12",
        "/tickets%2f12",
        "/a/%2E%2E/b",
        "/a/../b",
        "/a/./b",
        "/a//b",
        "/a\\b",
        "/a%5Cb",
        "/a%00",
        "/a%252F",  # a server that decodes twice would see %2F
        "/%FF",  # not UTF-8
        "tickets",
        "/" + "a/" * 70,
    ],
)
def test_an_ambiguous_path_matches_nothing_and_is_forbidden(path: str) -> None:
    table = RouteTable.of((Route(None, "/**", ("t",), "t"),), default="authenticated")

    with pytest.raises(AmbiguousPath):
        table.match("GET", path)
    with pytest.raises(Forbidden):
        table.tags_for("GET", path)


def test_the_default_decides_what_no_route_names() -> None:
    route = Route(frozenset({"GET"}), "/a", ("a.get",), "t")
    refusing = RouteTable.of((route,))
    lenient = RouteTable.of((route,), default="authenticated")

    assert refusing.tags_for("GET", "/a") == ("a.get",)
    with pytest.raises(Forbidden):
        refusing.tags_for("GET", "/b")
    assert lenient.tags_for("GET", "/b") == ()


def test_an_empty_tag_list_is_any_authenticated_caller() -> None:
    table = parse_route_table('[[route]]\nmethod = "GET"\npath = "/h"\ntags = []', origin="t")

    assert table.tags_for("GET", "/h") == ()


def test_every_problem_is_reported_at_once() -> None:
    text = """
default = "allow"
routes = []

[[route]]
method = ["GET", "*"]
path = "tickets"
tags = "tickets.list"
note = "x"

[[route]]
method = "G ET"
path = "/a/**/b"
tags = ["a-b"]

[[route]]
path = "/a/{id}.json"

[[route]]
method = "GET"
path = "/a/{id}"
tags = []

[[route]]
method = ["POST", "GET"]
path = "/a/{other}"
tags = []

[[route]]
method = "GET"
path = "/a//b/%41/*"
tags = []
"""
    with pytest.raises(InvalidInput) as raised:
        parse_route_table(text, origin="t")

    def error(code: str, message: str) -> dict[str, Any]:
        return {"errors": [{"code": code, "message": message}]}

    required = error("required", "This value should not be blank.")
    assert raised.value.problems.as_json() == {
        "fields": {
            "routes": error("unknown_field", "This field is not expected."),
            "default": error("invalid_choice", 'This value should be "refuse" or "authenticated".'),
            "route": {
                "fields": {
                    "route_0": {
                        "fields": {
                            "note": error("unknown_field", "This field is not expected."),
                            "method": error("invalid_method", "* already means every method."),
                            "path": error("invalid_path", "A path pattern starts with /."),
                            "tags": error("invalid", "This value should be a list."),
                        }
                    },
                    "route_1": {
                        "fields": {
                            "method": error(
                                "invalid_method",
                                "This value is not an HTTP method, a list, or *.",
                            ),
                            "path": error("invalid_path", "** may only end a path pattern."),
                            "tags": error(
                                "invalid_tag",
                                "An endpoint tag is dotted words of letters, digits and"
                                " underscores.",
                            ),
                        }
                    },
                    "route_2": {
                        "fields": {
                            "method": required,
                            "path": error(
                                "invalid_path",
                                "A {name} must be a whole segment, and a name is letters,"
                                " digits and _.",
                            ),
                            "tags": required,
                        }
                    },
                    "route_4": {
                        "fields": {
                            "path": error(
                                "duplicate_route",
                                "Another route has the same method and path pattern.",
                            )
                        }
                    },
                    "route_5": {
                        "fields": {
                            "path": error(
                                "invalid_path", "A path pattern has no empty segment (//)."
                            )
                        }
                    },
                }
            },
        }
    }


def test_a_file_that_is_not_toml_is_one_clear_problem() -> None:
    with pytest.raises(InvalidInput) as raised:
        parse_route_table("[[route]\nmethod=", origin="t")

    [problem] = raised.value.problems.fields["routes"].errors
    assert problem.code == "invalid_toml"
    assert "line 1" in problem.message


OPENAPI: dict[str, Any] = {
    "openapi": "3.1.0",
    "x-tessera-default": "authenticated",
    "paths": {
        "/tickets": {
            "get": {"operationId": "listTickets"},
            "post": {"operationId": "createTicket", "x-tessera-tags": ["tickets.tickets.post"]},
            "parameters": [],
            "summary": "Tickets",
        },
        "/tickets/{ticket_id}": {
            "delete": {"x-tessera-tags": ["tickets.tickets.delete", "tickets.write"]},
        },
    },
}


def test_an_openapi_document_gives_a_route_per_operation() -> None:
    table = route_table_from_openapi(OPENAPI, origin="openapi.json")

    assert table.default == "authenticated"
    assert tags(table, "GET", "/tickets") == ("listTickets",)
    assert tags(table, "POST", "/tickets") == ("tickets.tickets.post",)
    assert tags(table, "DELETE", "/tickets/7") == ("tickets.tickets.delete", "tickets.write")
    assert tags(table, "GET", "/tickets/7") is None
    route = table.match("DELETE", "/tickets/7")
    assert route is not None
    assert route.origin == "openapi.json DELETE /tickets/{ticket_id}"


def test_an_openapi_document_with_problems_names_each() -> None:
    document = {
        "paths": {
            "/a/{id}.json": {"get": {"operationId": "getA"}},
            "/b": {"get": {"summary": "no id, no tags"}, "put": {"operationId": "put-b"}},
            "/c": "nothing",
        },
        "x-tessera-default": "maybe",
    }

    with pytest.raises(InvalidInput) as raised:
        route_table_from_openapi(document, origin="o")

    fields = raised.value.problems.as_json()["fields"]
    assert set(fields) == {"paths", "x-tessera-default"}
    paths = fields["paths"]["fields"]
    assert paths["/a/{id}.json"]["fields"]["get"]["errors"][0]["code"] == "invalid_path"
    assert paths["/b"]["fields"]["get"]["fields"]["x-tessera-tags"]["errors"][0]["code"] == (
        "required"
    )
    assert paths["/b"]["fields"]["put"]["fields"]["operationId"]["errors"][0]["code"] == (
        "invalid_tag"
    )
    assert paths["/c"]["errors"][0]["code"] == "invalid"


def test_a_document_without_paths_is_refused() -> None:
    with pytest.raises(InvalidInput):
        route_table_from_openapi({"openapi": "3.1.0"}, origin="o")


def test_conflicting_routes_built_in_code_are_refused() -> None:
    route = Route(frozenset({"GET"}), "/a/{x}", (), "one")
    same = Route(frozenset({"GET", "PUT"}), "/a/{y}", (), "two")

    with pytest.raises(ValueError, match="conflicting"):
        RouteTable.of((route, same))


# -- precedence, against a reference that compares every candidate -----------------------------

LITERALS = ("a", "b", "c")
METHODS = ("GET", "DELETE", "*")
pattern_segment = st.sampled_from([*LITERALS, "{x}"])
patterns = st.tuples(st.lists(pattern_segment, max_size=3), st.booleans()).map(
    lambda parts: "/" + "/".join([*parts[0], *(["**"] if parts[1] else [])])
)
route_specs = st.lists(st.tuples(st.sampled_from(METHODS), patterns), max_size=12)
request_paths = st.lists(st.sampled_from([*LITERALS, "d"]), max_size=4).map(
    lambda parts: "/" + "/".join(parts)
)
request_methods = st.sampled_from(["GET", "HEAD", "DELETE", "POST"])


def build(specs: list[tuple[str, str]]) -> RouteTable:
    """A table of these routes, the later of two that claim the same request left out."""
    seen: set[tuple[str, tuple[str, ...]]] = set()
    routes = []
    for index, (method, pattern) in enumerate(specs):
        shape = tuple("{}" if s.startswith("{") else s for s in pattern[1:].split("/"))
        if (method, shape) in seen:
            continue
        seen.add((method, shape))
        methods = None if method == "*" else frozenset({method})
        routes.append(Route(methods, pattern, (f"route{index}",), str(index)))
    return RouteTable.of(tuple(routes))


def specificity(route: Route, method: str, path: str) -> tuple[int, ...] | None:
    """How specifically ``route`` names the request (higher is more), None if it does not."""
    if route.methods is None:
        method_rank = 0
    elif method in route.methods:
        method_rank = 2
    elif method == "HEAD" and "GET" in route.methods:
        method_rank = 1
    else:
        return None
    wanted = path_segments(path)
    pattern = route.path[1:].split("/")
    rest = pattern[-1] == "**"
    fixed = pattern[:-1] if rest else pattern
    if len(wanted) < len(fixed) or (not rest and len(wanted) != len(fixed)):
        return None
    ranks = []
    for written, segment in zip(fixed, wanted, strict=False):
        if written.startswith("{") and segment:
            ranks.append(1)
        elif written == segment:
            ranks.append(2)
        else:
            return None
    ranks += [0] * (len(wanted) - len(fixed))
    return (*ranks, 0 if rest else 1, method_rank)


@given(route_specs, request_methods, request_paths)
def test_the_match_is_the_most_specific_candidate(
    specs: list[tuple[str, str]], method: str, path: str
) -> None:
    table = build(specs)
    ranked = [
        (rank, route)
        for route in table.routes
        if (rank := specificity(route, method, path)) is not None
    ]

    expected = max(ranked, key=lambda pair: pair[0])[1] if ranked else None
    assert table.match(method, path) == expected


@given(route_specs, request_methods, request_paths, st.text(max_size=10))
def test_the_query_string_never_matters(
    specs: list[tuple[str, str]], method: str, path: str, query: str
) -> None:
    table = build(specs)

    assert table.match(method, f"{path}?{query}") == table.match(method, path)


@given(route_specs, request_methods, request_paths)
def test_an_escaped_letter_is_the_letter(
    specs: list[tuple[str, str]], method: str, path: str
) -> None:
    table = build(specs)
    escaped = path.replace("a", "%61")

    assert table.match(method, escaped) == table.match(method, path)


@given(
    st.lists(
        st.tuples(
            st.sampled_from(["GET", "DELETE", "PUT", "HEAD"]),
            st.sampled_from(["/tickets", "/tickets/12", "/tickets/export", "/a/..", "/%2F"]),
            st.integers(min_value=0, max_value=300),
        ),
        max_size=30,
    )
)
def test_remembered_answers_are_the_walks_answers(
    requests: list[tuple[str, str, int]],
) -> None:
    # tags_for remembers recent answers (short paths only); asked in any order and again,
    # it answers what a fresh walk of the table answers, refusals included.
    table = parse_route_table(TABLE, origin="t")
    for method, base, padding in requests * 2:
        path = base + "/x" * padding
        try:
            expected: tuple[str, ...] | str = parse_route_table(TABLE, origin="t").tags_for(
                method, path
            )
        except Forbidden:
            expected = "forbidden"
        try:
            answer: tuple[str, ...] | str = table.tags_for(method, path)
        except Forbidden:
            answer = "forbidden"
        assert answer == expected
