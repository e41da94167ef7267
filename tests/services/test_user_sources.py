"""User sources on a real database: settings checked and sealed, people resolved by subject,
created just in time or refused, roles from groups, and a disabled source ending access."""

import secrets
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from tessera.bootstrap import Runtime
from tessera.core.audit import AuditFilters
from tessera.core.errors import InvalidInput
from tessera.core.paging import PageRequest
from tessera.core.user_sources import OfferedTo, ProviderIdentity, SourceKind
from tessera.services.container import Services
from tessera.services.user_source_settings import SourceSettings
from tessera.services.user_sources import SignInRefused
from tessera.store.tables import UserSourceRow
from tests.clock import ManualClock
from tests.core.test_saml_metadata import entity as idp_entity
from tests.factories import make_person, make_token, unique_email

ISSUER = "https://login.example.test/realms/staff"


def settings(**overrides: Any) -> SourceSettings:
    made = SourceSettings(
        title="Staff login",
        issuer=ISSUER,
        client_id="tessera-" + secrets.token_hex(4),
    )
    return replace(made, **overrides)


def identity(
    email: str | None = None, *, groups: tuple[str, ...] = (), **over: Any
) -> ProviderIdentity:
    made = ProviderIdentity(
        subject=secrets.token_hex(8),
        email=email if email is not None else unique_email("sso"),
        email_verified=True,
        name="Ada Lovelace",
        groups=groups,
    )
    return replace(made, **over)


def test_the_client_secret_is_sealed_at_rest_and_opens_again(services: Services) -> None:
    secret = secrets.token_urlsafe(24)

    source = services.user_sources.create(settings(client_secret=secret))

    with services.user_sources._database.read() as session:
        stored = session.scalars(select(UserSourceRow)).one().client_secret_sealed
    assert stored is not None
    assert secret.encode() not in stored
    assert services.user_sources.client_secret(source) == secret
    assert secret not in repr(source)


def test_a_new_client_id_keeps_the_secret_resealed_for_it(services: Services) -> None:
    secret = secrets.token_urlsafe(24)
    source = services.user_sources.create(settings(client_secret=secret))

    changed = services.user_sources.update(source.id, SourceSettings(client_id="other-client"))

    assert changed.client_id == "other-client"
    assert services.user_sources.client_secret(changed) == secret


def test_bad_settings_are_refused_per_field(services: Services) -> None:
    with pytest.raises(InvalidInput) as refused:
        services.user_sources.create(
            settings(title=" ", issuer="http://idp.example.test", email_claim="e mail")
        )

    fields = set(refused.value.problems.fields)
    assert {"title", "issuer", "email_claim"} <= fields


def test_an_unknown_person_is_created_just_in_time_and_found_again_by_subject(
    services: Services,
) -> None:
    source = services.user_sources.create(settings(create_unknown=True))
    first = identity()

    created = services.user_sources.resolve(source, first)
    # The provider's address changed: the subject still names the same person.
    again = services.user_sources.resolve(source, identity(subject=first.subject))

    assert again.id == created.id
    assert created.is_agent
    assert not created.is_admin
    assert created.identity_provider == source.identity_provider
    assert not created.has_password
    events = services.audit.list(AuditFilters(), PageRequest(1, 50)).items
    sign_ins = [e for e in events if e.kind == "login.user_source"]
    assert len(sign_ins) == 2
    assert sign_ins[0].detail["subject"] == first.subject
    assert sign_ins[0].detail["source"] == "Staff login"


def test_an_unknown_person_is_refused_when_just_in_time_creation_is_off(
    services: Services,
) -> None:
    source = services.user_sources.create(settings(create_unknown=False))

    with pytest.raises(SignInRefused):
        services.user_sources.resolve(source, identity())

    events = services.audit.list(AuditFilters(), PageRequest(1, 50)).items
    assert [e.kind for e in events] == ["login.user_source_refused", "user_source.created"]


def test_an_existing_address_links_only_when_the_source_allows_and_it_is_verified(
    services: Services,
) -> None:
    person = make_person(services)
    strict = services.user_sources.create(settings(create_unknown=True))
    linking = services.user_sources.create(settings(link_by_email=True))

    with pytest.raises(SignInRefused):
        services.user_sources.resolve(strict, identity(person.primary_email))
    with pytest.raises(SignInRefused):
        services.user_sources.resolve(linking, identity(person.primary_email, email_verified=False))
    linked = services.user_sources.resolve(linking, identity(person.primary_email))

    assert linked.id == person.id
    assert linked.identity_provider == linking.identity_provider


def test_groups_make_agents_and_admins_at_every_sign_in(services: Services) -> None:
    source = services.user_sources.create(
        settings(
            create_unknown=True,
            groups_claim="groups",
            agent_groups=["support"],
            admin_groups=["it-admins"],
            offered_to=OfferedTo.BOTH,
        )
    )
    admin = identity(groups=("it-admins",))
    plain = identity(groups=("sales",))

    made_admin = services.user_sources.resolve(source, admin)
    made_user = services.user_sources.resolve(source, plain)
    demoted = services.user_sources.resolve(
        source, identity(admin.email, subject=admin.subject, groups=("support",))
    )

    assert (made_admin.is_agent, made_admin.is_admin) == (True, True)
    assert (made_user.is_agent, made_user.is_admin) == (False, False)
    assert (demoted.is_agent, demoted.is_admin) == (True, False)


def test_disabling_a_source_ends_its_peoples_tokens_and_sign_ins(services: Services) -> None:
    source = services.user_sources.create(settings(create_unknown=True))
    person = services.user_sources.resolve(source, identity())
    token = make_token(services, person)
    bystander = make_person(services)
    other_token = make_token(services, bystander)

    services.user_sources.update(source.id, SourceSettings(is_enabled=False))

    tokens = {
        t.id: t for t in services.api_tokens.list(PageRequest(1, 50), include_revoked=True).items
    }
    assert tokens[token.token.id].revoked_at is not None
    assert tokens[other_token.token.id].revoked_at is None
    with pytest.raises(SignInRefused):
        services.user_sources.resolve(source, identity())
    kinds = [e.kind for e in services.audit.list(AuditFilters(), PageRequest(1, 50)).items]
    assert "user_source.changed" in kinds


def test_a_change_is_audited_with_the_names_of_what_changed_and_no_value(
    services: Services,
) -> None:
    source = services.user_sources.create(settings(agent_groups=("staff",)))
    saml = services.user_sources.create(saml_settings(), kind=SourceKind.SAML)
    secret = secrets.token_urlsafe(24)

    # As a form sends it: every field, most of them as they were.
    services.user_sources.update(
        source.id,
        settings(
            client_id=source.client_id,
            agent_groups=("staff",),
            is_enabled=False,
            client_secret=secret,
        ),
    )
    services.user_sources.update(saml.id, SourceSettings(sp_entity_id="https://sp.example.test"))

    changes = [
        e.detail
        for e in services.audit.list(AuditFilters(), PageRequest(1, 50)).items
        if e.kind == "user_source.changed"
    ]
    assert sorted((c["fields"] for c in changes), key=str) == [
        ["client_secret", "is_enabled"],
        ["sp_entity_id"],
    ]
    assert secret not in repr(changes)


# -- SAML sources (ADR 0049) ----------------------------------------------------------------


def saml_settings(**overrides: Any) -> SourceSettings:
    return replace(SourceSettings(title="Staff SAML", idp_metadata=idp_entity()), **overrides)


def test_a_saml_source_takes_its_issuer_from_the_metadata_and_defaults_its_entity_id(
    services: Services,
) -> None:
    source = services.user_sources.create(saml_settings(), kind=SourceKind.SAML)

    assert source.kind is SourceKind.SAML
    assert source.issuer == "https://idp.example.test/saml"
    assert source.sp_entity_id.endswith(f"/login/sources/{source.id}/metadata")
    assert not source.has_secret


def test_settings_of_the_other_kind_and_linking_by_email_are_refused_for_saml(
    services: Services,
) -> None:
    with pytest.raises(InvalidInput) as refused:
        services.user_sources.create(
            saml_settings(issuer=ISSUER, link_by_email=True), kind=SourceKind.SAML
        )
    with pytest.raises(InvalidInput) as oidc:
        services.user_sources.create(settings(idp_metadata=idp_entity()))

    fields = refused.value.problems.as_json()["fields"]
    assert fields["issuer"]["errors"][0]["code"] == "not_for_kind"
    assert fields["link_by_email"]["errors"][0]["code"] == "not_for_saml"
    assert oidc.value.problems.as_json()["fields"]["idp_metadata"]["errors"][0]["code"] == (
        "not_for_kind"
    )


def test_an_assertion_signs_in_once_and_is_forgotten_once_it_expired(
    services: Services, runtime: Runtime, clock: ManualClock
) -> None:
    source = services.user_sources.create(saml_settings(), kind=SourceKind.SAML)
    other = services.user_sources.create(saml_settings(), kind=SourceKind.SAML)
    expires = clock.now() + timedelta(minutes=5)

    first = services.user_sources.first_use(source, "_assertion-1", expires)
    again = services.user_sources.first_use(source, "_assertion-1", expires)
    elsewhere = services.user_sources.first_use(other, "_assertion-1", expires)
    kept = runtime.housekeeping.run_round()["saml_assertions"]
    clock.advance(timedelta(minutes=6))
    pruned = runtime.housekeeping.run_round()["saml_assertions"]

    assert (first, again, elsewhere) == (True, False, True)
    assert (kept, pruned) == (0, 2)
