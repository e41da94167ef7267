"""The guard's route table from a file: TOML (``TESSERA_ROUTES_FILE``) or an OpenAPI document."""

import json
from pathlib import Path

from tessera.core.errors import FieldError, InvalidInput
from tessera.core.routes import RouteTable, parse_route_table, route_table_from_openapi


def load_route_table(path: Path) -> RouteTable:
    """Read and check a TOML route table file.

    Raises:
        InvalidInput: unreadable (``errors.fields.routes_file``) or invalid (every problem).
    """
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeError) as error:
        raise InvalidInput.for_field("routes_file", FieldError("unreadable", str(error))) from None
    return parse_route_table(text, origin=path.name)


def load_openapi_routes(path: Path) -> RouteTable:
    """The route table of an OpenAPI document in JSON (``tessera routes --openapi``)."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeError, ValueError) as error:
        raise InvalidInput.for_field("openapi", FieldError("unreadable", str(error))) from None
    if not isinstance(document, dict):
        raise InvalidInput.for_field("openapi", FieldError("invalid", "Not an OpenAPI document."))
    return route_table_from_openapi(document, origin=path.name)
