"""schemathesis over the OpenAPI document, against a live server (issue #16 §4).

Every documented operation is called with generated parameters and bodies, as an admin (an
admin API key) so that answers go past the credential check; no answer may be a server error,
and every answer must be one the document lists, with the documented content type and shape.
Bounded: ten examples per operation (about ten seconds in all).
"""

from typing import Any

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import positive_data_acceptance
from schemathesis.core.result import Err

from tessera.services.container import Services
from tests.factories import key_header, make_key, make_person

EXAMPLES_PER_OPERATION = 10
#: Event streams answer for as long as the client listens: tests/web/test_change_stream.py
#: checks this one; called here, each example would wait for the stream to end.
ENDLESS = {"/authz/changes"}


def test_every_operation_answers_as_documented(server: str, services: Services) -> None:
    admin = key_header(make_key(services, make_person(services, admin=True)))
    schema = schemathesis.openapi.from_url(f"{server}/openapi.json")
    failures: list[str] = []
    for found in schema.get_all_operations():
        if isinstance(found, Err):
            failures.append(f"the description does not load: {found.err()}")
            continue
        operation = found.ok()
        if operation.path in ENDLESS:
            continue

        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
            database=None,
        )
        @given(operation.as_strategy())
        def call(case: schemathesis.Case[Any]) -> None:
            # Not "positive data acceptance": the fields' own rules (an address that is one, a
            # redirect URI Tessera accepts, tag patterns) go beyond what JSON Schema says.
            case.call_and_validate(
                base_url=server, headers=admin, excluded_checks=[positive_data_acceptance]
            )

        try:
            call()
        except BaseException as failure:  # noqa: BLE001 - each operation's failures are collected
            failures.append(f"{operation.label}: {str(failure)[:1500]}")

    assert not failures, "\n\n".join(failures)
