"""Wiring: turn Settings into a database and the services, for the web app and the CLI.

``Wiring`` builds each part the first time it is asked for, and imports its module only then:
a command line that lists people builds the database and the people service, not the OAuth
server, the rate limiter or the credential cache (ADR 0022). ``build_runtime`` builds every part
at once, for the server, so that nothing is built while requests are being served.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from functools import cached_property
from typing import TYPE_CHECKING

from tessera import __version__

if TYPE_CHECKING:
    from tessera.core.clock import Clock
    from tessera.core.credentials import CodeHasher
    from tessera.core.passwords import PasswordHasher
    from tessera.core.principals import TokenLifetime
    from tessera.core.routes import RouteTable
    from tessera.core.secret_keys import SecretKeyRing
    from tessera.core.sessions import SessionLimits
    from tessera.core.site import SiteInfo
    from tessera.metrics.sampler import MetricsSampler
    from tessera.oauth.service import OAuthService
    from tessera.services.account import AccountService
    from tessera.services.api_keys import ApiKeyService
    from tessera.services.api_tokens import ApiTokenService
    from tessera.services.audit import AuditService
    from tessera.services.authenticate import Authenticator
    from tessera.services.change_feed import ChangeFeed
    from tessera.services.change_stream import ChangeStream
    from tessera.services.client_documents import ClientDocumentService
    from tessera.services.client_keys import ClientKeySets
    from tessera.services.client_registration import ClientRegistrationService
    from tessera.services.connected_apps import ConnectedAppsService
    from tessera.services.container import Services
    from tessera.services.credential_cache import CredentialCache
    from tessera.services.device_authorizations import DeviceAuthorizationService
    from tessera.services.first_run import FirstRunService
    from tessera.services.health import ReadinessProbe
    from tessera.services.housekeeping import Housekeeping
    from tessera.services.jwt_access_tokens import JwtAccessTokens
    from tessera.services.leak_reports import LeakReportService
    from tessera.services.magic_links import MagicLinkService
    from tessera.services.mail import Mailer
    from tessera.services.oauth_clients import OAuthClientService
    from tessera.services.partner_keys import PartnerKeyring
    from tessera.services.password_hashing import HashingPool
    from tessera.services.password_login import PasswordLogin
    from tessera.services.people import PeopleService
    from tessera.services.protected_resources import ProtectedResourceService
    from tessera.services.refusal_cache import RefusalCache
    from tessera.services.route_check import RouteChecker
    from tessera.services.secret_keys import SecretKeyService
    from tessera.services.shown_once import ShownOnceService
    from tessera.services.signing_keys import SigningKeyService
    from tessera.services.thread_capacity import ThreadCapacity
    from tessera.services.throttle import Throttle
    from tessera.services.usage import UsageRecorder
    from tessera.services.user_sources import UserSourceService
    from tessera.services.web_sessions import WebSessionService
    from tessera.settings import Settings
    from tessera.store.database import Database

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Runtime:
    settings: Settings
    database: Database
    services: Services
    throttle: Throttle
    oauth: OAuthService
    #: Carries credential changes to this process's listeners and from the other processes.
    changes: ChangeFeed
    housekeeping: Housekeeping
    #: The guarded API's route table (``TESSERA_ROUTES_FILE``), for the /authz/* endpoints.
    routes: RouteTable
    #: Copies what the parts count and hold into the Prometheus metrics.
    metrics: MetricsSampler


def build_runtime(
    settings: Settings, *, clock: Clock | None = None, passwords: PasswordHasher | None = None
) -> Runtime:
    """Every part, built now (the server's way: nothing is built while serving)."""
    return Wiring(settings, clock=clock, passwords=passwords, measured=True).runtime()


class Wiring:
    """The composition of one process, each part built on first use and then kept.

    The imports inside the properties are the point: a part's module (and what it pulls in,
    SQLAlchemy, Authlib, argon2, ``limits``) is loaded only when that part is built. Not
    thread-safe while parts are being built: the server builds them all before serving
    (``runtime``), the command line has one thread.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        clock: Clock | None = None,
        passwords: PasswordHasher | None = None,
        measured: bool = False,
    ) -> None:
        """``measured``: the parts report to the Prometheus metrics (the server's way; a
        command line does not load prometheus_client)."""
        self.settings = settings
        self._clock = clock
        self._passwords = passwords
        self._measured = measured

    def runtime(self) -> Runtime:
        # The change feed first, right after the database: it must hear of every commit that
        # records a change, and the credential cache subscribes to it (ADR 0010, 0011).
        database, changes = self.database, self.changes
        # No sign-in may be the one that pays for a one-time setup (timing parity).
        self.passwords.prepare()
        self._prepare_signing_keys()
        return Runtime(
            settings=self.settings,
            database=database,
            services=self.all_services,
            throttle=self.throttle,
            oauth=self.oauth,
            changes=changes,
            housekeeping=self.housekeeping,
            routes=self.route_table,
            metrics=self.metrics,
        )

    def _prepare_signing_keys(self) -> None:
        """Make the ID token signing keys on first start; say loudly if they cannot be opened."""
        keys = self.signing_keys
        keys.ensure()
        for problem in keys.check():
            log.error("OpenID Connect ID tokens cannot be signed: %s", problem)

    def close(self) -> None:
        """Release the database connections, if a part opened any."""
        if "database" in self.__dict__:
            self.database.dispose()

    # -- foundations -----------------------------------------------------------------------

    @cached_property
    def clock(self) -> Clock:
        from tessera.core.clock import SystemClock

        return self._clock or SystemClock()

    @cached_property
    def passwords(self) -> PasswordHasher:
        from tessera.core.passwords import PasswordHasher

        return self._passwords or PasswordHasher()

    @cached_property
    def database(self) -> Database:
        from tessera.store import schema
        from tessera.store.database import ConnectionBudget, PostgresTimeouts, open_database

        settings = self.settings
        # One budget bounds every connection of this process, whatever pool it sits in (ADR 0021).
        database = open_database(
            settings.database_url,
            ConnectionBudget(settings.db_pool_size, wait_seconds=settings.db_pool_wait_seconds),
            PostgresTimeouts(
                connect_seconds=settings.db_connect_timeout_seconds,
                statement_seconds=settings.db_statement_timeout_seconds or None,
                lock_seconds=settings.db_lock_timeout_seconds or None,
            ),
        )
        if settings.should_migrate:
            schema.upgrade(database.engine)
        return database

    @cached_property
    def changes(self) -> ChangeFeed:
        from tessera.services.change_feed import ChangeFeed

        # A feed silent for longer than a cache entry may live makes the cache start over.
        return ChangeFeed(
            self.database,
            poll_seconds=self.settings.change_poll_seconds,
            resync_after=self.settings.credential_cache_seconds,
        )

    @cached_property
    def secret_keys(self) -> SecretKeyRing:
        from tessera.secret_key_file import secret_keys

        return secret_keys(self.settings)

    @cached_property
    def secret_key_service(self) -> SecretKeyService:
        from tessera.services.secret_keys import SecretKeyService

        settings = self.settings
        keys = self.secret_keys if settings.secret_key is not None else settings.secret_key_file
        return SecretKeyService(self.database, self.clock, keys)

    @cached_property
    def hasher(self) -> CodeHasher:
        from tessera.core.credentials import CodeHasher

        return CodeHasher(self.secret_keys)

    @cached_property
    def throttle(self) -> Throttle:
        from tessera.services.throttle import Throttle

        settings = self.settings
        return Throttle(settings.redis_url, timeout_seconds=settings.redis_timeout_seconds)

    @cached_property
    def lifetime(self) -> TokenLifetime:
        from tessera.core.principals import TokenLifetime

        settings = self.settings
        return TokenLifetime(
            idle=timedelta(days=settings.token_idle_days) if settings.token_idle_days else None,
            max_age=timedelta(days=settings.token_max_age_days)
            if settings.token_max_age_days
            else None,
        )

    @cached_property
    def login(self) -> PasswordLogin:
        from tessera.services.password_login import LoginLimits, PasswordLogin
        from tessera.services.throttle import ThrottleRule

        settings = self.settings
        # One set of counters for every password form (exchange, login page): an attacker
        # gains nothing by switching between them.
        return PasswordLogin(
            self.database,
            self.passwords,
            self.hasher,
            self.throttle,
            LoginLimits(
                per_email=ThrottleRule.parse("login-email", settings.exchange_rate_per_email),
                per_address=ThrottleRule.parse("login-address", settings.exchange_rate_per_address),
            ),
            self.clock,
            hashing=self.hashing,
            threads=self.sign_in_threads,
        )

    @cached_property
    def hashing(self) -> HashingPool:
        from tessera.services.password_hashing import HashingPool

        settings = self.settings
        return HashingPool(
            threads=settings.password_hash_threads,
            queue=settings.password_hash_queue,
            nice=settings.password_hash_nice,
            on_hashed=self._hash_observer(),
        )

    def _hash_observer(self) -> Callable[[float], None] | None:
        if not self._measured:
            return None
        from tessera.metrics.catalogue import PASSWORD_HASH_SECONDS

        return PASSWORD_HASH_SECONDS.observe

    @cached_property
    def metrics(self) -> MetricsSampler:
        from tessera.metrics.sampler import MetricsSampler

        return MetricsSampler(
            credentials=self.credential_cache,
            refusals=self.refusal_cache,
            changes=self.changes,
            hashing=self.hashing,
            throttle=self.throttle,
            database=self.database,
            threads=(self.credential_threads, self.sign_in_threads),
            mail=self.magic_links,
        )

    @cached_property
    def credential_threads(self) -> ThreadCapacity:
        from tessera.services.thread_capacity import ThreadCapacity

        return ThreadCapacity("credentials", self.settings.credential_threads)

    @cached_property
    def sign_in_threads(self) -> ThreadCapacity:
        from tessera.services.thread_capacity import ThreadCapacity

        return ThreadCapacity("sign-in", self.settings.sign_in_threads)

    # -- services --------------------------------------------------------------------------

    @cached_property
    def site(self) -> SiteInfo:
        from tessera.core.site import SiteInfo, derived_helpdesk_uuid

        settings = self.settings
        return SiteInfo(
            public_url=settings.base_url,
            version=__version__,
            # The oldest key: the uuid stays as it was while that key is kept (ADR 0035).
            helpdesk_uuid=settings.helpdesk_uuid
            or derived_helpdesk_uuid(self.secret_keys.oldest.value),
            helpdesk_name=settings.helpdesk_name,
            agent_client_apps=frozenset(settings.agent_client_apps),
        )

    @cached_property
    def session_limits(self) -> SessionLimits:
        from tessera.core.sessions import SessionLimits

        return SessionLimits(
            lifetime=timedelta(hours=self.settings.session_hours),
            idle=timedelta(minutes=self.settings.session_idle_minutes),
        )

    @cached_property
    def usage(self) -> UsageRecorder:
        from tessera.services.usage import UsageRecorder

        return UsageRecorder(self.database)

    @cached_property
    def credential_cache(self) -> CredentialCache:
        from tessera.services.credential_cache import CredentialCache

        settings = self.settings
        grace = settings.credential_outage_grace_seconds

        def database_down_within_grace() -> bool:
            since = self.database.unreachable_since
            return since is not None and time.monotonic() - since < grace

        cache = CredentialCache(
            settings.credential_cache_size,
            timedelta(seconds=settings.credential_cache_seconds),
            hold=database_down_within_grace if grace > 0 else None,
        )
        # Every change, made here or by another process, drops what it makes stale.
        self.changes.subscribe(cache)
        return cache

    @cached_property
    def change_stream(self) -> ChangeStream:
        from tessera.services.change_stream import ChangeStream

        stream = ChangeStream(keep_alive_seconds=self.settings.change_stream_keep_alive_seconds)
        self.changes.subscribe(stream)
        return stream

    @cached_property
    def authenticator(self) -> Authenticator:
        from tessera.services.authenticate import Authenticator

        return Authenticator(
            self.database,
            self.hasher,
            self.clock,
            self.usage,
            self.lifetime,
            self.credential_cache,
            self.session_limits,
            refusals=self.refusal_cache,
            allow_query_credentials=self.settings.allow_query_credentials,
            threads=self.credential_threads,
            jwt_access_tokens=self.jwt_access_tokens,
        )

    @cached_property
    def jwt_access_tokens(self) -> JwtAccessTokens:
        from tessera.services.jwt_access_tokens import JwtAccessTokens

        # Checked against the issuer of the metadata, which signs them (ADR 0051).
        return JwtAccessTokens(self.signing_keys, self.clock, self.site.public_url.rstrip("/"))

    @cached_property
    def refusal_cache(self) -> RefusalCache:
        from tessera.services.refusal_cache import RefusalCache

        # Kept no longer than a verified credential is: the same promise (ADR 0024).
        refusals = RefusalCache(
            self.settings.refusal_cache_size,
            timedelta(seconds=self.settings.credential_cache_seconds),
        )
        self.changes.subscribe(refusals)
        return refusals

    @cached_property
    def route_checker(self) -> RouteChecker:
        from tessera.services.route_check import RouteChecker

        return RouteChecker(self.database, self.clock, self.lifetime)

    @cached_property
    def route_table(self) -> RouteTable:
        """The table of ``routes_file``; an empty one (every request refused) without it."""
        from tessera.core.routes import RouteTable
        from tessera.route_files import load_route_table

        path = self.settings.routes_file
        return RouteTable.of() if path is None else load_route_table(path)

    @cached_property
    def people(self) -> PeopleService:
        from tessera.services.people import PeopleService

        return PeopleService(self.database, self.passwords, self.clock)

    @cached_property
    def first_run(self) -> FirstRunService:
        from tessera.services.first_run import FirstRunService

        return FirstRunService(self.database, self.hasher, self.clock, self.people)

    @cached_property
    def api_keys(self) -> ApiKeyService:
        from tessera.services.api_keys import ApiKeyService

        return ApiKeyService(self.database, self.hasher, self.clock)

    @cached_property
    def api_tokens(self) -> ApiTokenService:
        from tessera.services.api_tokens import ApiTokenService, TokenPolicy
        from tessera.services.throttle import ThrottleRule

        settings = self.settings
        policy = TokenPolicy(
            exchange_enabled=settings.exchange_enabled,
            allow_users=settings.exchange_allow_users,
            lifetime=self.lifetime,
            device_setup_per_address=ThrottleRule.parse(
                "device-setup-address", settings.device_setup_rate_per_address
            ),
        )
        return ApiTokenService(
            self.database, self.hasher, self.clock, self.throttle, policy, self.login
        )

    @cached_property
    def oauth_clients(self) -> OAuthClientService:
        from tessera.services.oauth_clients import OAuthClientService

        return OAuthClientService(
            self.database,
            self.hasher,
            self.clock,
            allow_insecure_redirects=self.settings.oauth_allow_insecure_redirects,
        )

    @cached_property
    def resources(self) -> ProtectedResourceService:
        from tessera.core.resources import own_resource_uri
        from tessera.services.protected_resources import ProtectedResourceService

        return ProtectedResourceService(
            self.database, self.clock, own_resource_uri(self.site.public_url)
        )

    @cached_property
    def user_sources(self) -> UserSourceService:
        from tessera.services.throttle import ThrottleRule
        from tessera.services.user_sources import UserSourceService

        return UserSourceService(
            self.database,
            self.clock,
            self.secret_keys,
            self.site.public_url,
            throttle=self.throttle,
            callbacks_per_address=ThrottleRule.parse(
                "sign-in-callback-address", self.settings.sign_in_callback_rate_per_address
            ),
        )

    @cached_property
    def web_sessions(self) -> WebSessionService:
        from tessera.services.web_sessions import WebSessionService

        return WebSessionService(
            self.database, self.hasher, self.clock, self.login, self.session_limits
        )

    @cached_property
    def mailer(self) -> Mailer | None:
        """The SMTP server of ``smtp_*``; None when none is configured."""
        from tessera.services.mail import Mailer, SmtpConfig

        settings = self.settings
        if settings.smtp_host is None or settings.smtp_from is None:
            return None
        if settings.smtp_password_file is not None:
            password: str | None = settings.smtp_password_file.read_text().strip()
        elif settings.smtp_password is not None:
            password = settings.smtp_password.get_secret_value()
        else:
            password = None
        ca_file = settings.smtp_ca_file
        return Mailer(
            SmtpConfig(
                host=settings.smtp_host,
                port=settings.smtp_port,
                security=settings.smtp_security,
                sender=settings.smtp_from,
                timeout_seconds=settings.smtp_timeout_seconds,
                user=settings.smtp_user,
                password=password,
                ca_file=None if ca_file is None else str(ca_file),
            )
        )

    @cached_property
    def magic_links(self) -> MagicLinkService:
        from tessera.services.magic_links import MagicLinkPolicy, MagicLinkService
        from tessera.services.mail import Outbox
        from tessera.services.throttle import ThrottleRule

        settings = self.settings
        policy = MagicLinkPolicy(
            lifetime=timedelta(minutes=settings.magic_link_minutes),
            allow_agents=settings.magic_link_agents,
            per_email=ThrottleRule.parse("magic-link-email", settings.magic_link_rate_per_email),
            per_address=ThrottleRule.parse(
                "magic-link-address", settings.magic_link_rate_per_address
            ),
            public_url=self.site.public_url,
            helpdesk_name=settings.helpdesk_name,
            attempts=settings.mail_attempts,
            retry_seconds=settings.mail_retry_seconds,
        )
        return MagicLinkService(
            self.database,
            self.hasher,
            self.clock,
            self.throttle,
            policy,
            self.web_sessions,
            mailer=self.mailer,
            outbox=Outbox(),
        )

    @cached_property
    def connected_apps(self) -> ConnectedAppsService:
        from tessera.services.connected_apps import ConnectedAppsService

        return ConnectedAppsService(self.database, self.clock)

    @cached_property
    def device_authorizations(self) -> DeviceAuthorizationService:
        from tessera.services.device_authorizations import (
            DeviceAuthorizationService,
            GuessLimits,
        )
        from tessera.services.throttle import ThrottleRule

        settings = self.settings
        limits = GuessLimits(
            per_person=ThrottleRule.parse(
                "device-code-person", settings.device_code_rate_per_person
            ),
            per_address=ThrottleRule.parse(
                "device-code-address", settings.device_code_rate_per_address
            ),
            requests_per_address=ThrottleRule.parse(
                "device-request-address", settings.device_authorization_rate_per_address
            ),
        )
        return DeviceAuthorizationService(
            self.database, self.hasher, self.clock, self.throttle, limits
        )

    @cached_property
    def audit(self) -> AuditService:
        from tessera.services.audit import AuditService

        return AuditService(
            self.database, self.clock, timedelta(days=self.settings.audit_retention_days)
        )

    @cached_property
    def account(self) -> AccountService:
        from tessera.services.account import AccountService

        return AccountService(
            self.database, self.clock, self.login, self.web_sessions, self.api_tokens
        )

    @cached_property
    def shown_once(self) -> ShownOnceService:
        from tessera.services.shown_once import ShownOnceService

        return ShownOnceService(self.database, self.hasher, self.clock)

    @cached_property
    def all_services(self) -> Services:
        from tessera.services.container import Services

        return Services(
            site=self.site,
            authenticator=self.authenticator,
            people=self.people,
            first_run=self.first_run,
            api_keys=self.api_keys,
            oauth_clients=self.oauth_clients,
            client_registration=self.client_registration,
            web_sessions=self.web_sessions,
            connected_apps=self.connected_apps,
            device_authorizations=self.device_authorizations,
            api_tokens=self.api_tokens,
            usage=self.usage,
            credential_cache=self.credential_cache,
            refusal_cache=self.refusal_cache,
            audit=self.audit,
            account=self.account,
            shown_once=self.shown_once,
            change_stream=self.change_stream,
            readiness=self.readiness,
            leak_reports=self.leak_reports,
            resources=self.resources,
            magic_links=self.magic_links,
            user_sources=self.user_sources,
        )

    @cached_property
    def partner_keyring(self) -> PartnerKeyring | None:
        """The scanning partner's keys (``secret_scanning_keys_file``); None: the endpoint is off.

        Raises:
            InvalidInput: the file does not hold the keys
                (``errors.fields.secret_scanning_keys_file``).
        """
        from tessera.core.errors import FieldError, InvalidInput
        from tessera.core.partner_signatures import InvalidPartnerKeys
        from tessera.services.partner_keys import PartnerKeyring

        path = self.settings.secret_scanning_keys_file
        if path is None:
            return None
        try:
            return PartnerKeyring(path)
        except InvalidPartnerKeys as error:
            problem = FieldError("invalid", str(error))
            raise InvalidInput.for_field("secret_scanning_keys_file", problem) from None

    @cached_property
    def leak_reports(self) -> LeakReportService:
        from tessera.services.leak_reports import LeakReportService, Revokers
        from tessera.services.throttle import ThrottleRule

        settings = self.settings
        return LeakReportService(
            self.database,
            self.hasher,
            self.clock,
            self.throttle,
            Revokers(self.api_keys, self.api_tokens),
            keyring=self.partner_keyring,
            per_address=ThrottleRule.parse(
                "secret-scanning-address", settings.secret_scanning_rate_per_address
            ),
        )

    @cached_property
    def readiness(self) -> ReadinessProbe:
        from tessera.services import health

        engine = self.database.engine
        checks = [health.database_check(engine), health.schema_check(engine)]
        if self.throttle.shared:
            checks.append(health.redis_check(self.throttle.store_answers))
        return health.ReadinessProbe(checks)

    # -- the OAuth server and housekeeping -------------------------------------------------

    @cached_property
    def oauth(self) -> OAuthService:
        from tessera.core.client_registration import RegistrationMode
        from tessera.core.oauth_scopes import OWN_TAGS, ScopeCatalogue
        from tessera.oauth.context import OAuthConfig, OAuthContext
        from tessera.oauth.service import OAuthService

        settings = self.settings
        return OAuthService(
            self.database,
            OAuthContext(
                config=OAuthConfig(
                    access_token_lifetime=timedelta(seconds=settings.oauth_access_token_seconds),
                    refresh_token_lifetime=timedelta(days=settings.oauth_refresh_token_days),
                    code_lifetime=timedelta(seconds=settings.oauth_code_seconds),
                    refresh_grace=timedelta(seconds=settings.oauth_refresh_grace_seconds),
                    allow_insecure_redirects=settings.oauth_allow_insecure_redirects,
                    device_code_lifetime=timedelta(seconds=settings.oauth_device_code_seconds),
                    device_verification_uri=self.site.helpdesk_url + "device",
                    registration=RegistrationMode(settings.oauth_registration),
                ),
                hasher=self.hasher,
                clock=self.clock,
                signing_keys=self.signing_keys,
                issuer=self.site.public_url.rstrip("/"),
                client_documents=self.client_documents,
                client_keys=self.client_keys,
                jwt_access_tokens=self.jwt_access_tokens,
                # API scopes name the tags of Tessera's own API and of the guarded one.
                scopes=ScopeCatalogue(
                    [*OWN_TAGS, *(tag for route in self.route_table.routes for tag in route.tags)]
                ),
            ),
        )

    @cached_property
    def client_registration(self) -> ClientRegistrationService:
        from tessera.core.client_registration import RegistrationMode
        from tessera.services.client_registration import ClientRegistrationService
        from tessera.services.throttle import ThrottleRule

        settings = self.settings
        return ClientRegistrationService(
            self.database,
            self.hasher,
            self.clock,
            self.throttle,
            mode=RegistrationMode(settings.oauth_registration),
            per_address=ThrottleRule.parse(
                "registration-address", settings.oauth_registration_rate_per_address
            ),
        )

    @cached_property
    def client_documents(self) -> ClientDocumentService:
        from tessera.core.networks import Networks
        from tessera.services.client_documents import ClientDocumentService, DocumentPolicy

        settings = self.settings
        ca_file = settings.oauth_client_document_ca_file
        policy = DocumentPolicy(
            enabled=settings.oauth_client_documents,
            allowed_hosts=tuple(settings.oauth_client_document_hosts),
            allowed_networks=Networks.parse(settings.oauth_client_document_networks).networks,
            ca_file=None if ca_file is None else str(ca_file),
            deadline=settings.oauth_client_document_timeout_seconds,
            connect_timeout=min(3.0, settings.oauth_client_document_timeout_seconds),
            read_timeout=min(3.0, settings.oauth_client_document_timeout_seconds),
            allow_insecure_redirects=settings.oauth_allow_insecure_redirects,
            concurrent_fetches=settings.oauth_client_document_concurrent_fetches,
        )
        return ClientDocumentService(self.database, self.clock, policy)

    @cached_property
    def client_keys(self) -> ClientKeySets:
        """The key sets of private_key_jwt clients, fetched under the documents' rules
        (networks, CA bundle, timeouts; whether documents are accepted does not matter)."""
        from tessera.services.client_documents import DocumentFetcher
        from tessera.services.client_keys import ClientKeySets

        return ClientKeySets(DocumentFetcher(self.client_documents.policy), self.clock)

    @cached_property
    def signing_keys(self) -> SigningKeyService:
        from tessera.services.signing_keys import SigningKeyPolicy, SigningKeyService

        settings = self.settings
        days = settings.oidc_key_rotation_days
        return SigningKeyService(
            self.database,
            self.clock,
            self.secret_keys,
            SigningKeyPolicy(
                # ID tokens live as long as the access token they come with.
                token_lifetime=timedelta(seconds=settings.oauth_access_token_seconds),
                rotate_after=timedelta(days=days) if days else None,
            ),
        )

    @cached_property
    def housekeeping(self) -> Housekeeping:
        from tessera.services.housekeeping import Housekeeping, PrunePolicy

        settings = self.settings
        return Housekeeping(
            self.database,
            self.clock,
            self.lifetime,
            PrunePolicy(
                grace=timedelta(days=settings.prune_grace_days),
                revoked_key_retention=timedelta(days=settings.audit_retention_days),
                change_retention=timedelta(minutes=settings.change_retention_minutes),
                batch_size=settings.prune_batch_size,
            ),
            self.audit,
            signing_keys=self.signing_keys,
        )
