import httpx

from tessera.services.container import Services
from tests.factories import key_header, make_key, make_person


def test_key_identifies_its_agent(api: httpx.Client, services: Services) -> None:
    agent = make_person(services)
    key = make_key(services, agent)

    response = api.get("/api/v2/me", headers=key_header(key))

    assert response.status_code == 200
    assert response.json()["data"]["person_id"] == agent.id
