"""The use cases an adapter can call, built once by the composition root."""

from dataclasses import dataclass

from tessera.core.site import SiteInfo
from tessera.services.account import AccountService
from tessera.services.api_keys import ApiKeyService
from tessera.services.api_tokens import ApiTokenService
from tessera.services.audit import AuditService
from tessera.services.authenticate import Authenticator
from tessera.services.change_stream import ChangeStream
from tessera.services.client_registration import ClientRegistrationService
from tessera.services.connected_apps import ConnectedAppsService
from tessera.services.credential_cache import CredentialCache
from tessera.services.device_authorizations import DeviceAuthorizationService
from tessera.services.first_run import FirstRunService
from tessera.services.health import ReadinessProbe
from tessera.services.leak_reports import LeakReportService
from tessera.services.magic_links import MagicLinkService
from tessera.services.oauth_clients import OAuthClientService
from tessera.services.people import PeopleService
from tessera.services.protected_resources import ProtectedResourceService
from tessera.services.refusal_cache import RefusalCache
from tessera.services.shown_once import ShownOnceService
from tessera.services.usage import UsageRecorder
from tessera.services.user_sources import UserSourceService
from tessera.services.web_sessions import WebSessionService


@dataclass(frozen=True, slots=True)
class Services:
    site: SiteInfo
    authenticator: Authenticator
    people: PeopleService
    api_keys: ApiKeyService
    api_tokens: ApiTokenService
    oauth_clients: OAuthClientService
    #: Dynamic client registration (RFC 7591): the operator's mode, initial access tokens.
    client_registration: ClientRegistrationService
    web_sessions: WebSessionService
    connected_apps: ConnectedAppsService
    #: The person's side of the device grant (RFC 8628): the /device pages, their devices.
    device_authorizations: DeviceAuthorizationService
    first_run: FirstRunService
    usage: UsageRecorder
    #: Verified credentials in memory; the change feed must ``subscribe`` it (ADR 0010).
    credential_cache: CredentialCache
    #: Credentials the database refused, refused again from memory (ADR 0024).
    refusal_cache: RefusalCache
    audit: AuditService
    account: AccountService
    #: Secrets waiting for the page that shows them once (post, redirect, get).
    shown_once: ShownOnceService
    #: Credential changes for the open ``GET /authz/changes`` streams (a feed listener).
    change_stream: ChangeStream
    #: What ``/readyz`` reports: the database, its schema, Redis when configured.
    readiness: ReadinessProbe
    #: Leaked credentials reported by a secret-scanning partner (off without its keys).
    leak_reports: LeakReportService
    #: The registry of protected resources (RFC 8707 audiences, RFC 9728 metadata).
    resources: ProtectedResourceService
    #: Sign-in links by e-mail (E10, ADR 0048); switched off without an SMTP server.
    magic_links: MagicLinkService
    #: External identity providers people sign in through (spec §8.2, ADR 0047).
    user_sources: UserSourceService
