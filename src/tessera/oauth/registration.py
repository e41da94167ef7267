"""RFC 7591 registration and RFC 7592 configuration endpoints on Authlib's (ADR 0045).

Authlib's: reading the JSON, the fields' types (``ClientMetadataClaims``), the order of the
steps, RFC 7592's rules for a PUT (``client_id`` required and equal, no registration fields),
the error classes and their JSON. Ours: who may register (``authenticate_token``: an initial
access token, or nobody in ``open`` mode), Tessera's rules for what may be registered
(``core.client_registration``), refusing software statements, the ``client_id`` and secret in
Tessera's formats (made when the row exists), and the registration access token.
"""

from typing import Any
from urllib.parse import unquote, urlsplit

from authlib.oauth2.rfc6750 import InvalidTokenError
from authlib.oauth2.rfc7591 import (
    ClientMetadataClaims,
    InvalidClientMetadataError,
    UnapprovedSoftwareStatementError,
)
from authlib.oauth2.rfc7591 import ClientRegistrationEndpoint as _RegistrationEndpoint
from authlib.oauth2.rfc7591.errors import InvalidRedirectURIError
from authlib.oauth2.rfc7592 import ClientConfigurationEndpoint as _ConfigurationEndpoint

from tessera.core.client_registration import (
    Registration,
    RegistrationMode,
    RegistrationRefused,
    judge_registration,
)
from tessera.core.oauth_clients import ClientOrigin, OAuthClient
from tessera.oauth.models import ClientModel
from tessera.oauth.storage import StorageHost
from tessera.services.client_registration import (
    RegisteredClient,
    delete_registration,
    register_client,
    registration_token_matches,
    replace_registration,
    usable_initial_token,
)
from tessera.services.oauth_clients import client_by_client_id

#: Where the configuration endpoint lives, below the registration endpoint.
REGISTRATION_PATH = "/oauth/register"


class _Claims(ClientMetadataClaims):
    """Authlib's type checks, except for redirect URIs: theirs refuses app schemes
    (``com.example.app:/callback``), ours (ADR 0019) is applied by ``judge_registration``."""

    def validate_redirect_uris(self) -> None:
        uris = self.get("redirect_uris")
        if uris is not None and (
            not isinstance(uris, list) or not all(isinstance(u, str) for u in uris)
        ):
            raise InvalidRedirectURIError("redirect_uris must be a list of strings.")


def _bearer(request: Any) -> str | None:
    scheme, _, value = (request.headers.get("Authorization") or "").partition(" ")
    value = value.strip()
    return value if scheme.lower() == "bearer" and value else None


def _refuse_software_statement(request: Any) -> None:
    if "software_statement" in request.payload.data:
        raise UnapprovedSoftwareStatementError(
            description="This server accepts no software statements."
        )


def _judged(claims: dict[str, Any], request: Any, server: StorageHost) -> dict[str, Any]:
    """Tessera's rules on metadata Authlib type-checked; the judged registration goes on the
    request for ``save_client`` / ``update_client``, the normalised metadata to the answer."""
    config = server.storage.context.config
    try:
        judged = judge_registration(
            claims, allow_insecure_redirects=config.allow_insecure_redirects
        )
    except RegistrationRefused as refused:
        if refused.error == "invalid_redirect_uri":
            raise InvalidRedirectURIError(refused.description) from None
        raise InvalidClientMetadataError(refused.description) from None
    request.registration = judged
    named = {"client_name": judged.name, "redirect_uris": list(judged.redirect_uris)}
    return named | dict(judged.metadata) | _keys(judged.jwks_uri, judged.jwks)


def _keys(jwks_uri: str | None, jwks: Any) -> dict[str, Any]:
    """A private_key_jwt client's keys, as RFC 7591 names them (absent when it has none)."""
    if jwks_uri is not None:
        return {"jwks_uri": jwks_uri}
    return {} if jwks is None else {"jwks": dict(jwks)}


def client_description(client: OAuthClient, issuer: str) -> dict[str, Any]:
    """What RFC 7591 §3.2.1 / RFC 7592 §3 answer about a client (never its secret)."""
    body: dict[str, Any] = {
        "client_id": client.client_id,
        "client_id_issued_at": int(client.created_at.timestamp()),
        "client_name": client.name,
        "redirect_uris": list(client.redirect_uris),
        **dict(client.metadata),
        **_keys(client.jwks_uri, client.jwks),
        "registration_client_uri": f"{issuer}{REGISTRATION_PATH}/{client.client_id}",
    }
    if not client.is_public and not client.private_key_jwt:
        body["client_secret_expires_at"] = 0
    return body


class RegistrationEndpoint(_RegistrationEndpoint):
    server: Any

    def __init__(self, server: StorageHost) -> None:
        super().__init__(server, claims_classes=[_Claims])

    def extract_client_metadata(self, request: Any) -> dict[str, Any]:
        _refuse_software_statement(request)
        return _judged(super().extract_client_metadata(request), request, self.server)

    def get_server_metadata(self) -> dict[str, Any]:
        return {}  # the rules are judge_registration's, not a comparison with the metadata

    def authenticate_token(self, request: Any) -> object:
        """An initial access token an admin made; in ``open`` mode none is needed."""
        storage = self.server.storage
        value = _bearer(request)
        if value is None:
            if storage.context.config.registration is RegistrationMode.OPEN:
                return _NO_TOKEN
            raise InvalidTokenError(
                description="Registering a client needs an initial access token "
                "(Authorization: Bearer), made by an admin."
            )
        token = usable_initial_token(
            storage.session, storage.context.hasher, value, storage.context.clock
        )
        if token is None:
            raise InvalidTokenError(
                description="The initial access token is unknown, expired, used or revoked."
            )
        return token

    def generate_client_info(self, request: Any) -> dict[str, Any]:
        return {}  # made with the row: see generate_client_registration_info

    def save_client(
        self, client_info: dict[str, Any], client_metadata: dict[str, Any], request: Any
    ) -> RegisteredClient:
        storage = self.server.storage
        registration: Registration = request.registration
        token = request.credential
        registered = register_client(
            storage.session,
            storage.context.hasher,
            storage.context.clock,
            registration,
            initial_token=None if token is _NO_TOKEN else token,
        )
        if registered is None:
            raise InvalidTokenError(description="The initial access token was used meanwhile.")
        return registered

    def generate_client_registration_info(
        self, client: RegisteredClient, request: Any
    ) -> dict[str, Any]:
        body = client_description(client.client, self.server.storage.context.issuer)
        body["registration_access_token"] = client.registration_token
        if client.secret is not None:
            body["client_secret"] = client.secret
        return body


_NO_TOKEN = object()


class _RegistrationCredential:
    """A registration access token, as Authlib's configuration endpoint checks it."""

    def __init__(self, client: ClientModel, value: str) -> None:
        self.client = client
        self.value = value

    def check_client(self, client: ClientModel) -> bool:
        return client.client.id == self.client.client.id


class ConfigurationEndpoint(_ConfigurationEndpoint):
    server: Any

    def __init__(self, server: StorageHost) -> None:
        super().__init__(server, claims_classes=[_Claims])

    def extract_client_metadata(self, request: Any) -> dict[str, Any]:
        _refuse_software_statement(request)
        return _judged(super().extract_client_metadata(request), request, self.server)

    def get_server_metadata(self) -> dict[str, Any]:
        return {}

    def authenticate_token(self, request: Any) -> _RegistrationCredential:
        """The registration access token of the client the URL names (RFC 7592 §3)."""
        storage = self.server.storage
        value = _bearer(request)
        client_id = unquote(urlsplit(request.uri).path).rsplit(f"{REGISTRATION_PATH}/", 1)[-1]
        found = client_by_client_id(storage.session, client_id)
        if (
            value is None
            or found is None
            or found.client.origin is not ClientOrigin.REGISTERED
            or not registration_token_matches(
                storage.session, storage.context.hasher, found.client, value
            )
        ):
            # One answer for an unknown client and a wrong token: nothing to probe.
            raise InvalidTokenError(
                description="Send the registration access token this client was given "
                "(Authorization: Bearer)."
            )
        return _RegistrationCredential(storage.client_model(found), value)

    def authenticate_client(self, request: Any) -> ClientModel:
        credential: _RegistrationCredential = request.credential
        return credential.client

    def check_permission(self, client: ClientModel, request: Any) -> bool:
        return client.client.origin is ClientOrigin.REGISTERED

    def revoke_access_token(self, request: Any, token: Any) -> None:
        pass  # never reached: an unknown client is refused with its token above

    def introspect_client(self, client: ClientModel) -> dict[str, Any]:
        return client_description(client.client, self.server.storage.context.issuer)

    def generate_client_registration_info(
        self, client: ClientModel, request: Any
    ) -> dict[str, str]:
        credential: _RegistrationCredential = request.credential
        return {"registration_access_token": credential.value}

    def update_client(
        self, client: ClientModel, client_metadata: dict[str, Any], request: Any
    ) -> ClientModel:
        storage = self.server.storage
        registration: Registration = request.registration
        if (
            registration.is_public != client.client.is_public
            or registration.private_key_jwt != client.client.private_key_jwt
        ):
            raise InvalidClientMetadataError(
                "token_endpoint_auth_method cannot change between none, a secret and "
                "private_key_jwt; register a new client instead."
            )
        updated = replace_registration(
            storage.session, storage.context.clock, client.client, registration
        )
        found = None if updated is None else client_by_client_id(storage.session, updated.client_id)
        if found is None:
            raise InvalidTokenError(description="The client is gone.")
        model: ClientModel = storage.client_model(found)
        return model

    def delete_client(self, client: ClientModel, request: Any) -> None:
        storage = self.server.storage
        delete_registration(storage.session, storage.context.clock, client.client)
