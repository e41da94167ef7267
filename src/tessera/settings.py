"""Configuration: environment variables ``TESSERA_*`` over an optional TOML file over defaults.

Built once, by ``tessera.app.create_app`` or the CLI's root command, and passed down as plain
values; nothing deeper reads it (checked by import-linter). The file is the one named by
``TESSERA_CONFIG`` (or ``tessera --config``), else ``./tessera.toml`` when it exists.

A pydantic model reads the two sources itself (``Settings.__init__``) rather than through
pydantic-settings: that package's import alone (its CLI and dotenv sources, asyncio) cost more
than a third of a ``tessera`` command's start (ADR 0022). What it did for us is a few lines:
names matched case-insensitively under the prefix, values handed to pydantic as strings, which
pydantic's lax mode turns into the fields' types.
"""

import os
import tomllib
import uuid
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from tessera.core.addresses import url_of_bound_address
from tessera.core.networks import Networks
from tessera.core.site import AGENT_CLIENT_APPS

ENV_PREFIX = "TESSERA_"
DEFAULT_CONFIG_FILE = Path("tessera.toml")


def config_file_path() -> Path | None:
    named = os.environ.get(f"{ENV_PREFIX}CONFIG")
    if named:
        return Path(named)
    return DEFAULT_CONFIG_FILE if DEFAULT_CONFIG_FILE.is_file() else None


def read_config_file(path: Path | None) -> dict[str, Any]:
    if path is None:
        return {}
    with path.open("rb") as file:
        return tomllib.load(file)


def environment_values(names: set[str]) -> dict[str, str]:
    """``TESSERA_<NAME>`` for every setting name, matched in any case, as the raw strings."""
    wanted = {f"{ENV_PREFIX}{name}".upper(): name for name in names}
    return {
        wanted[key.upper()]: value for key, value in os.environ.items() if key.upper() in wanted
    }


class Settings(BaseModel):
    """Every setting; ``Settings()`` reads the environment and the file, ``model_validate`` not."""

    model_config = ConfigDict(extra="forbid")

    def __init__(self, **values: Any) -> None:
        # Precedence: what the caller passes, then the environment, then the file, then defaults.
        names = set(type(self).model_fields)
        from_file = read_config_file(config_file_path())
        known_from_file = {name: value for name, value in from_file.items() if name in names}
        super().__init__(**{**known_from_file, **environment_values(names), **values})

    database_url: str = Field(
        "sqlite:///tessera.db", description="SQLAlchemy URL; postgresql://… uses psycopg 3."
    )
    public_url: str | None = Field(
        None,
        description="Where clients reach this server (discover, QR codes, OAuth metadata);"
        " default: the address `tessera serve` binds.",
    )
    host: str = Field("127.0.0.1", description="Address `tessera serve` listens on.")
    port: int = Field(8000, ge=0, le=65535)
    workers: int = Field(1, ge=1, le=64, description="Server processes.")
    secret_key: SecretStr | None = Field(
        None,
        description="Key of the HMAC digests of codes (32+ characters), or its versions"
        " (docs/operations.md#secret-keys); the same on every node.",
    )
    secret_key_file: Path = Field(
        Path("tessera.secret"), description="Where a generated secret key is kept when none is set."
    )
    redis_url: str | None = Field(
        None, description="Redis for shared rate limits across workers and nodes."
    )
    redis_timeout_seconds: float = Field(
        0.5, gt=0, le=30, description="How long Redis may take to connect or to answer."
    )
    exchange_enabled: bool = Field(True, description="Serve POST /api/v2/api_tokens.")
    exchange_allow_users: bool = Field(
        False, description="Let non-agents use the password exchange and device setup."
    )
    exchange_rate_per_email: str = Field("5/minute;30/hour")
    exchange_rate_per_address: str = Field("20/minute;300/hour")
    device_setup_rate_per_address: str = Field("20/minute;300/hour")
    smtp_host: str | None = Field(
        None,
        description="The SMTP server that sends Tessera's mail (magic links); none: no mail, and"
        " POST /api/v2/api_tokens/magic_link/email answers 403.",
    )
    smtp_port: int = Field(587, ge=1, le=65535)
    smtp_security: Literal["starttls", "tls", "none"] = Field(
        "starttls",
        description="starttls (port 587), tls from the first byte (port 465), or none (a relay"
        " on the same host only).",
    )
    smtp_user: str | None = Field(None, description="Log in with this user name, when set.")
    smtp_password: SecretStr | None = Field(None, description="The SMTP user's password.")
    smtp_password_file: Path | None = Field(
        None, description="A file that holds the SMTP password (instead of smtp_password)."
    )
    smtp_from: str | None = Field(
        None, description="The sender of Tessera's mail; needed with smtp_host."
    )
    smtp_timeout_seconds: float = Field(
        10.0, gt=0, le=300, description="How long the SMTP server may take to connect or answer."
    )
    smtp_ca_file: Path | None = Field(
        None, description="CA bundle (PEM) to check the SMTP server's certificate."
    )
    mail_attempts: int = Field(
        3, ge=1, le=10, description="Tries per mail before it is reported as not sent."
    )
    mail_retry_seconds: float = Field(
        10.0,
        ge=0,
        le=3600,
        description="The wait before a mail's second try; doubled before each later one.",
    )
    magic_link_minutes: int = Field(
        15, ge=1, le=300, description="How long a magic link works (Deskpro: 5 hours at most)."
    )
    magic_link_agents: bool = Field(
        False, description="Let agents sign in by magic link too (users always may)."
    )
    magic_link_rate_per_email: str = Field(
        "3/10minutes;10/day", description="Magic links asked for one e-mail address."
    )
    magic_link_rate_per_address: str = Field(
        "10/minute;100/hour", description="Magic links asked for, or opened, per client address."
    )
    secret_scanning_keys_file: Path | None = Field(
        None,
        description="GitHub's secret-scanning public keys (a saved copy of"
        " https://api.github.com/meta/public_keys/secret_scanning): turns on the partner"
        " endpoint POST /api/v2/secret_scanning/reports, which revokes reported credentials.",
    )
    secret_scanning_rate_per_address: str = Field(
        "60/minute;1000/hour", description="Secret-scanning reports per client address."
    )
    token_idle_days: int = Field(
        90, ge=0, description="Exchange/device tokens expire after this many days unused; 0 never."
    )
    token_max_age_days: int = Field(0, ge=0, description="Absolute token lifetime in days; 0 none.")
    allow_query_credentials: bool = Field(
        False, description="Accept API-KEY / API-TOKEN query parameters (they leak into logs)."
    )
    usage_flush_seconds: float = Field(5.0, gt=0, le=3600)
    credential_cache_size: int = Field(
        100_000,
        ge=0,
        le=10_000_000,
        description="Verified keys, tokens and people kept in memory per process; 0 disables.",
    )
    credential_cache_seconds: float = Field(
        30.0,
        gt=0,
        le=300,
        description="A cached credential is read from the database again after this long,"
        " even if no change message arrived.",
    )
    credential_outage_grace_seconds: float = Field(
        0.0,
        ge=0,
        le=86400,
        description="While the database does not answer, cached credentials keep being served"
        " for up to this long past their usual time; 0: not past it (a credential verified"
        " within credential_cache_seconds before the outage works until then).",
    )
    password_hash_threads: int = Field(
        default_factory=lambda: os.cpu_count() or 1,
        ge=1,
        le=64,
        description="Concurrent argon2 hashes; more only queue for the same cores.",
    )
    password_hash_queue: int = Field(
        32,
        ge=0,
        le=10000,
        description="Sign-ins waiting for a hashing thread; beyond that they get 429 at once.",
    )
    password_hash_nice: int = Field(
        10,
        ge=0,
        le=19,
        description="How far hashing threads lower their CPU priority (Linux), so API requests"
        " come first; 0 keeps them equal.",
    )
    thread_pool_size: int = Field(
        40, ge=4, le=1000, description="Worker threads for everything without threads of its own."
    )
    credential_threads: int = Field(
        16,
        ge=1,
        le=1000,
        description="Worker threads of the per-request credential reads, apart from the rest.",
    )
    sign_in_threads: int = Field(
        8,
        ge=1,
        le=1000,
        description="Worker threads of password sign-ins (rate limits, lookups; hashing has its"
        " own), apart from the rest: a Redis that hangs holds these only.",
    )
    db_pool_size: int = Field(
        20,
        ge=1,
        le=500,
        description="The most PostgreSQL connections one process opens, every pool included"
        " (a fifth of them, at most 4, kept for the credential check).",
    )
    db_pool_wait_seconds: float = Field(
        10.0,
        gt=0,
        le=300,
        description="How long a request waits for a free PostgreSQL connection before a 503.",
    )
    max_body_kib: int = Field(
        64,
        ge=1,
        le=1024 * 1024,
        description="The largest request body a route accepts, in KiB (credential endpoints"
        " take at most 16 KiB, the batch endpoint 1 MiB).",
    )
    http_body_timeout_seconds: float = Field(
        30.0, gt=0, le=3600, description="How long a request body may take to arrive."
    )
    http_header_timeout_seconds: float = Field(
        10.0, gt=0, le=600, description="How long a request's headers may take to arrive."
    )
    db_connect_timeout_seconds: int = Field(
        5, ge=1, le=300, description="How long opening a PostgreSQL connection may take."
    )
    db_statement_timeout_seconds: float = Field(
        15.0,
        ge=0,
        le=3600,
        description="PostgreSQL's statement_timeout for the server's connections; 0: none.",
    )
    db_lock_timeout_seconds: float = Field(
        5.0,
        ge=0,
        le=3600,
        description="PostgreSQL's lock_timeout for the server's connections; 0: none.",
    )
    auto_migrate: bool | None = Field(
        None, description="Migrate on start; default yes for SQLite, no for PostgreSQL."
    )
    oauth_access_token_seconds: int = Field(3600, ge=60, le=86400)
    oauth_refresh_token_days: int = Field(14, ge=1, le=365)
    oauth_refresh_grace_seconds: int = Field(
        60, ge=0, le=600, description="The rotated-away refresh token stays usable this long."
    )
    oauth_code_seconds: int = Field(60, ge=10, le=60, description="Authorization code lifetime.")
    oauth_device_code_seconds: int = Field(
        600,
        ge=60,
        le=1800,
        description="How long a device's code waits for a person to approve it (RFC 8628).",
    )
    device_code_rate_per_person: str = Field(
        "10/minute;50/hour", description="Codes a signed-in person may type on /device."
    )
    device_code_rate_per_address: str = Field(
        "30/minute;300/hour", description="Codes typed on /device per client address."
    )
    sign_in_callback_rate_per_address: str = Field(
        "30/minute;300/hour",
        description="Answers from identity providers (the OpenID and SAML sign-in callbacks,"
        " the console's and E9's) per client address: each costs real work, a SAML signature"
        " checked by xmlsec1 or a token exchange with the provider.",
    )
    device_authorization_rate_per_address: str = Field(
        "30/minute;500/hour",
        description="Devices' requests for codes at /oauth/device_authorization per client"
        " address.",
    )
    oauth_allow_insecure_redirects: bool = Field(
        False,
        description="Let OAuth clients register and use plain http redirect URIs to hosts other"
        " than loopback (legacy clients only: codes and tokens then travel unencrypted).",
    )
    oauth_client_documents: bool = Field(
        True,
        description="Accept client ID metadata documents: an https URL as a client_id, its"
        " document fetched from there (docs/oauth.md).",
    )
    oauth_client_document_hosts: list[str] = Field(
        default_factory=list,
        description="Only these hosts may serve client metadata documents (comma-separated;"
        " .example.com: its subdomains); empty: any public host.",
    )
    oauth_client_document_networks: str | None = Field(
        None,
        description="Networks the document fetch may reach although they are not public"
        " (CIDR, comma-separated): internal deployments only.",
    )
    oauth_client_document_ca_file: Path | None = Field(
        None,
        description="CA bundle (PEM) to check document servers' certificates; default: the"
        " system's.",
    )
    oauth_client_document_timeout_seconds: float = Field(
        5.0, gt=0, le=30, description="The longest a metadata document fetch may take."
    )
    oauth_client_document_concurrent_fetches: int = Field(
        4,
        ge=1,
        le=64,
        description="Metadata document fetches in progress at once (and as many JWK Set"
        " fetches, counted apart); one more is refused at once, so slow URLs hold at most"
        " these worker threads.",
    )
    oauth_registration: Literal["off", "initial_token", "open"] = Field(
        "off",
        description="Dynamic client registration (RFC 7591) at /oauth/register: off, only with"
        " an initial access token an admin made (initial_token), or open to anyone.",
    )
    oauth_registration_rate_per_address: str = Field(
        "10/minute;100/day",
        description="Requests to /oauth/register (and a registration's own address) per client"
        " address.",
    )
    oidc_key_rotation_days: int = Field(
        90,
        ge=0,
        le=3650,
        description="Replace the ID token signing keys when this old (days); 0: only by hand.",
    )
    session_hours: int = Field(
        8,
        ge=1,
        le=720,
        description="A console session ends this long after sign-in, however busy (absolute).",
    )
    session_idle_minutes: int = Field(
        15,
        ge=1,
        le=1440,
        description="A console session ends after this long without a page view (idle).",
    )
    trusted_proxies: str | None = Field(
        None,
        description="Proxies (CIDRs or addresses, comma-separated; * for any) whose"
        " X-Forwarded-For (the client address) and forwarded request (the guard's"
        " X-Forwarded-*, X-Original-*) are believed.",
    )
    forwarded_allow_ips: str | None = Field(
        None, description="Deprecated: the old name of trusted_proxies, used when it is not set."
    )
    routes_file: Path | None = Field(
        None,
        description="The guarded API's route table (TOML): which endpoint tags each request"
        " to /authz/* needs; `tessera serve --routes`.",
    )
    identity_headers: Literal["tessera", "authelia"] = Field(
        "tessera",
        description="Names of the identity headers an allowed /authz/* answer carries: X-Tessera-*,"
        " or Authelia's Remote-User, Remote-Email, Remote-Name for the person.",
    )
    authz_max_age_seconds: int = Field(
        0,
        ge=0,
        le=300,
        description="Cache-Control max-age of /authz/* answers: how long a proxy may reuse one"
        " (a revocation waits that long there); at most credential_cache_seconds.",
    )
    refusal_cache_size: int = Field(
        10_000,
        ge=0,
        le=1_000_000,
        description="Refused credentials (unknown id, wrong code, revoked) remembered per process,"
        " so that repeating one does not reach the database; 0 disables.",
    )
    audit_retention_days: int = Field(
        365, ge=1, description="Audit events older than this many days are pruned."
    )
    change_poll_seconds: float = Field(
        0.25, gt=0, le=10, description="How often each process reads the credential change feed."
    )
    change_stream_keep_alive_seconds: float = Field(
        10,
        ge=1,
        le=300,
        description="GET /authz/changes sends a keep-alive line this often when nothing changed"
        " (a guard that hears nothing for longer drops its cache and reconnects).",
    )
    change_retention_minutes: int = Field(
        60, ge=1, le=10080, description="Change-feed rows are kept this long."
    )
    prune_every_seconds: float = Field(
        300, gt=0, le=86400, description="How often each process prunes ended rows."
    )
    prune_grace_days: int = Field(
        7, ge=1, description="Revoked and expired tokens, codes and sessions are kept this long."
    )
    prune_batch_size: int = Field(1000, ge=10, le=100000, description="Rows per delete.")
    helpdesk_name: str = Field(
        "Tessera", min_length=1, max_length=200, description="The name apps show for the helpdesk."
    )
    helpdesk_uuid: str | None = Field(
        None,
        description="discover's helpdesk_uuid (e.g. the replaced Deskpro's); default: derived"
        " from the secret key.",
    )
    agent_client_apps: list[str] = Field(
        default_factory=list,
        description="The apps the helpdesk API serves (tickets, chat, crm, feedback, publish,"
        " tasks; comma-separated): agent-client info's enabled flags.",
    )
    log_level: str = Field("info")
    log_format: Literal["text", "json"] = Field(
        "text", description="Log lines as text, or as one JSON object each (for log pipelines)."
    )
    verbose: bool = Field(
        False,
        description="Log start-up detail (migrations, server processes) as well; "
        "`tessera serve --verbose`.",
    )
    access_log: bool = Field(
        True,
        description="A log line per request (uvicorn's access log); off behind a proxy that "
        "logs requests itself. Never written when the log level is above info.",
    )

    metrics_enabled: bool = Field(
        True, description="Measure requests and serve the Prometheus metrics at GET /metrics."
    )
    metrics_networks: str = Field(
        "127.0.0.0/8, ::1",
        description="Clients (CIDRs or addresses, comma-separated; * for any) answered at"
        " GET /metrics without a credential; others need an admin's key or token (a key may be"
        " limited to the metrics.* tag). Empty: a credential always.",
    )
    otel_enabled: bool = Field(
        False,
        description="Trace requests with OpenTelemetry (the otel extra: pip install"
        " 'tessera[otel]'); the exporter is configured by the standard OTEL_* variables.",
    )

    @field_validator("public_url")
    @classmethod
    def _absolute_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if not value.startswith(("http://", "https://")):
            raise ValueError("must be an absolute http:// or https:// URL")
        return value.rstrip("/")

    @field_validator("trusted_proxies", "forwarded_allow_ips", "metrics_networks")
    @classmethod
    def _networks(cls, value: str | None) -> str | None:
        Networks.parse(value)  # a ValueError names the item it cannot read
        return value

    @model_validator(mode="after")
    def _max_age_within_the_revocation_promise(self) -> "Settings":
        if self.authz_max_age_seconds > self.credential_cache_seconds:
            raise ValueError(
                "authz_max_age_seconds cannot exceed credential_cache_seconds: a proxy would"
                " reuse an answer after every process has forgotten it"
            )
        return self

    @model_validator(mode="after")
    def _mail_needs_a_sender(self) -> "Settings":
        if self.smtp_host is not None and not self.smtp_from:
            raise ValueError("smtp_from is needed with smtp_host: the sender of Tessera's mail")
        if self.smtp_password is not None and self.smtp_password_file is not None:
            raise ValueError("set smtp_password or smtp_password_file, not both")
        return self

    @field_validator("secret_key")
    @classmethod
    def _long_secret(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < 32:
            raise ValueError("must be at least 32 characters")
        return value

    @field_validator("helpdesk_uuid")
    @classmethod
    def _uuid(cls, value: str | None) -> str | None:
        return None if value is None else str(uuid.UUID(value))

    @field_validator("oauth_client_document_hosts", mode="before")
    @classmethod
    def _host_names(cls, value: object) -> object:
        # The environment gives "a.example, .b.example"; a TOML file gives a list.
        if isinstance(value, str):
            value = [name.strip().lower() for name in value.split(",") if name.strip()]
        return value

    @field_validator("oauth_client_document_networks")
    @classmethod
    def _document_networks(cls, value: str | None) -> str | None:
        if Networks.parse(value).everyone:
            raise ValueError("name the networks; * would let the fetch reach any address")
        return value

    @field_validator("agent_client_apps", mode="before")
    @classmethod
    def _app_names(cls, value: object) -> object:
        # The environment gives "tickets, chat"; a TOML file gives a list.
        if isinstance(value, str):
            value = [name for name in value.split(",") if name.strip()]
        if isinstance(value, list):
            value = [name.strip().lower() if isinstance(name, str) else name for name in value]
            unknown = [name for name in value if name not in AGENT_CLIENT_APPS]
            if unknown:
                raise ValueError(f"unknown apps {unknown}: choose from {list(AGENT_CLIENT_APPS)}")
        return value

    @property
    def base_url(self) -> str:
        """Where clients reach this server: ``public_url``, else the address it binds.

        Without a configured public URL, every URL the server prints or serves follows the
        host and port it actually listens on (``tessera serve --port 8123`` says ``:8123``).
        """
        if self.public_url is not None:
            return self.public_url
        return url_of_bound_address(self.host, self.port)

    @property
    def proxies(self) -> str | None:
        """The trusted proxies: ``trusted_proxies``, else its deprecated alias."""
        return (
            self.trusted_proxies if self.trusted_proxies is not None else self.forwarded_allow_ips
        )

    @property
    def should_migrate(self) -> bool:
        if self.auto_migrate is not None:
            return self.auto_migrate
        return self.database_url.startswith("sqlite")
