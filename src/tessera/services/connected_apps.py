"""The apps a person connected through OAuth, and disconnecting them."""

from tessera.core.clock import Clock
from tessera.core.errors import NotFound
from tessera.core.ids import PersonId
from tessera.core.oauth_clients import parse_client_id
from tessera.core.oauth_grants import ConnectedApp
from tessera.store import oauth as stored
from tessera.store.database import Database


class ConnectedAppsService:
    def __init__(self, database: Database, clock: Clock) -> None:
        self._database = database
        self._clock = clock

    def list_for(self, person_id: PersonId) -> list[ConnectedApp]:
        with self._database.read() as session:
            return stored.connected_apps(session, person_id)

    def disconnect(self, person_id: PersonId, client_id: str) -> ConnectedApp:
        """Revoke every token of this app for this person, at once.

        Raises:
            NotFound: the person has no live connection with such an app.
        """
        parsed = parse_client_id(client_id)
        if parsed is None:
            raise NotFound()
        with self._database.write() as session:
            connected = {app.client_id: app for app in stored.connected_apps(session, person_id)}
            app = connected.get(client_id)
            if app is None:
                raise NotFound()
            stored.disconnect_app(session, person_id, parsed[0], now=self._clock.now())
        return app
