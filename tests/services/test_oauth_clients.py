"""OAuthClientService as the OAuth endpoints use it: lookups, secrets, validation."""

from tessera.bootstrap import Runtime
from tessera.services.container import Services
from tessera.services.oauth_clients import OAuthClientChanges
from tessera.store.tables import OAuthClientRow
from tests.factories import make_oauth_client
from tests.web.envelopes import (
    UNKNOWN_ID,
)


def test_find_by_client_id(services: Services) -> None:
    client = make_oauth_client(services, enabled=False).client
    wrong_random = client.random_id[:-1] + ("a" if client.random_id[-1] != "a" else "b")

    assert services.oauth_clients.find_by_client_id(client.client_id) == client  # disabled too
    assert services.oauth_clients.find_by_client_id(f"{client.id}_{wrong_random}") is None
    assert services.oauth_clients.find_by_client_id(f"{client.id}_{client.random_id}x") is None
    assert services.oauth_clients.find_by_client_id(f"{UNKNOWN_ID}_{client.random_id}") is None
    assert services.oauth_clients.find_by_client_id(str(client.id)) is None
    assert services.oauth_clients.find_by_client_id(f"0{client.client_id}") is None


def test_check_secret(services: Services) -> None:
    issued = make_oauth_client(services)
    public = make_oauth_client(services, public=True).client
    assert issued.secret is not None

    assert services.oauth_clients.check_secret(issued.client, issued.secret)
    assert not services.oauth_clients.check_secret(issued.client, issued.secret.lower())
    assert not services.oauth_clients.check_secret(issued.client, issued.secret[:-1])
    assert not services.oauth_clients.check_secret(issued.client, "")
    assert not services.oauth_clients.check_secret(public, "")
    assert not services.oauth_clients.check_secret(public, issued.secret)


def test_secrets_are_stored_as_keyed_digests_only(services: Services, runtime: Runtime) -> None:
    issued = make_oauth_client(services)
    assert issued.secret is not None

    with runtime.database.read() as session:
        row = session.get(OAuthClientRow, issued.client.id)
        assert row is not None
        stored = row.secret_digest

    assert stored is not None
    assert issued.secret.encode() not in stored
    assert len(stored) == 32


def test_the_service_validates_like_the_api(services: Services) -> None:
    client = make_oauth_client(services).client

    changed = services.oauth_clients.change(
        client.id, OAuthClientChanges(redirect_uris=["http://[::1]:9000/cb"], is_enabled=False)
    )

    assert changed.redirect_uris == ("http://[::1]:9000/cb",)
    assert (changed.is_enabled, changed.name, changed.random_id) == (
        False,
        "Test App",
        client.random_id,
    )
