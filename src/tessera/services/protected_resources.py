"""The registry of protected resources, and which of them a client may get a token for.

Admins register the resources that accept audience-bound tokens (an MCP server, an API behind
the guard); Tessera's own API is always one and is never registered. ``resolve`` is the rule
of the authorization and device endpoints (RFC 8707 §2): every ``resource`` a client names must
be well-formed and either Tessera's own API or a registered resource that allows the client.
"""

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.orm import Session

from tessera.core.audit import AuditKind, DetailValue
from tessera.core.clock import Clock
from tessera.core.errors import (
    REQUIRED,
    FieldError,
    FieldErrors,
    InvalidInput,
    NotFound,
)
from tessera.core.ids import PersonId
from tessera.core.oauth_clients import parse_client_id
from tessera.core.resources import (
    MAX_RESOURCE_NAME_LENGTH,
    MAX_RESOURCES_PER_REQUEST,
    OWN_RESOURCE_URI,
    RESOURCE_URI_TAKEN,
    InvalidTarget,
    ProtectedResource,
    is_acceptable_indicator,
    resource_uri_problem,
    unique_indicators,
)
from tessera.services.audit import record
from tessera.store import oauth_clients as stored_clients
from tessera.store import protected_resources as stored
from tessera.store.database import Database

UNKNOWN_CLIENT = FieldError("unknown_client", "No OAuth client has this client_id.")


@dataclass(frozen=True, slots=True)
class ResourceChanges:
    """None leaves a value as it is; ``clients``: the client_ids that may ask for the resource
    (``()`` none at all), or ``every_client=True`` to let every client ask."""

    name: str | None = None
    clients: Sequence[str] | None = None
    every_client: bool = False


class ProtectedResourceService:
    def __init__(self, database: Database, clock: Clock, own_uri: str) -> None:
        self._database = database
        self._clock = clock
        #: Tessera's own API as a resource (its public URL).
        self.own_uri = own_uri

    def create(
        self,
        uri: str,
        name: str,
        clients: Sequence[str] | None = None,
        *,
        actor: PersonId | None = None,
    ) -> ProtectedResource:
        """Register a resource; ``clients``: the client_ids that may ask for it (None: all)."""
        problems = FieldErrors()
        uri = uri.strip()
        problem = resource_uri_problem(uri)
        if problem is not None:
            problems.add(("uri",), problem)
        elif uri.rstrip("/") == self.own_uri:
            problems.add(("uri",), OWN_RESOURCE_URI)
        name = _check_name(problems, name)
        with self._database.write() as session:
            client_ids = _client_row_ids(session, problems, clients)
            if not problems and stored.find_by_uri(session, uri) is not None:
                problems.add(("uri",), RESOURCE_URI_TAKEN)
            if problems:
                raise InvalidInput(problems)
            resource = stored.add_resource(
                session, uri=uri, name=name, client_ids=client_ids, now=self._clock.now()
            )
            self._record(session, AuditKind.PROTECTED_RESOURCE_CREATED, resource, actor)
        return resource

    def list(self) -> list[ProtectedResource]:
        with self._database.read() as session:
            return stored.list_resources(session)

    def get(self, resource_id: int) -> ProtectedResource:
        with self._database.read() as session:
            found = stored.get_resource(session, resource_id)
        if found is None:
            raise NotFound()
        return found

    def find(self, uri: str) -> ProtectedResource | None:
        """The registered resource of exactly this URI (RFC 9728 metadata), if any."""
        with self._database.read() as session:
            return stored.find_by_uri(session, uri)

    def update(
        self, resource_id: int, changes: ResourceChanges, *, actor: PersonId | None = None
    ) -> ProtectedResource:
        problems = FieldErrors()
        name = None if changes.name is None else _check_name(problems, changes.name)
        with self._database.write() as session:
            change_clients = changes.every_client or changes.clients is not None
            client_ids = (
                None
                if changes.every_client
                else _client_row_ids(session, problems, changes.clients)
            )
            if problems:
                raise InvalidInput(problems)
            resource = stored.update_resource(
                session,
                resource_id,
                name=name,
                client_ids=client_ids,
                change_clients=change_clients,
                now=self._clock.now(),
            )
            if resource is None:
                raise NotFound()
            self._record(session, AuditKind.PROTECTED_RESOURCE_CHANGED, resource, actor)
        return resource

    def delete(self, resource_id: int, *, actor: PersonId | None = None) -> ProtectedResource:
        """Remove a resource: no new token names it. Tokens already issued keep their audience
        until they expire (refresh them and they are refused: the resource is unknown)."""
        with self._database.write() as session:
            resource = stored.delete_resource(session, resource_id)
            if resource is None:
                raise NotFound()
            self._record(session, AuditKind.PROTECTED_RESOURCE_DELETED, resource, actor)
        return resource

    def _record(
        self,
        session: Session,
        kind: AuditKind,
        resource: ProtectedResource,
        actor: PersonId | None,
    ) -> None:
        detail: dict[str, DetailValue] = {
            "resource_id": resource.id,
            "uri": resource.uri,
            "name": resource.name,
            "clients": (
                None
                if resource.client_ids is None
                else [str(client_id) for client_id in resource.client_ids]
            ),
        }
        record(session, kind, self._clock, actor=actor, detail=detail)


def resolve(
    session: Session, requested: Sequence[str], *, client_row_id: int, own_uri: str
) -> tuple[str, ...] | None:
    """The audience a client asks for with ``resource`` (RFC 8707 §2), checked; None: none
    named. Raise ``InvalidTarget`` for a value that is malformed, unknown, or not allowed to
    this client."""
    values = unique_indicators(requested)
    if not values:
        return None
    if len(values) > MAX_RESOURCES_PER_REQUEST:
        raise InvalidTarget(f"At most {MAX_RESOURCES_PER_REQUEST} resources per request.")
    for value in values:
        if not is_acceptable_indicator(value):
            raise InvalidTarget(
                "A resource must be an absolute URI without a fragment (RFC 8707).", value
            )
    known = stored.find_by_uris(session, [value for value in values if value != own_uri])
    for value in values:
        if value == own_uri:
            continue
        resource = known.get(value)
        if resource is None:
            raise InvalidTarget("This server issues no tokens for that resource.", value)
        if not resource.allows_client(client_row_id):
            raise InvalidTarget("This client may not ask for tokens for that resource.", value)
    return tuple(values)


def _check_name(problems: FieldErrors, name: str) -> str:
    name = name.strip()
    if not name:
        problems.add(("name",), REQUIRED)
    elif len(name) > MAX_RESOURCE_NAME_LENGTH:
        problems.add(
            ("name",),
            FieldError("too_long", f"This value is too long ({MAX_RESOURCE_NAME_LENGTH} at most)."),
        )
    return name


def _client_row_ids(
    session: Session, problems: FieldErrors, clients: Sequence[str] | None
) -> list[int] | None:
    """The row ids of the named clients (``12_abc``, as apps know themselves); None: all."""
    if clients is None:
        return None
    row_ids: list[int] = []
    for index, value in enumerate(clients):
        parsed = parse_client_id(value.strip())
        client = None if parsed is None else stored_clients.get_client(session, parsed[0])
        if client is None or client.client_id != value.strip():
            problems.add(("clients", f"clients_{index}"), UNKNOWN_CLIENT)
            continue
        row_ids.append(client.id)
    return list(dict.fromkeys(row_ids))
