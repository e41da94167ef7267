"""Wiring: turn Settings into a database and the services, for the web app and the CLI."""

import logging
import os
import secrets
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from tessera import __version__
from tessera.core.clock import Clock, SystemClock
from tessera.core.credentials import CodeHasher
from tessera.core.passwords import PasswordHasher
from tessera.core.principals import TokenLifetime
from tessera.core.site import SiteInfo
from tessera.oauth.server import OAuthConfig, OAuthContext
from tessera.oauth.service import OAuthService
from tessera.services.account import AccountService
from tessera.services.api_keys import ApiKeyService
from tessera.services.api_tokens import ApiTokenService, TokenPolicy
from tessera.services.audit import AuditService
from tessera.services.authenticate import Authenticator
from tessera.services.change_feed import ChangeFeed
from tessera.services.connected_apps import ConnectedAppsService
from tessera.services.container import Services
from tessera.services.credential_cache import CredentialCache
from tessera.services.first_run import FirstRunService
from tessera.services.housekeeping import Housekeeping, PrunePolicy
from tessera.services.oauth_clients import OAuthClientService
from tessera.services.password_hashing import HashingPool
from tessera.services.password_login import LoginLimits, PasswordLogin
from tessera.services.people import PeopleService
from tessera.services.throttle import Throttle, ThrottleRule
from tessera.services.usage import UsageRecorder
from tessera.services.web_sessions import WebSessionService
from tessera.settings import Settings
from tessera.store import schema
from tessera.store.database import ConnectionBudget, Database, open_database

log = logging.getLogger(__name__)


class InvalidSecretKey(ValueError):
    """The secret key file cannot serve as the key of the code digests."""


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


def secret_key(settings: Settings) -> bytes:
    """The configured secret key, or the one kept in ``secret_key_file`` (made on first use)."""
    if settings.secret_key is not None:
        return settings.secret_key.get_secret_value().encode()
    path = settings.secret_key_file
    if not path.exists():
        _create_secret_file(path)
    try:
        value = path.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeError) as error:
        raise InvalidSecretKey(f"cannot read the secret key file {path}: {error}") from error
    if len(value) < 32:
        raise InvalidSecretKey(f"{path} holds a secret key shorter than 32 characters")
    return value.encode()


def _create_secret_file(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    # O_EXCL: of two processes starting at once, one creates and the other reads.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    with os.fdopen(fd, "w", encoding="utf-8") as file:
        file.write(secrets.token_urlsafe(48) + "\n")
    log.warning("generated a new secret key in %s; keep it with the database", path)


def build_runtime(
    settings: Settings, *, clock: Clock | None = None, passwords: PasswordHasher | None = None
) -> Runtime:
    clock = clock or SystemClock()
    passwords = passwords or PasswordHasher()
    # One budget bounds every connection of this process, whatever pool it sits in (ADR 0021).
    database = open_database(
        settings.database_url,
        ConnectionBudget(settings.db_pool_size, wait_seconds=settings.db_pool_wait_seconds),
    )
    if settings.should_migrate:
        schema.upgrade(database.engine)
    # Built right after the database: it hears of every commit that records a change.
    # A feed silent for longer than a cache entry may live makes the cache start over.
    changes = ChangeFeed(
        database,
        poll_seconds=settings.change_poll_seconds,
        resync_after=settings.credential_cache_seconds,
    )
    hasher = CodeHasher(secret_key(settings))
    throttle = Throttle(settings.redis_url)
    usage = UsageRecorder(database)
    credential_cache = CredentialCache(
        settings.credential_cache_size, timedelta(seconds=settings.credential_cache_seconds)
    )
    # Every change, made here or by another process, drops what it makes stale (ADR 0010, 0011).
    changes.subscribe(credential_cache)
    lifetime = TokenLifetime(
        idle=timedelta(days=settings.token_idle_days) if settings.token_idle_days else None,
        max_age=timedelta(days=settings.token_max_age_days)
        if settings.token_max_age_days
        else None,
    )
    policy = TokenPolicy(
        exchange_enabled=settings.exchange_enabled,
        allow_users=settings.exchange_allow_users,
        lifetime=lifetime,
        device_setup_per_address=ThrottleRule.parse(
            "device-setup-address", settings.device_setup_rate_per_address
        ),
    )
    # One set of counters for every password form (exchange, login page): an attacker gains
    # nothing by switching between them.
    login = PasswordLogin(
        database,
        passwords,
        hasher,
        throttle,
        LoginLimits(
            per_email=ThrottleRule.parse("login-email", settings.exchange_rate_per_email),
            per_address=ThrottleRule.parse("login-address", settings.exchange_rate_per_address),
        ),
        clock,
        hashing=HashingPool(
            threads=settings.password_hash_threads,
            queue=settings.password_hash_queue,
            nice=settings.password_hash_nice,
        ),
    )
    people = PeopleService(database, passwords, clock)
    api_tokens = ApiTokenService(database, hasher, clock, throttle, policy, login)
    web_sessions = WebSessionService(
        database, hasher, clock, login, lifetime=timedelta(hours=settings.session_hours)
    )
    services = Services(
        site=SiteInfo(public_url=settings.public_url, version=__version__),
        authenticator=Authenticator(
            database,
            hasher,
            clock,
            usage,
            lifetime,
            credential_cache,
            allow_query_credentials=settings.allow_query_credentials,
        ),
        people=people,
        first_run=FirstRunService(database, hasher, clock, people),
        api_keys=ApiKeyService(database, hasher, clock),
        oauth_clients=OAuthClientService(database, hasher, clock),
        web_sessions=web_sessions,
        connected_apps=ConnectedAppsService(database, clock),
        api_tokens=api_tokens,
        usage=usage,
        credential_cache=credential_cache,
        audit=AuditService(database, clock, timedelta(days=settings.audit_retention_days)),
        account=AccountService(database, clock, login, web_sessions, api_tokens),
    )
    oauth = OAuthService(
        database,
        OAuthContext(
            config=OAuthConfig(
                access_token_lifetime=timedelta(seconds=settings.oauth_access_token_seconds),
                refresh_token_lifetime=timedelta(days=settings.oauth_refresh_token_days),
                code_lifetime=timedelta(seconds=settings.oauth_code_seconds),
                refresh_grace=timedelta(seconds=settings.oauth_refresh_grace_seconds),
            ),
            hasher=hasher,
            clock=clock,
        ),
    )
    housekeeping = Housekeeping(
        database,
        clock,
        lifetime,
        PrunePolicy(
            grace=timedelta(days=settings.prune_grace_days),
            revoked_key_retention=timedelta(days=settings.audit_retention_days),
            change_retention=timedelta(minutes=settings.change_retention_minutes),
            batch_size=settings.prune_batch_size,
        ),
        services.audit,
    )
    return Runtime(
        settings=settings,
        database=database,
        services=services,
        throttle=throttle,
        oauth=oauth,
        changes=changes,
        housekeeping=housekeeping,
    )
