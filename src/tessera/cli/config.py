"""``tessera config check``: every setting with where it came from, and unsafe choices.

Secrets are never printed: ``secret_key`` is masked, and so is any password inside a URL.
Warnings do not fail the check (exit 0); only settings that do not validate do (exit 1).
"""

import importlib.util
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import typer
from pydantic import SecretStr
from sqlalchemy.exc import ArgumentError

from tessera.cli.commands import summary
from tessera.cli.output import JsonOption, emit, reports_errors, table
from tessera.cli.state import state
from tessera.core.addresses import is_loopback_host
from tessera.core.networks import Networks
from tessera.core.proxies import TrustedProxies
from tessera.settings import ENV_PREFIX, Settings, config_file_path, read_config_file
from tessera.store.database import is_sqlite

app = typer.Typer(no_args_is_help=True, help=summary("config"))

MASK = "********"


def mask_url(value: str) -> str:
    """``postgresql://user:secret@host/db`` → ``postgresql://user:********@host/db``."""
    parts = urlsplit(value)
    if not parts.netloc or parts.password is None:
        return value
    userinfo, _, host = parts.netloc.rpartition("@")
    user = userinfo.partition(":")[0]
    return urlunsplit(parts._replace(netloc=f"{user}:{MASK}@{host}"))


def shown_value(value: object) -> Any:
    """A setting as it may be printed: JSON-ready, secrets masked."""
    if isinstance(value, SecretStr):
        return MASK
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, str):
        return mask_url(value)
    return value


def source_of(name: str, file_values: dict[str, Any]) -> str:
    # Settings match variable names case-insensitively: so must we.
    environment = {key.upper() for key in os.environ}
    if f"{ENV_PREFIX}{name}".upper() in environment:
        return "environment"
    if name in file_values:
        return "config file"
    return "default"


def warnings_for(settings: Settings) -> Iterator[str]:
    public = urlsplit(settings.base_url)
    if public.scheme == "http" and not is_loopback_host(public.hostname or ""):
        yield (
            "public_url is http:// on a host other machines reach: clients would send their "
            "credentials unencrypted; serve it over https://"
        )
    if settings.allow_query_credentials:
        yield (
            "allow_query_credentials is on: API-KEY / API-TOKEN query parameters end up in "
            "access logs, proxy logs and browser history"
        )
    if settings.oauth_allow_insecure_redirects:
        yield (
            "oauth_allow_insecure_redirects is on: OAuth clients may register plain http "
            "redirect URIs to other hosts, where codes and tokens travel unencrypted; turn it "
            "off once no legacy client needs it"
        )
    if settings.exchange_allow_users:
        yield (
            "exchange_allow_users is on: helpdesk users, not only agents, can trade their "
            "password for an API token"
        )
    if settings.secret_key is None:
        yield (
            f"no secret_key is set: the generated key in {settings.secret_key_file} is used; "
            "fine for one node, but every node must share the same key, and it must be kept "
            "with the database (without it, no key or token verifies)"
        )
    try:
        sqlite = is_sqlite(settings.database_url)
    except ArgumentError:
        sqlite = False
        yield "database_url is not a database URL SQLAlchemy can read"
    if settings.redis_url is None and settings.workers > 1:
        yield (
            f"workers is {settings.workers} without redis_url: rate limits are counted per "
            f"process, so each allows {settings.workers} times the configured attempts"
        )
    elif settings.redis_url is None and not sqlite:
        yield (
            "no redis_url: rate limits are counted per process; if several nodes share this "
            "database, each allows the configured attempts (set redis_url)"
        )
    if settings.redis_url is not None and not _redis_answers(settings):
        yield (
            "redis_url does not answer now: until it does, each process counts rate-limit "
            "attempts itself (the server starts anyway; /readyz reports it)"
        )
    if sqlite and settings.workers > 1:
        yield (
            f"SQLite with {settings.workers} workers: every write waits for one file lock; "
            "use PostgreSQL to run several processes"
        )
    if settings.token_idle_days == 0 and settings.token_max_age_days == 0:
        yield "token_idle_days and token_max_age_days are both 0: API tokens never expire"
    if settings.public_url is None and not is_loopback_host(settings.host):
        yield (
            f"host {settings.host} is reachable from other machines and public_url is not set: "
            f"the URLs this server hands out (discover, QR codes, OAuth) say {settings.base_url}; "
            "set public_url to the address clients use"
        )
    if not is_loopback_host(settings.host) and not settings.proxies:
        yield (
            f"host {settings.host} is reachable from other machines and trusted_proxies is "
            "not set: is there a TLS terminator in front? `tessera serve` speaks plain HTTP; "
            "put a proxy that terminates TLS in front and set trusted_proxies to its address"
        )
    if settings.forwarded_allow_ips is not None:
        used = (
            "is used" if settings.trusted_proxies is None else "is ignored: trusted_proxies is set"
        )
        yield (
            f"forwarded_allow_ips is deprecated and {used}; name the proxies in "
            "trusted_proxies (TESSERA_TRUSTED_PROXIES) instead"
        )
    if TrustedProxies.parse(settings.proxies).everyone:
        yield (
            "trusted_proxies is *: any client can choose the address it is throttled under and, "
            "at /authz/*, the request that is checked; list the proxies' addresses instead, "
            "unless nothing but the proxy can reach this server"
        )
    if (
        settings.smtp_host is not None
        and settings.smtp_security == "none"
        and not is_loopback_host(settings.smtp_host)
    ):
        yield (
            f"smtp_security is none for {settings.smtp_host}: sign-in links by e-mail (and any "
            "SMTP password) travel unencrypted to the mail server; use starttls or tls"
        )
    if settings.magic_link_agents and settings.smtp_host is not None:
        yield (
            "magic_link_agents is on: an agent's access rests on their mailbox alone (a link "
            "mailed to it signs them in)"
        )

    if settings.otel_enabled and not otel_installed():
        yield (
            "otel_enabled is on but OpenTelemetry is not installed: the server will not start; "
            "install the otel extra (pip install 'tessera[otel]')"
        )
    if settings.metrics_enabled and Networks.parse(settings.metrics_networks).everyone:
        yield (
            "metrics_networks is *: anyone who reaches this server can read GET /metrics "
            "(request counts, cache sizes, error codes); list the scrapers' networks instead"
        )


def otel_installed() -> bool:
    """Whether the otel extra is there (found, not imported: a check stays fast)."""
    try:
        return importlib.util.find_spec("opentelemetry.instrumentation.asgi") is not None
    except (ModuleNotFoundError, ValueError):  # no opentelemetry package at all
        return False


def _redis_answers(settings: Settings) -> bool:
    from limits.errors import ConfigurationError  # only when Redis is configured

    from tessera.services.throttle import Throttle

    try:
        throttle = Throttle(settings.redis_url, timeout_seconds=settings.redis_timeout_seconds)
    except (ValueError, ConfigurationError):
        return False  # not a URL the rate-limit library can use
    return throttle.store_answers()


def _saml_warnings(ctx: typer.Context) -> Iterator[str]:
    """A SAML user source needs xmlsec1 to check its IdP's signatures (ADR 0049)."""
    from sqlalchemy.engine import make_url

    from tessera.oauth.sign_in import xmlsec1_missing
    from tessera.store.user_sources import list_sources

    settings = state(ctx).settings
    try:
        if is_sqlite(settings.database_url):
            # Reading must not create the file (a check changes nothing).
            path = make_url(settings.database_url).database
            if not path or path == ":memory:" or not Path(path).is_file():
                return
        with state(ctx).services.database.read() as session:
            sources = list_sources(session)
    except Exception:  # noqa: BLE001 - no database to read yet: the settings are still worth checking
        return
    problem = xmlsec1_missing(sources)
    if problem is not None:
        yield problem


def unknown_names(file_values: dict[str, Any]) -> Iterator[str]:
    """Misspelt settings are ignored by Settings; say so, since nothing else will."""
    known = {name.upper() for name in Settings.model_fields} | {"CONFIG"}
    for key in sorted(os.environ):
        if key.upper().startswith(ENV_PREFIX) and key.upper()[len(ENV_PREFIX) :] not in known:
            yield f"environment variable {key} is not a setting and is ignored"
    for key in sorted(file_values):
        # The file source matches names exactly, unlike the environment.
        if key not in Settings.model_fields:
            yield f"config file key {key!r} is not a setting and is ignored"


def _cell(value: object) -> str:
    if value is None:
        return "(not set)"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


@app.command("check")
@reports_errors
def check(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """Print every setting, its source (environment, config file or default) and warnings."""
    settings = state(ctx).settings
    path = config_file_path()
    file_values = read_config_file(path)
    rows = [
        {
            "name": name,
            "value": shown_value(getattr(settings, name)),
            "source": source_of(name, file_values),
        }
        for name in Settings.model_fields
    ]
    warnings = [*warnings_for(settings), *unknown_names(file_values), *_saml_warnings(ctx)]
    data = {
        "config_file": None if path is None else str(path),
        "settings": rows,
        "warnings": warnings,
    }
    lines = [f"Config file: {path if path is not None else 'none'}", ""]
    cells = [[row["name"], _cell(row["value"]), row["source"]] for row in rows]
    lines.append(table(["SETTING", "VALUE", "SOURCE"], cells))
    lines.append("")
    if warnings:
        lines.append("Warnings:")
        lines.extend(f"  - {warning}" for warning in warnings)
    else:
        lines.append("No warnings.")
    emit(as_json, data, "\n".join(lines))
