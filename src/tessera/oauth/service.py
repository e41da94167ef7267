"""The OAuth use cases, one transaction each: snapshot in, response (or page decision) out."""

import json
import logging
import threading
from datetime import datetime
from typing import TYPE_CHECKING, Any

from authlib.oauth2.rfc6749.errors import AccessDeniedError, InvalidRequestError, OAuth2Error
from authlib.oauth2.rfc8628 import DEVICE_CODE_GRANT_TYPE
from authlib.oidc.core.errors import ConsentRequiredError

from tessera.core.client_documents import (
    DocumentRefused,
    document_host,
    has_loopback_redirect,
    is_document_client_id,
)
from tessera.core.client_keys import ASSERTION_ALGORITHMS, KeysRefused
from tessera.core.client_registration import RegistrationMode
from tessera.core.openid_claims import CLAIMS_SUPPORTED
from tessera.core.people import Person
from tessera.core.scope_words import describe_scope
from tessera.core.sign_in_methods import ACR_VALUES_SUPPORTED, SignInMethod
from tessera.core.signing_keys import NoSigningKeyYet, SigningAlgorithm, SigningKeyUnavailable
from tessera.core.user_sources import SourceKind, UserSource
from tessera.oauth.client_assertions import unverified_names
from tessera.oauth.context import OAuthContext
from tessera.oauth.grants import may_authorize
from tessera.oauth.id_token_hints import IdTokenHint, read_id_token_hint
from tessera.oauth.logout import LogoutRequest, client_id_to_look_up, judge_logout, parameter
from tessera.oauth.messages import (
    ConsentRequest,
    FormPost,
    OAuthRequest,
    OAuthResponse,
    RefusedRequest,
    SignedInPerson,
    SignInRequired,
)
from tessera.oauth.registration import REGISTRATION_PATH
from tessera.oauth.requests import SnapshotRequest
from tessera.oauth.response_modes import (
    RESPONSE_MODES,
    ResponseMode,
    UnsupportedResponseMode,
    default_mode,
    deliver,
    requested_mode,
)
from tessera.oauth.server import TesseraAuthorizationServer
from tessera.oauth.sign_in import SignInProtocol
from tessera.oauth.sign_in_checks import HintReader, SignInChecks
from tessera.oauth.user_sources import OpenIdSignIn
from tessera.services.client_keys import KeysNeeded
from tessera.store.database import Database

if TYPE_CHECKING:
    from tessera.oauth.saml_sign_in import SamlSignIn

log = logging.getLogger(__name__)

GRANT_TYPES = ["authorization_code", "refresh_token", "implicit", DEVICE_CODE_GRANT_TYPE]
NO_STORE_JSON = [
    ("Content-Type", "application/json"),
    ("Cache-Control", "no-store"),
    ("Pragma", "no-cache"),
]


class OAuthService:
    def __init__(self, database: Database, context: OAuthContext) -> None:
        self._database = database
        self.context = context
        #: Tessera as the relying party of the OpenID providers people sign in through.
        self.user_sources = OpenIdSignIn()
        self._saml: SamlSignIn | None = None
        self._saml_lock = threading.Lock()

    @property
    def saml(self) -> "SamlSignIn":
        """Tessera as the service provider of the SAML IdPs people sign in through; made (and
        pysaml2 imported, a few MB per process) only where a SAML source is used."""
        with self._saml_lock:
            if self._saml is None:
                from tessera.oauth.saml_sign_in import SamlSignIn

                self._saml = SamlSignIn(self.context.issuer)
            return self._saml

    def sign_in_protocol(self, source: UserSource) -> SignInProtocol:
        """How to sign in through ``source``: OpenID Connect or SAML 2.0."""
        return self.saml if source.kind is SourceKind.SAML else self.user_sources

    def check_authorization(
        self, request: OAuthRequest, signed_in: SignedInPerson | None
    ) -> ConsentRequest | RefusedRequest | SignInRequired | OAuthResponse | FormPost:
        """Judge an authorization request: the consent page, a sign-in first, or an answer.

        An unknown client or an unregistered redirect URI never redirects (RFC 9700 §4.1): it
        comes back as ``RefusedRequest``. Other errors go back to the app's redirect URI, in
        the response mode it asked for. Without ``signed_in`` (nobody signed in yet) only the
        request itself is judged. ``prompt``, ``max_age`` and ``id_token_hint`` decide whether
        the person must sign in (again) and whether a page may be shown at all (ADR 0041).
        """
        refused = self._document_refusal(request)
        if refused is not None:
            return RefusedRequest("invalid_client", refused)
        person = signed_in.person if signed_in is not None else None
        with self._database.read() as session:
            server = TesseraAuthorizationServer(session, self.context)
            try:
                grant = server.get_consent_grant(request, end_user=person)
                _response_mode(grant.request, grant.redirect_uri)  # refused early if unusable
                client = grant.request.client
                checks = SignInChecks.of(grant.request, grant.redirect_uri, self._hint_reader())
                if signed_in is None:
                    return checks.without_session()
                if not may_authorize(signed_in.person, client):
                    if checks.demands.silent:
                        raise AccessDeniedError(redirect_uri=grant.redirect_uri)
                    return RefusedRequest("access_denied", "Access denied.")
                again = checks.with_session(signed_in, self.context.clock.now())
                if again is not None:
                    return again
                scope = grant.request.scope or ""
                silent = checks.demands.silent
                resources = getattr(grant.request, "resources", None) or ()
                if silent and not server.storage.consent_remembered(
                    signed_in.person, client, scope, resources
                ):
                    raise ConsentRequiredError(redirect_uri=grant.redirect_uri)
            except OAuth2Error as error:
                error.state = request_state(request)
                return _error(server, request, error)
        if silent:
            # prompt=none, and the person agreed to all of this before: no page.
            return self.decide(
                request,
                signed_in.person,
                allow=True,
                signed_in_at=signed_in.signed_in_at,
                signed_in_by=signed_in.method,
            )
        document_url = client.client.document_url
        redirect_uri = grant.redirect_uri or ""
        return ConsentRequest(
            client_name=client.client.name,
            client_id=client.client.client_id,
            scope=scope,
            redirect_uri=redirect_uri,
            document_host=None if document_url is None else document_host(document_url),
            loopback_redirect=has_loopback_redirect([redirect_uri]),
            resources=resources,
            scope_lines=tuple(describe_scope(scope, self.context.scopes)),
        )

    def decide(
        self,
        request: OAuthRequest,
        person: Person,
        *,
        allow: bool,
        signed_in_at: datetime | None = None,
        signed_in_by: SignInMethod | None = None,
    ) -> OAuthResponse | RefusedRequest | FormPost:
        """The person's answer on the consent page: a redirect with a code, or access_denied.

        ``signed_in_at``: when the person signed in, the ``auth_time`` of the grant's ID tokens;
        ``signed_in_by``: how, their ``acr`` and ``amr``.
        """
        unusable = self._document_refusal(request)
        if unusable is not None:
            return RefusedRequest("invalid_client", unusable)
        with self._database.write() as session:
            server = TesseraAuthorizationServer(session, self.context)
            server.storage.auth_time = signed_in_at
            server.storage.signed_in_by = signed_in_by
            try:
                grant = server.get_consent_grant(request, end_user=person)
                mode = _response_mode(grant.request, grant.redirect_uri)
            except OAuth2Error as error:
                error.state = request_state(request)
                return _error(server, request, error)
            if not may_authorize(person, grant.request.client):
                return RefusedRequest("access_denied", "Access denied.")
            status, headers, body = server.create_authorization_response(
                grant.request, grant_user=person if allow else None, grant=grant
            )
            answer = OAuthResponse(status, headers, body)
            return deliver(answer, grant.redirect_uri or "", mode)

    def check_logout(self, request: OAuthRequest) -> LogoutRequest | RefusedRequest:
        """OpenID Connect RP-Initiated Logout: is this request valid, and what does it name?"""
        hint_value = parameter(request, "id_token_hint")
        hint = self._hint_reader()(hint_value) if hint_value else None
        client_id = client_id_to_look_up(request, hint)
        client = None
        if client_id:
            with self._database.read() as session:
                found = TesseraAuthorizationServer(session, self.context).query_client(client_id)
            client = None if found is None else found.client
        return judge_logout(request, hint, client)

    def _hint_reader(self) -> HintReader:
        def read(value: str) -> IdTokenHint | None:
            keys = self.context.signing_keys.every_public_key()
            return read_id_token_hint(value, keys=keys, issuer=self.context.issuer)

        return read

    def token(self, request: OAuthRequest) -> OAuthResponse:
        refused = self._document_refusal(request)
        if refused is not None:
            return _invalid_client(refused)
        try:
            try:
                return self._run_with_keys(lambda server: server.create_token_response(request))
            except NoSigningKeyYet:
                # Rolled back (the code is not spent); made in a transaction of its own.
                self.context.signing_keys.ensure()
                return self._run_with_keys(lambda server: server.create_token_response(request))
        except SigningKeyUnavailable as problem:
            # Rolled back: the code is not spent, nothing was issued; the operator must act.
            log.error("cannot sign an ID token or a JWT access token: %s", problem)
            body = {
                "error": "server_error",
                "error_description": "The server cannot sign tokens now; its log says why.",
            }
            return OAuthResponse(500, NO_STORE_JSON, json.dumps(body))

    def userinfo(self, request: OAuthRequest) -> OAuthResponse:
        """OpenID Connect UserInfo: the person's claims by the token's scope."""
        with self._database.read() as session:
            server = TesseraAuthorizationServer(session, self.context)
            status, headers, body = server.create_endpoint_response("userinfo", request)
        return OAuthResponse(status, headers, body)

    def jwks(self) -> dict[str, Any]:
        """The public keys that check ID tokens (RFC 7517)."""
        return self.context.signing_keys.jwks()

    def authorize_device(self, request: OAuthRequest) -> OAuthResponse:
        """RFC 8628 §3.1: a device's request for a device code and a user code."""
        return self._run(
            lambda server: server.create_endpoint_response("device_authorization", request)
        )

    def revoke(self, request: OAuthRequest) -> OAuthResponse:
        refused = self._document_refusal(request)
        if refused is not None:
            return _invalid_client(refused)
        return self._run_with_keys(
            lambda server: server.create_endpoint_response("revocation", request)
        )

    def register(self, request: OAuthRequest) -> OAuthResponse:
        """RFC 7591: a client registers itself (the operator's switch decides who may)."""
        if self.context.config.registration is RegistrationMode.OFF:
            return _registration_off()
        return self._run(
            lambda server: server.create_endpoint_response("client_registration", request)
        )

    def configure_registration(self, request: OAuthRequest) -> OAuthResponse:
        """RFC 7592: a registered client reads, replaces or deletes its registration."""
        if self.context.config.registration is RegistrationMode.OFF:
            return _registration_off()
        return self._run(
            lambda server: server.create_endpoint_response("client_configuration", request)
        )

    def _document_refusal(self, request: OAuthRequest) -> str | None:
        """For a ``client_id`` that is a metadata document's URL: fetch the document if it is
        not kept (or expired), before the step's transaction; why it cannot be used, or None.

        The fetch happens outside any transaction, so no database connection waits on
        another server (ADR 0044).
        """
        client_id = _client_id_of(request)
        if client_id is None or not is_document_client_id(client_id):
            return None
        documents = self.context.client_documents
        if documents is None or not documents.enabled:
            return "This server does not accept client metadata documents."
        try:
            documents.resolve(client_id)
        except DocumentRefused as refused:
            return refused.reason
        return None

    def _run_with_keys(self, step: Any) -> OAuthResponse:
        """A step that may authenticate a client by assertion: when the client's key set at
        its ``jwks_uri`` must be fetched first, the step ends (rolled back, nothing spent), the
        set is fetched outside any transaction, as metadata documents are, and the step runs
        once more (ADR 0052)."""
        try:
            return self._run(step)
        except KeysNeeded as needed:
            key_sets = self.context.client_keys
            if key_sets is None:  # never: only a context with key sets raises it
                return _invalid_client("This server does not fetch client key sets.")
            try:
                key_sets.keys_at(needed.url, needed.kid)
            except KeysRefused as problem:
                return _invalid_client(f"The client's JWK Set could not be used: {problem.reason}")
        try:
            return self._run(step)
        except KeysNeeded:  # fetched just now, yet not kept: its cache lifetime is that short
            return _invalid_client("The client's JWK Set could not be kept; try again.")

    def introspect(self, request: OAuthRequest) -> OAuthResponse:
        refused = self._document_refusal(request)
        if refused is not None:
            return _invalid_client(refused)
        return self._run_with_keys(
            lambda server: server.create_endpoint_response("introspection", request)
        )

    def _registration_metadata(self, base: str) -> dict[str, str]:
        if self.context.config.registration is RegistrationMode.OFF:
            return {}
        return {"registration_endpoint": f"{base}{REGISTRATION_PATH}"}

    @property
    def _documents_enabled(self) -> bool:
        documents = self.context.client_documents
        return documents is not None and documents.enabled

    def metadata(self, issuer: str) -> dict[str, Any]:
        """RFC 8414: exactly what this server supports."""
        base = issuer.rstrip("/")
        return {
            "issuer": base,
            "authorization_endpoint": f"{base}/oauth/authorize",
            "token_endpoint": f"{base}/oauth/token",
            "revocation_endpoint": f"{base}/oauth/revoke",
            "introspection_endpoint": f"{base}/oauth/introspect",
            "device_authorization_endpoint": f"{base}/oauth/device_authorization",
            **self._registration_metadata(base),
            "response_types_supported": ["code", "token"],
            "response_modes_supported": RESPONSE_MODES,
            "grant_types_supported": GRANT_TYPES,
            "token_endpoint_auth_methods_supported": [
                "client_secret_basic",
                "client_secret_post",
                "none",
                "private_key_jwt",
            ],
            "token_endpoint_auth_signing_alg_values_supported": list(ASSERTION_ALGORITHMS),
            "revocation_endpoint_auth_methods_supported": [
                "client_secret_basic",
                "client_secret_post",
                "none",
                "private_key_jwt",
            ],
            "revocation_endpoint_auth_signing_alg_values_supported": list(ASSERTION_ALGORITHMS),
            "introspection_endpoint_auth_methods_supported": [
                "client_secret_basic",
                "client_secret_post",
                "private_key_jwt",
            ],
            "introspection_endpoint_auth_signing_alg_values_supported": list(ASSERTION_ALGORITHMS),
            "code_challenge_methods_supported": ["S256"],
            # draft-ietf-oauth-client-id-metadata-document: an https URL may be a client_id.
            "client_id_metadata_document_supported": self._documents_enabled,
            # RFC 9207: every authorization response names this issuer.
            "authorization_response_iss_parameter_supported": True,
            # OpenID's, session, and the groups of the endpoint tags API scopes name (ADR 0042).
            "scopes_supported": self.context.scopes.supported(),
            "service_documentation": f"{base}/docs",
            # OpenID Connect Discovery §3, in both documents: where they overlap, they agree.
            "userinfo_endpoint": f"{base}/oauth/userinfo",
            "jwks_uri": f"{base}/oauth/jwks",
            # OpenID Connect RP-Initiated Logout 1.0 §2.1.
            "end_session_endpoint": f"{base}/oauth/logout",
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": [alg.value for alg in SigningAlgorithm],
            "claims_supported": list(CLAIMS_SUPPORTED),
            # How people sign in (ADR 0051): each ID token's acr is one of these.
            "acr_values_supported": list(ACR_VALUES_SUPPORTED),
            "claims_parameter_supported": False,
            "request_parameter_supported": False,
            "request_uri_parameter_supported": False,
        }

    def _run(self, step: Any) -> OAuthResponse:
        # Committed even when the answer is an error: a replay's revocation must stick.
        with self._database.write() as session:
            status, headers, body = step(TesseraAuthorizationServer(session, self.context))
        return OAuthResponse(status, headers, body)


def _client_id_of(request: OAuthRequest) -> str | None:
    """The ``client_id`` a request names, in its query or form (the first, if repeated), or
    else the client its client assertion names (``client_id`` is optional beside one)."""
    for values in (request.form.get("client_id"), request.query.get("client_id")):
        if values:
            return values[0]
    assertion = _form_value(request, "client_assertion")
    names = None if assertion is None else unverified_names(assertion)
    return None if names is None else names[0]


def _form_value(request: OAuthRequest, name: str) -> str | None:
    values = request.form.get(name)
    return values[0] if values else None


def _registration_off() -> OAuthResponse:
    body = {
        "error": "access_denied",
        "error_description": "This server does not allow dynamic client registration.",
    }
    return OAuthResponse(403, NO_STORE_JSON, json.dumps(body))


def _invalid_client(description: str) -> OAuthResponse:
    """RFC 6749 §5.2 ``invalid_client`` for a client named by a document that cannot be used."""
    body = {"error": "invalid_client", "error_description": description}
    return OAuthResponse(400, NO_STORE_JSON, json.dumps(body))


def _error(
    server: TesseraAuthorizationServer, request: OAuthRequest, error: OAuth2Error
) -> OAuthResponse | RefusedRequest | FormPost:
    """An error for the app at its (verified) redirect URI, in the response mode it asked for;
    an error without one is shown on our page."""
    redirect_uri = getattr(error, "redirect_uri", None)
    if not redirect_uri:
        return RefusedRequest(error.error, error.description or "The request is invalid.")
    status, headers, body = server.handle_error_response(request, error)
    answer = OAuthResponse(status, headers, body)
    snapshot = SnapshotRequest(request)
    try:
        mode = _response_mode(snapshot, redirect_uri)
    except OAuth2Error:
        mode = _default_mode(snapshot)
    return deliver(answer, redirect_uri, mode)


def _default_mode(request: Any) -> ResponseMode:
    return default_mode(request.payload.data.get("response_type"))


def _response_mode(request: Any, redirect_uri: str | None) -> ResponseMode:
    data = request.payload.data
    try:
        return requested_mode(data.get("response_mode"), data.get("response_type"), redirect_uri)
    except UnsupportedResponseMode as problem:
        raise InvalidRequestError(str(problem), redirect_uri=redirect_uri) from problem


def request_state(request: OAuthRequest) -> str | None:
    state = request.query.get("state") or request.form.get("state")
    return state[0] if state else None
