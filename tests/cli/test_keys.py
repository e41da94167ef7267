"""``tessera keys``: a key's secret is printed once, and works; then never again."""

import json
import re
from typing import Any

import pytest

from tessera.bootstrap import Runtime
from tessera.core.errors import InvalidApiKey
from tessera.services.authenticate import PresentedRequest
from tessera.services.container import Services
from tests.cli.conftest import Cli
from tests.factories import make_person
from tests.secrets_seen import remember

KEY_LINE = re.compile(r"^API key: ([0-9]+:TSRK[23456789ABCDGHJKMNPQRSTWXYZ]{32})$", re.MULTILINE)


def authenticate(runtime: Runtime, key_string: str, agent_id: str | None = None) -> int:
    """The id of the person the key acts as, through the real per-request check."""
    request = PresentedRequest(authorization=f"key {key_string}", agent_id_header=agent_id)
    return runtime.services.authenticator.authenticate(request).person.id


def create(cli: Cli, *args: str) -> dict[str, Any]:
    key: dict[str, Any] = cli.json("keys", "create", "--note", "cli test", *args)
    remember(key["key_string"])
    return key


def test_create_prints_a_key_that_authenticates_as_the_agent(cli: Cli, runtime: Runtime) -> None:
    agent = make_person(runtime.services)

    result = cli("keys", "create", "--note", "deploy bot", "--agent", agent.primary_email)

    assert result.exit_code == 0, result.output
    found = KEY_LINE.findall(result.stdout)
    assert len(found) == 1
    remember(found[0])
    assert result.stdout.count(found[0]) == 1
    assert "this is the only time it is shown" in result.stdout
    assert f"agent key, acts as person {agent.id}" in result.stdout
    assert authenticate(runtime, found[0]) == agent.id


def test_a_superuser_key_acts_as_its_default_agent(cli: Cli, runtime: Runtime) -> None:
    default, other = make_person(runtime.services), make_person(runtime.services)

    key = create(cli, "--superuser", "--default-agent", str(default.id), "--admin-api")

    assert key["is_superuser"] is True
    assert key["admin_api"] is True
    assert key["person_id"] == default.id
    assert authenticate(runtime, key["key_string"]) == default.id
    assert authenticate(runtime, key["key_string"], str(other.id)) == other.id


def test_the_secret_is_in_the_creation_json_only(cli: Cli, services: Services) -> None:
    agent = make_person(services)

    created = cli("keys", "create", "--note", "once", "--agent", str(agent.id), "--json")

    assert created.exit_code == 0, created.output
    key = json.loads(created.stdout)
    remember(key["key_string"])
    assert key["key_string"].startswith(f"{key['id']}:")
    assert created.stdout.count(key["key_string"]) == 1
    assert created.stdout.count('"key_string"') == 1
    # Keys are listed oldest first: the new one is on the last page, however many there are.
    pages = cli.json("keys", "list", "--count", "200")["meta"]["pagination"]["total_pages"]
    last_page = cli("keys", "list", "--count", "200", "--page", str(pages), "--json")
    listed = {k["id"]: k for k in json.loads(last_page.stdout)["data"]}
    assert listed[key["id"]]["note"] == "once"
    code = key["key_string"].split(":")[1]
    for later in [
        last_page,
        cli("keys", "show", str(key["id"]), "--json"),
        cli("keys", "show", str(key["id"])),
        cli("keys", "list", "--page", str(pages), "--count", "200"),
    ]:
        assert later.exit_code == 0
        assert code not in later.output
        assert "key_string" not in later.output


@pytest.mark.parametrize("kind", [(), ("--superuser", "--agent", "1")], ids=["neither", "both"])
def test_exactly_one_of_agent_and_superuser(cli: Cli, kind: tuple[str, ...]) -> None:
    text = cli("keys", "create", "--note", "x", *kind)
    body = cli.json("keys", "create", "--note", "x", *kind, exit_code=2)

    assert text.exit_code == 2
    assert "agent: Give exactly one of --agent EMAIL_OR_ID and --superuser." in text.stderr
    assert body["code"] == "invalid_input"
    assert body["errors"]["fields"]["agent"]["errors"][0]["code"] == "one_kind"


def test_invalid_tags_are_refused(cli: Cli, services: Services) -> None:
    agent = make_person(services)

    result = cli("keys", "create", "--note", "x", "--agent", str(agent.id), "--tags", "a b/c")

    assert result.exit_code == 2
    assert "tags: This value is not a list of tag patterns." in result.stderr
    assert result.stdout == ""


def test_a_key_needs_an_active_agent(cli: Cli, services: Services) -> None:
    user = make_person(services, agent=False)

    body = cli.json("keys", "create", "--note", "x", "--agent", user.primary_email, exit_code=2)
    unknown = cli("keys", "create", "--note", "x", "--superuser", "--default-agent", "nobody@x")

    assert body["errors"]["fields"]["person_id"]["errors"][0]["code"] == "not_an_agent"
    assert unknown.exit_code == 2
    assert "default_agent: No person has the e-mail or id 'nobody@x'." in unknown.stderr


def test_regenerate_replaces_the_secret(cli: Cli, runtime: Runtime) -> None:
    agent = make_person(runtime.services)
    old = create(cli, "--agent", str(agent.id))

    result = cli("keys", "regenerate", str(old["id"]))

    assert result.exit_code == 0, result.output
    (new,) = KEY_LINE.findall(result.stdout)
    remember(new)
    assert new.split(":")[0] == str(old["id"])
    assert new != old["key_string"]
    assert authenticate(runtime, new) == agent.id
    with pytest.raises(InvalidApiKey):
        authenticate(runtime, old["key_string"])


def test_revoke_stops_the_key(cli: Cli, runtime: Runtime) -> None:
    key = create(cli, "--agent", str(make_person(runtime.services).id))

    revoked = cli.json("keys", "revoke", str(key["id"]))
    shown = cli("keys", "show", str(key["id"]))

    assert revoked["is_revoked"] is True
    assert revoked["date_revoked"] is not None
    assert "status:      revoked" in shown.stdout
    with pytest.raises(InvalidApiKey):
        authenticate(runtime, key["key_string"])


@pytest.mark.parametrize("command", ["show", "regenerate", "revoke"])
def test_an_unknown_key_is_not_found(cli: Cli, command: str) -> None:
    text = cli("keys", command, str(2**62))
    body = cli.json("keys", command, str(2**62), exit_code=3)

    assert text.exit_code == 3
    assert f"error: no API key has id {2**62}" in text.stderr
    assert body == {
        "status": 404,
        "code": "not_found",
        "message": "The requested resource was not found.",
    }
