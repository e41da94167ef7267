"""The route table compiled: a tree of path segments, walked once per request (no regex).

Each node holds the routes that end there, the routes that end there with ``/**``, its literal
children by segment and one ``{name}`` child. A walk tries, at each segment, the literal child,
then the ``{name}`` child, then a ``**`` route of the node, so the first route found is the
most specific: a literal segment beats ``{name}``, which beats ``**``, compared from the left.
Where the path ends, a route that names the method beats one for ``*``; ``HEAD`` falls back to
``GET``'s route, as the frameworks that answer ``HEAD`` with their ``GET`` handler do.
"""

from dataclasses import dataclass, field
from typing import Generic, TypeVar

R = TypeVar("R")

#: The pattern segment that matches any one segment, whatever its name in braces.
PARAMETER = "{}"
#: The trailing pattern segment that matches the rest of a path (none, one or more segments).
REST = "**"
ANY_METHOD = "*"


@dataclass(slots=True)
class MethodRoutes(Generic[R]):
    """The routes of one pattern, by method."""

    exact: dict[str, R] = field(default_factory=dict)
    any: R | None = None

    def find(self, method: str) -> R | None:
        found = self.exact.get(method)
        if found is None and method == "HEAD":
            found = self.exact.get("GET")
        return found if found is not None else self.any

    def held(self, method: str) -> R | None:
        """The route this pattern already has for exactly ``method`` (``*`` included)."""
        return self.any if method == ANY_METHOD else self.exact.get(method)

    def add(self, method: str, route: R) -> None:
        if method == ANY_METHOD:
            self.any = route
        else:
            self.exact[method] = route


@dataclass(slots=True)
class Node(Generic[R]):
    literals: "dict[str, Node[R]]" = field(default_factory=dict)
    parameter: "Node[R] | None" = None
    here: MethodRoutes[R] | None = None
    rest: MethodRoutes[R] | None = None

    def routes_for(self, pattern: list[str]) -> MethodRoutes[R]:
        """The routes of this pattern (``PARAMETER`` and ``REST`` segments), made if new."""
        node = self
        for index, segment in enumerate(pattern):
            if segment == REST and index == len(pattern) - 1:
                if node.rest is None:
                    node.rest = MethodRoutes()
                return node.rest
            if segment == PARAMETER:
                if node.parameter is None:
                    node.parameter = Node()
                node = node.parameter
            else:
                node = node.literals.setdefault(segment, Node())
        if node.here is None:
            node.here = MethodRoutes()
        return node.here

    def find(self, method: str, segments: list[str]) -> R | None:
        """The most specific route for these segments and method, or None.

        Each node is reached by one way only (it is a tree) and at most once per walk, so a
        walk costs at most the table's size, whatever the path.
        """
        return _walk(self, method, segments, 0)


def _walk(node: Node[R], method: str, segments: list[str], index: int) -> R | None:
    if index == len(segments):
        found = node.here.find(method) if node.here is not None else None
        if found is None and node.rest is not None:
            found = node.rest.find(method)
        return found
    segment = segments[index]
    child = node.literals.get(segment)
    if child is not None:
        found = _walk(child, method, segments, index + 1)
        if found is not None:
            return found
    if node.parameter is not None and segment:
        found = _walk(node.parameter, method, segments, index + 1)
        if found is not None:
            return found
    return node.rest.find(method) if node.rest is not None else None
