"""The route table of a guarded API: which endpoint tags a request needs (issue #13, ADR 0024).

Deskpro's model (shared/spec §4.5): every endpoint has tags, and an API key's patterns say
which tags it may call. A proxy in front of an API Tessera did not write asks Tessera about
each request by method and path; the table names that request's endpoint tags. It is written
as TOML (``parse_route_table``) or read from the API's OpenAPI document
(``route_table_from_openapi``), checked whole (every invalid entry reported at once, in
Deskpro's field-error shape), and compiled once into a tree of segments (``core.route_trie``)
that each request walks without a regular expression.

A path pattern is literal segments, ``{name}`` (one non-empty segment) and a trailing ``**``
(the rest of the path: nothing, one or more segments). The most specific route wins: compared
from the left, a literal segment beats ``{name}``, which beats ``**``; then a route naming the
method beats one for ``*``. Request paths are read by ``core.route_paths`` (decoded, ambiguous
ones refused).
"""

import re
import tomllib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal, get_args

from tessera.core.errors import REQUIRED, FieldError, FieldErrors, Forbidden, InvalidInput
from tessera.core.resources import AudienceRule, resource_uri_problem
from tessera.core.route_paths import AmbiguousPath, path_segments
from tessera.core.route_trie import ANY_METHOD, PARAMETER, REST, Node

__all__ = [
    "AmbiguousPath",
    "Route",
    "RouteDefault",
    "RouteTable",
    "parse_route_table",
    "route_table_from_openapi",
]

#: What a request no route matches gets: refused (403), or let through for any caller who
#: authenticates, with no tag check.
RouteDefault = Literal["refuse", "authenticated"]
_DEFAULTS: tuple[str, ...] = get_args(RouteDefault)

#: RFC 9110 ``token``: what a method name may be.
_METHOD = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
_PARAMETER = re.compile(r"\{[A-Za-z_][A-Za-z0-9_]*\}")
#: An endpoint tag: dotted words, as the patterns of keys can name them (``core.tags``).
_TAG = re.compile(r"[A-Za-z0-9_]+(?:\.[A-Za-z0-9_]+)*")
_OPENAPI_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")

INVALID_METHOD = FieldError("invalid_method", "This value is not an HTTP method, a list, or *.")
INVALID_TAG = FieldError(
    "invalid_tag", "An endpoint tag is dotted words of letters, digits and underscores."
)
UNKNOWN_FIELD = FieldError("unknown_field", "This field is not expected.")
NOT_A_LIST = FieldError("invalid", "This value should be a list.")
DUPLICATE_ROUTE = FieldError(
    "duplicate_route", "Another route has the same method and path pattern."
)
INVALID_DEFAULT = FieldError("invalid_choice", 'This value should be "refuse" or "authenticated".')


@dataclass(frozen=True, slots=True)
class Route:
    #: The methods it applies to, upper case; None: any method (``*``).
    methods: frozenset[str] | None
    #: The pattern as written.
    path: str
    tags: tuple[str, ...]
    #: Where it was written, for explanations: ``routes.toml route 3``.
    origin: str


#: Requests (method and path) whose tags a table remembers, and the longest path remembered:
#: a few megabytes at most, whatever paths a client invents.
_REMEMBERED_PATHS = 10_000
_REMEMBERED_PATH_LENGTH = 256


class RouteTable:
    """Routes compiled for matching; build with ``parse_route_table`` or ``RouteTable.of``."""

    def __init__(
        self,
        default: RouteDefault,
        routes: tuple[Route, ...],
        root: Node[Route],
        audience: AudienceRule = AudienceRule(None, True),
    ):
        self.default: RouteDefault = default
        #: Which OAuth tokens the guarded API takes, by their audience (RFC 8707, ADR 0043):
        #: its ``resource`` URI, and whether tokens asked for without one are taken too.
        self.audience = audience
        self.routes = routes
        self._root = root
        # Busy APIs ask about the same few paths again and again: remember recent answers
        # (bounded; a refused path is walked again, it raises).
        self._tags_of = lru_cache(maxsize=_REMEMBERED_PATHS)(self._tags_for)

    @classmethod
    def of(
        cls,
        routes: tuple[Route, ...] = (),
        default: RouteDefault = "refuse",
        audience: AudienceRule = AudienceRule(None, True),
    ) -> "RouteTable":
        """A table of routes already checked (``ValueError`` if two claim the same request)."""
        problems = FieldErrors()
        root = _compile(routes, problems, lambda index: ("route", f"route_{index}", "path"))
        if problems:
            raise ValueError(f"conflicting routes: {problems.as_json()}")
        return cls(default, routes, root, audience)

    def match(self, method: str, path: str) -> Route | None:
        """The most specific route for this request (a query string is ignored), or None.

        Raises:
            AmbiguousPath: the path could name different endpoints to different servers.
        """
        cut = min((i for i in (path.find("?"), path.find("#")) if i >= 0), default=len(path))
        return self._root.find(method.upper(), path_segments(path[:cut]))

    def tags_for(self, method: str, path: str) -> tuple[str, ...]:
        """The tags a caller needs for this request: the route's, or none by the default.

        Raises:
            Forbidden: no route matches and the default refuses, or the path is ambiguous.
        """
        if len(path) > _REMEMBERED_PATH_LENGTH:  # kept out: the memory bound holds for any path
            return self._tags_for(method, path)
        return self._tags_of(method, path)

    def _tags_for(self, method: str, path: str) -> tuple[str, ...]:
        try:
            route = self.match(method, path)
        except AmbiguousPath:
            raise Forbidden() from None
        if route is not None:
            return route.tags
        if self.default == "authenticated":
            return ()
        raise Forbidden()


def parse_route_table(text: str, *, origin: str) -> RouteTable:
    """Read a TOML route table; every problem in it is reported at once.

    Raises:
        InvalidInput: not TOML, or any entry invalid (``errors.fields.route.route_<n>.<field>``,
            ``n`` counted from 0 as Deskpro counts list items).
    """
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise InvalidInput.for_field("routes", FieldError("invalid_toml", str(error))) from None
    problems = FieldErrors()
    for name in document:
        if name not in ("default", "route", "resource", "accept_unbound_tokens"):
            problems.add((name,), UNKNOWN_FIELD)
    default = _default(document.get("default", "refuse"), ("default",), problems)
    audience = _audience(
        document.get("resource"),
        document.get("accept_unbound_tokens"),
        ("resource",),
        ("accept_unbound_tokens",),
        problems,
    )
    entries = document.get("route", [])
    if not isinstance(entries, list):
        problems.add(("route",), NOT_A_LIST)
        entries = []
    routes: list[Route] = []
    places: list[tuple[str, ...]] = []
    for index, entry in enumerate(entries):
        at = ("route", f"route_{index}")
        route = _route(entry, at, f"{origin} route {index + 1}", problems)
        if route is not None:
            routes.append(route)
            places.append((*at, "path"))
    root = _compile(tuple(routes), problems, lambda index: places[index])
    if problems:
        raise InvalidInput(problems)
    return RouteTable(default, tuple(routes), root, audience)


def route_table_from_openapi(document: Mapping[str, Any], *, origin: str) -> RouteTable:
    """The route table an OpenAPI 3 document describes: one route per operation.

    An operation's tags are its ``x-tessera-tags`` (a list), else its ``operationId``; path
    templates (``{id}``) must be whole segments. ``x-tessera-default`` at the top sets the
    default. Raises ``InvalidInput`` with every problem (``errors.fields.paths.<path>.<method>``).
    """
    problems = FieldErrors()
    default = _default(
        document.get("x-tessera-default", "refuse"), ("x-tessera-default",), problems
    )
    audience = _audience(
        document.get("x-tessera-resource"),
        document.get("x-tessera-accept-unbound-tokens"),
        ("x-tessera-resource",),
        ("x-tessera-accept-unbound-tokens",),
        problems,
    )
    paths = document.get("paths")
    if not isinstance(paths, Mapping):
        problems.add(("paths",), REQUIRED)
        paths = {}
    routes: list[Route] = []
    places: list[tuple[str, ...]] = []
    for path, item in paths.items():
        if not isinstance(item, Mapping):
            problems.add(("paths", str(path)), FieldError("invalid", "This value is not valid."))
            continue
        for method in _OPENAPI_METHODS:
            operation = item.get(method)
            if not isinstance(operation, Mapping):
                continue
            at = ("paths", str(path), method)
            route = _operation_route(str(path), method, operation, at, origin, problems)
            if route is not None:
                routes.append(route)
                places.append(at)
    root = _compile(tuple(routes), problems, lambda index: places[index])
    if problems:
        raise InvalidInput(problems)
    return RouteTable(default, tuple(routes), root, audience)


# -- checking entries --------------------------------------------------------------------------


def _default(value: object, at: tuple[str, ...], problems: FieldErrors) -> RouteDefault:
    if value == "authenticated":
        return "authenticated"
    if value != "refuse":
        problems.add(at, INVALID_DEFAULT)
    return "refuse"


def _audience(
    resource: object,
    accept_unbound: object,
    resource_at: tuple[str, ...],
    unbound_at: tuple[str, ...],
    problems: FieldErrors,
) -> AudienceRule:
    """The API's ``resource`` (an RFC 8707 URI) and whether it takes OAuth tokens asked for
    without one: by default only where it names no resource (then as before, ADR 0043)."""
    uri: str | None = None
    if resource is not None:
        problem = resource_uri_problem(resource) if isinstance(resource, str) else None
        if not isinstance(resource, str) or problem is not None:
            problems.add(resource_at, problem or NOT_A_RESOURCE)
        else:
            uri = resource
    if accept_unbound is None:
        return AudienceRule(uri, uri is None)
    if not isinstance(accept_unbound, bool):
        problems.add(unbound_at, FieldError("invalid", "This value should be true or false."))
        return AudienceRule(uri, uri is None)
    return AudienceRule(uri, accept_unbound)


NOT_A_RESOURCE = FieldError("invalid_resource_uri", "A resource is a URL, as a string.")


def _route(entry: object, at: tuple[str, ...], origin: str, problems: FieldErrors) -> Route | None:
    if not isinstance(entry, dict):
        problems.add(at, FieldError("invalid", "A route is a table: method, path and tags."))
        return None
    for name in entry:
        if name not in ("method", "path", "tags"):
            problems.add((*at, name), UNKNOWN_FIELD)
    before = _count(problems)
    methods = _methods(entry.get("method"), (*at, "method"), problems)
    path = _pattern(entry.get("path"), (*at, "path"), problems)
    tags = _tags(entry.get("tags"), (*at, "tags"), problems)
    if _count(problems) != before or path is None:
        return None
    return Route(methods, path, tags, origin)


def _operation_route(
    path: str,
    method: str,
    operation: Mapping[str, Any],
    at: tuple[str, ...],
    origin: str,
    problems: FieldErrors,
) -> Route | None:
    before = _count(problems)
    pattern = _pattern(path, at, problems)
    if "x-tessera-tags" in operation:
        tags = _tags(operation["x-tessera-tags"], (*at, "x-tessera-tags"), problems)
    elif isinstance(operation.get("operationId"), str):
        tags = _tags([operation["operationId"]], (*at, "operationId"), problems)
    else:
        problems.add((*at, "x-tessera-tags"), REQUIRED)
        tags = ()
    if _count(problems) != before or pattern is None:
        return None
    return Route(frozenset({method.upper()}), pattern, tags, f"{origin} {method.upper()} {path}")


def _methods(value: object, at: tuple[str, ...], problems: FieldErrors) -> frozenset[str] | None:
    if value is None:
        problems.add(at, REQUIRED)
        return None
    names = value if isinstance(value, list) else [value]
    if not names:
        problems.add(at, INVALID_METHOD)
        return None
    if not all(isinstance(name, str) and _METHOD.fullmatch(name) for name in names):
        problems.add(at, INVALID_METHOD)
        return None
    methods = frozenset(str(name).upper() for name in names)
    if ANY_METHOD in methods:
        if len(methods) > 1:
            problems.add(at, FieldError("invalid_method", "* already means every method."))
        return None
    return methods


def _pattern(value: object, at: tuple[str, ...], problems: FieldErrors) -> str | None:
    if not isinstance(value, str) or not value:
        problems.add(at, REQUIRED)
        return None
    problem = _pattern_problem(value)
    if problem is not None:
        problems.add(at, FieldError("invalid_path", problem))
        return None
    return value


def _pattern_problem(pattern: str) -> str | None:
    if not pattern.startswith("/"):
        return "A path pattern starts with /."
    segments = _pattern_segments(pattern)
    for index, segment in enumerate(segments):
        last = index == len(segments) - 1
        if segment == REST:
            if not last:
                return "** may only end a path pattern."
        elif segment == PARAMETER:
            continue
        elif "{" in segment or "}" in segment:
            return "A {name} must be a whole segment, and a name is letters, digits and _."
        elif "*" in segment:
            return "* is not a path pattern; ** at the end matches the rest of a path."
        elif "%" in segment:
            return "Write segments decoded (é, not %C3%A9): requests are decoded to match."
        elif not segment and not last:
            return "A path pattern has no empty segment (//)."
        else:
            try:
                path_segments("/" + segment)
            except AmbiguousPath:
                return "Segments . and .., backslashes and control characters match no request."
    return None


def _pattern_segments(pattern: str) -> list[str]:
    """The pattern's segments, each ``{name}`` as ``PARAMETER``: names do not matter."""
    return [
        PARAMETER if _PARAMETER.fullmatch(segment) else segment
        for segment in pattern[1:].split("/")
    ]


def _tags(value: object, at: tuple[str, ...], problems: FieldErrors) -> tuple[str, ...]:
    if value is None:
        problems.add(at, REQUIRED)
        return ()
    if not isinstance(value, list):
        problems.add(at, NOT_A_LIST)
        return ()
    for tag in value:
        if not isinstance(tag, str) or not _TAG.fullmatch(tag):
            problems.add(at, INVALID_TAG)
            return ()
    return tuple(dict.fromkeys(value))


def _count(problems: FieldErrors) -> int:
    """How many problems are recorded: an entry is kept only if checking it added none."""
    return len(problems.errors) + sum(_count(child) for child in problems.fields.values())


# -- compiling ---------------------------------------------------------------------------------


def _compile(
    routes: tuple[Route, ...], problems: FieldErrors, place: Callable[[int], tuple[str, ...]]
) -> Node[Route]:
    """The routes' tree; a route that claims what an earlier one claims is a problem."""
    root: Node[Route] = Node()
    for index, route in enumerate(routes):
        by_method = root.routes_for(_pattern_segments(route.path))
        if any(by_method.held(method) is not None for method in _claimed(route)):
            problems.add(place(index), DUPLICATE_ROUTE)
            continue
        for method in _claimed(route):
            by_method.add(method, route)
    return root


def _claimed(route: Route) -> Iterator[str]:
    if route.methods is None:
        yield ANY_METHOD
    else:
        yield from sorted(route.methods)
