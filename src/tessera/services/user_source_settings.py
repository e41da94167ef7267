"""A user source's settings as an admin gives them (the CLI, the admin API, the console): checked
field by field into the row's columns, the client secret sealed, and compared with the stored
source for the audit trail. ``services.user_sources`` stores what this returns.
"""

from collections.abc import Sequence
from dataclasses import dataclass, fields

from tessera.core.errors import REQUIRED, FieldError, FieldErrors
from tessera.core.saml_metadata import MetadataProblem, read_idp_metadata
from tessera.core.secret_keys import SecretKeyRing
from tessera.core.user_sources import (
    MAX_TITLE_LENGTH,
    OfferedTo,
    SourceKind,
    UserSource,
    claim_problem,
    clean_groups,
    issuer_problem,
    seal_client_secret,
)

TOO_LONG = FieldError("too_long", f"This value is too long ({MAX_TITLE_LENGTH} at most).")
#: The column's width.
MAX_CLIENT_ID_LENGTH = 500
CLIENT_ID_TOO_LONG = FieldError(
    "too_long", f"This value is too long ({MAX_CLIENT_ID_LENGTH} at most)."
)
NOT_FOR_KIND = FieldError("not_for_kind", "This setting does not apply to this kind of source.")
NOT_FOR_SAML = FieldError(
    "not_for_saml",
    "SAML asserts no verified e-mail address: a SAML source links people by NameID only.",
)


@dataclass(frozen=True, slots=True)
class SourceSettings:
    """A source's settings; in ``update``, None leaves a value as it is."""

    title: str | None = None
    issuer: str | None = None
    client_id: str | None = None
    #: A new client secret; ``""`` removes it (a public client).
    client_secret: str | None = None
    email_claim: str | None = None
    name_claim: str | None = None
    #: ``""`` turns group mapping off.
    groups_claim: str | None = None
    agent_groups: Sequence[str] | None = None
    admin_groups: Sequence[str] | None = None
    create_unknown: bool | None = None
    link_by_email: bool | None = None
    offered_to: OfferedTo | None = None
    is_enabled: bool | None = None
    display_order: int | None = None
    #: SAML: the IdP's metadata document (its entity id becomes the source's ``issuer``).
    idp_metadata: str | None = None
    #: SAML: where the metadata was fetched from (``""`` forgets it).
    idp_metadata_url: str | None = None
    #: SAML: our entity id at the IdP (the audience); by default our SP metadata's URL.
    sp_entity_id: str | None = None


#: What a new source has unless the operator says otherwise.
DEFAULTS = SourceSettings(
    email_claim="email",
    name_claim="name",
    groups_claim="",
    agent_groups=(),
    admin_groups=(),
    create_unknown=False,
    link_by_email=False,
    offered_to=OfferedTo.AGENTS,
    is_enabled=True,
    display_order=0,
)


#: What a new source must be given, by kind.
REQUIRED_FOR = {
    SourceKind.OIDC: ("title", "issuer", "client_id"),
    SourceKind.SAML: ("title", "idp_metadata"),
}
_OIDC_ONLY = ("issuer", "client_id", "client_secret")
_SAML_ONLY = ("idp_metadata", "idp_metadata_url", "sp_entity_id")


def kind_problems(problems: FieldErrors, kind: SourceKind, settings: SourceSettings) -> None:
    """Settings of the other kind are refused, not silently ignored."""
    other = _OIDC_ONLY if kind is SourceKind.SAML else _SAML_ONLY
    for name in other:
        if getattr(settings, name):
            problems.add((name,), NOT_FOR_KIND)
    if kind is SourceKind.SAML and settings.link_by_email:
        problems.add(("link_by_email",), NOT_FOR_SAML)


def changed_names(current: UserSource, columns: dict[str, object]) -> list[str]:
    """The settings an update changes, by name, for the audit trail (names only: a secret's value
    never goes there). A form that sends every field unchanged changes none."""
    names: set[str] = set()
    for column, value in columns.items():
        if column in ("client_secret_sealed", "secret_key_version"):
            names.add("client_secret")  # sealed anew each time: set, whether or not it differs
            continue
        before = getattr(current, column)
        if before != (tuple(value) if isinstance(value, list) else value):
            names.add(_SETTING_OF_COLUMN.get((current.kind, column), column))
    return sorted(names)


#: Where a setting is kept under another column's name (a SAML source's entity id is the
#: ``client_id``: it is how the IdP knows us).
_SETTING_OF_COLUMN = {(SourceKind.SAML, "client_id"): "sp_entity_id"}


def merged(base: SourceSettings, over: SourceSettings) -> SourceSettings:
    """``base`` with every value ``over`` sets."""
    values = {
        field.name: getattr(over, field.name)
        if getattr(over, field.name) is not None
        else getattr(base, field.name)
        for field in fields(SourceSettings)
    }
    return SourceSettings(**values)


def checked_columns(
    problems: FieldErrors,
    settings: SourceSettings,
    ring: SecretKeyRing,
    current_client_id: str = "",
) -> dict[str, object]:
    """The row's columns for the settings given (None: left out), checked into ``problems``;
    a client secret sealed under ``ring``'s active key, bound to the client_id."""
    columns: dict[str, object] = {}
    if settings.title is not None:
        title = " ".join(settings.title.split())
        if not title:
            problems.add(("title",), REQUIRED)
        elif len(title) > MAX_TITLE_LENGTH:
            problems.add(("title",), TOO_LONG)
        columns["title"] = title
    if settings.issuer is not None:
        issuer = settings.issuer.strip().rstrip("/")
        problem = issuer_problem(issuer) if issuer else REQUIRED
        if problem is not None:
            problems.add(("issuer",), problem)
        columns["issuer"] = issuer
    # The client_id, or SAML's entity id kept in its column (how the provider knows us).
    for name in ("client_id", "sp_entity_id"):
        value = getattr(settings, name)
        if value is not None:
            columns["client_id"] = _identifier(problems, name, value)
    for name in ("email_claim", "name_claim"):
        value = getattr(settings, name)
        if value is not None:
            problem = claim_problem(value.strip())
            if problem is not None:
                problems.add((name,), problem)
            columns[name] = value.strip()
    if settings.groups_claim is not None:
        claim = settings.groups_claim.strip()
        problem = claim_problem(claim) if claim else None
        if problem is not None:
            problems.add(("groups_claim",), problem)
        columns["groups_claim"] = claim or None
    for name in ("agent_groups", "admin_groups"):
        groups = getattr(settings, name)
        if groups is not None:
            columns[name] = list(clean_groups(groups))
    for name in ("create_unknown", "link_by_email", "is_enabled", "display_order"):
        value = getattr(settings, name)
        if value is not None:
            columns[name] = value
    if settings.offered_to is not None:
        columns["offered_to"] = settings.offered_to.value
    if settings.idp_metadata is not None:
        try:
            metadata = read_idp_metadata(settings.idp_metadata.strip())
        except MetadataProblem as problem:
            problems.add(("idp_metadata",), FieldError("invalid_metadata", str(problem)))
        else:
            columns.update(idp_metadata=settings.idp_metadata.strip(), issuer=metadata.entity_id)
    if settings.idp_metadata_url is not None:
        columns["idp_metadata_url"] = settings.idp_metadata_url.strip()[:2000] or None
    if settings.client_secret is not None:
        client_id = str(columns.get("client_id") or current_client_id)
        if settings.client_secret == "":
            columns.update(client_secret_sealed=None, secret_key_version=None)
        else:
            version, sealed = seal_client_secret(ring, client_id, settings.client_secret)
            columns.update(client_secret_sealed=sealed, secret_key_version=version)
    return columns


def _identifier(problems: FieldErrors, name: str, value: str) -> str:
    identifier = value.strip()
    if not identifier:
        problems.add((name,), REQUIRED)
    elif len(identifier) > MAX_CLIENT_ID_LENGTH:
        problems.add((name,), CLIENT_ID_TOO_LONG)
    return identifier
