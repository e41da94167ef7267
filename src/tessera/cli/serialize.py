"""JSON of people, keys, tokens and pages, with the field names of the web API's models.

``tessera.web.api.models`` (PersonOut, ApiKeyOut, IssuedApiKeyOut, ApiTokenOut) is the reference;
the CLI may not import the web layer, so these small functions mirror it, times included
(ISO 8601 with ``Z``, as pydantic writes them).
"""

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

from tessera.core.oauth_clients import OAuthClient, authorization_endpoint, token_endpoint
from tessera.core.paging import Page
from tessera.core.people import Person
from tessera.core.principals import TokenLifetime
from tessera.core.records import HOLDER_KINDS, ApiKeyInfo, ApiTokenInfo
from tessera.core.site import SiteInfo

if TYPE_CHECKING:  # the services' modules are not needed to print a person (ADR 0022)
    from tessera.services.api_keys import IssuedApiKey
    from tessera.services.oauth_clients import IssuedOAuthClient

T = TypeVar("T")


def iso(moment: datetime | None) -> str | None:
    """ISO 8601 with ``Z`` for UTC, as the web API's JSON writes times."""
    return None if moment is None else moment.isoformat().replace("+00:00", "Z")


def person_json(person: Person) -> dict[str, Any]:
    return {**person.public_fields(), "date_created": iso(person.created_at)}


def key_json(key: ApiKeyInfo) -> dict[str, Any]:
    return {
        "id": key.id,
        "note": key.note,
        "person_id": key.person_id,
        "is_superuser": key.is_superuser,
        "admin_api": key.admin_api,
        "tags": key.tags,
        "date_created": iso(key.created_at),
        "date_regenerated": iso(key.regenerated_at),
        "date_revoked": iso(key.revoked_at),
        "is_revoked": key.revoked_at is not None,
        "date_last_used": iso(key.last_used_at),
        "last_used_address": key.last_used_address,
    }


def issued_key_json(issued: "IssuedApiKey") -> dict[str, Any]:
    """The only JSON that carries ``key_string``: it is stored nowhere and never shown again."""
    return {**key_json(issued.key), "key_string": issued.key_string}


def token_json(token: ApiTokenInfo, lifetime: TokenLifetime) -> dict[str, Any]:
    return {
        "id": token.id,
        "person_id": token.person_id,
        "scope": token.scope,
        "source": token.source.value,
        "date_created": iso(token.created_at),
        "date_expires": iso(
            lifetime.expiry(token.created_at, token.last_used_at, token.expires_at)
        ),
        "date_revoked": iso(token.revoked_at),
        "date_last_used": iso(token.last_used_at),
        "last_used_address": token.last_used_address,
        "app": {
            "kind": HOLDER_KINDS[token.source],
            "name": token.holder,
            "client_id": token.app.client_id if token.app is not None else None,
            "id": token.app.id if token.app is not None else None,
        },
    }


def oauth_client_json(client: OAuthClient, site: SiteInfo) -> dict[str, Any]:
    """As ``tessera.web.api.oauth_clients.OAuthClientOut`` (spec §7.2): never the secret."""
    return {
        "id": client.id,
        "public_id": client.client_id,
        "client_id": client.client_id,
        "name": client.name,
        "context": client.context.value,
        "random_id": client.random_id,
        "redirect_uris": list(client.redirect_uris),
        "post_logout_redirect_uris": list(client.post_logout_redirect_uris),
        "allowed_grant_type": client.allowed_grant_type.value,
        "is_enabled": client.is_enabled,
        "is_public": client.is_public,
        "has_secret": client.has_secret,
        "id_token_signed_response_alg": client.id_token_signed_response_alg.value,
        "allowed_scopes": client.allowed_scopes,
        "token_endpoint_auth_method": client.token_endpoint_auth_method.value,
        "jwks_uri": client.jwks_uri,
        "jwks": None if client.jwks is None else dict(client.jwks),
        "access_token_format": client.access_token_format.value,
        "auth_endpoint": authorization_endpoint(site),
        "token_endpoint": token_endpoint(site),
        "date_created": iso(client.created_at),
    }


def issued_oauth_client_json(issued: "IssuedOAuthClient", site: SiteInfo) -> dict[str, Any]:
    """The only JSON that carries ``secret``: it is stored nowhere and never shown again."""
    return {**oauth_client_json(issued.client, site), "secret": issued.secret}


def page_json(page: Page[T], item: Callable[[T], dict[str, Any]]) -> dict[str, Any]:
    """A list as the web API's envelope has it: the items and Deskpro's pagination."""
    return {
        "data": [item(entry) for entry in page.items],
        "meta": {"pagination": page.pagination()},
    }
