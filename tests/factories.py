"""Real rows through the real services (no mocks), with unique names so tests never collide."""

import secrets
from collections.abc import Sequence

from tessera.core.oauth_clients import AccessTokenFormat, ClientContext, GrantType
from tessera.core.people import Person
from tessera.core.signing_keys import DEFAULT_ALGORITHM, SigningAlgorithm
from tessera.services.api_keys import IssuedApiKey, NewApiKey
from tessera.services.api_tokens import IssuedToken
from tessera.services.container import Services
from tessera.services.oauth_clients import IssuedOAuthClient, NewOAuthClient
from tessera.services.people import NewPerson
from tests.secrets_seen import remember


def unique_email(prefix: str = "agent") -> str:
    return f"{prefix}-{secrets.token_hex(6)}@example.test"


def new_password() -> str:
    password = "pw-" + secrets.token_urlsafe(16)
    remember(password)
    return password


def make_person(
    services: Services,
    *,
    agent: bool = True,
    admin: bool = False,
    password: str | None = None,
    identity_provider: str | None = None,
    name: str = "Test Person",
) -> Person:
    if password is not None:
        remember(password)
    return services.people.add(
        NewPerson(
            email=unique_email("admin" if admin else "agent" if agent else "user"),
            name=name,
            is_agent=agent,
            is_admin=admin,
            password=password,
            identity_provider=identity_provider,
        )
    )


def make_key(
    services: Services,
    person: Person | None,
    *,
    superuser: bool = False,
    admin_api: bool = False,
    tags: str = "*",
) -> IssuedApiKey:
    issued = services.api_keys.create(
        NewApiKey(
            note="test key",
            person_id=person.id if person else None,
            is_superuser=superuser,
            admin_api=admin_api,
            tags=tags,
        )
    )
    remember(issued.code)
    return issued


def make_token(services: Services, person: Person) -> IssuedToken:
    """A token the way a phone gets one: a device-setup code, redeemed."""
    code = services.api_tokens.create_device_setup_code(person)
    remember(code)
    issued = services.api_tokens.redeem_device_setup_code(code, "127.0.0.1")
    remember(issued.code)
    return issued


def key_header(issued: IssuedApiKey) -> dict[str, str]:
    return {"Authorization": f"key {issued.key_string}"}


def token_header(issued: IssuedToken) -> dict[str, str]:
    return {"Authorization": f"token {issued.token_string}"}


def make_oauth_client(
    services: Services,
    *,
    name: str = "Test App",
    redirect_uris: Sequence[str] = ("https://app.example.test/callback",),
    public: bool = False,
    grant: GrantType = GrantType.AUTHORIZATION_CODE,
    context: ClientContext = ClientContext.AGENT,
    enabled: bool = True,
    id_token_alg: SigningAlgorithm = DEFAULT_ALGORITHM,
    post_logout_redirect_uris: Sequence[str] = (),
    allowed_scopes: str = "session",
    access_token_format: AccessTokenFormat = AccessTokenFormat.OPAQUE,
) -> IssuedOAuthClient:
    """A registered OAuth client; its secret (None when public) is remembered as a secret."""
    issued = services.oauth_clients.create(
        NewOAuthClient(
            name=name,
            redirect_uris=redirect_uris,
            context=context,
            allowed_grant_type=grant,
            is_public=public,
            is_enabled=enabled,
            id_token_signed_response_alg=id_token_alg,
            post_logout_redirect_uris=post_logout_redirect_uris,
            allowed_scopes=allowed_scopes,
            access_token_format=access_token_format,
        )
    )
    if issued.secret is not None:
        remember(issued.secret)
    return issued
