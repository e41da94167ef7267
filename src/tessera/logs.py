"""Logging: one format with the request id, and a filter that keeps secrets out of log lines."""

import contextvars
import json
import logging
import re
from datetime import UTC, datetime

#: The id of the request being handled, for every log line written while handling it.
request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")

_SECRETS = [
    # ID:CODE credentials in any text (paths, messages, exceptions).
    (re.compile(r"\b(\d+):[23456789ABCDGHJKMNPQRSTWXYZ]{16,}\b"), r"\1:[redacted]"),
    # Codes that travel alone (refresh tokens, client secrets, magic links), known by their
    # kind prefix.
    (re.compile(r"\b(TSR[KTRSM])[23456789ABCDGHJKMNPQRSTWXYZ]{16,}\b"), r"\1[redacted]"),
    # The one-time code in a device-setup, first-run setup or magic link URL is the credential.
    (re.compile(r"(device_setup/|/setup/|/magic-link/)[^\s/?\"']+"), r"\1[redacted]"),
    # Query-string credentials, when an operator allowed them.
    (re.compile(r"((?:API-KEY|API-TOKEN)=)[^&\s\"]+", re.IGNORECASE), r"\1[redacted]"),
    # A device's user code in verification_uri_complete (/device?user_code=…, RFC 8628), also
    # encoded in the sign-in page's ``next``.
    (re.compile(r"(user_code(?:=|%3D))[^&%\s\"]+", re.IGNORECASE), r"\1[redacted]"),
    # An ID token sent back as a hint (/oauth/authorize, /oauth/logout; the sign-in page's
    # ``next``): it names the person and their address, and proves a sign-in.
    (re.compile(r"(id_token_hint(?:=|%3D))[^&%\s\"]+", re.IGNORECASE), r"\1[redacted]"),
    # An identity provider's authorization code, come back to a user source's callback.
    (re.compile(r"(/callback(?:/\w+)?\?(?:[^\s\"]*?&)?code=)[^&\s\"]+"), r"\1[redacted]"),
]


#: Whatever any of ``_SECRETS`` could match starts with one of these: one search over a line
#: that holds none (nearly every access line) instead of four substitutions.
_MIGHT_HOLD_A_SECRET = re.compile(
    r"\d:[23456789ABCDGHJKMNPQRSTWXYZ]{16}|TSR[KTRSM]|device_setup/|/setup/|/magic-link/"
    r"|(?i:API-KEY=|API-TOKEN=)|(?i:user_code=|user_code%3D)"
    r"|(?i:id_token_hint=|id_token_hint%3D)|/callback"
)


def redact(text: str) -> str:
    if _MIGHT_HOLD_A_SECRET.search(text) is None:
        return text
    for pattern, replacement in _SECRETS:
        text = pattern.sub(replacement, text)
    return text


class RedactingFilter(logging.Filter):
    """Rewrites a record's message with secrets masked (attached to loggers and handlers).

    A record passes a logger's filter and then a handler's: it is read once, and marked.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "tessera_redacted", False):
            return True
        args = record.args
        if record.name == "uvicorn.access" and isinstance(args, tuple) and len(args) == 5:
            # An access line's one place for a secret is its path: masked there, the line keeps
            # its parts (the JSON format writes them as fields).
            path = args[2]
            if isinstance(path, str):
                cleaned_path = redact(path)
                if cleaned_path != path:
                    record.args = (*args[:2], cleaned_path, *args[3:])
        else:
            message = record.getMessage()
            cleaned = redact(message)
            if cleaned != message:
                record.msg, record.args = cleaned, None
        record.tessera_redacted = True
        return True


#: Orchestrators and Prometheus ask these every few seconds: their successful answers are not
#: worth a line.
_PROBE_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})


class ProbeFilter(logging.Filter):
    """Drops uvicorn's access line of a successful probe or scrape unless debugging.

    uvicorn's access record holds ``(client, method, path, http version, status)`` as args.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        probe_answered = (
            isinstance(args, tuple)
            and len(args) == 5
            and args[2] in _PROBE_PATHS
            and args[4] == 200
        )
        return not probe_answered or logging.getLogger().isEnabledFor(logging.DEBUG)


class _RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id.get()
        return True


#: What starting a server says at the info level that a person starting it does not need: each
#: migration step, each server process starting and stopping. Shown with ``verbose``.
_START_UP_DETAIL = ("alembic", "uvicorn.error")


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC, ISO 8601), level, logger, request id, message; an
    access line's client, method, path, HTTP version and status as fields of their own; an
    exception's traceback. Messages are redacted before they get here (``RedactingFilter``)."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "request_id": getattr(record, "request_id", "-"),
            "message": record.getMessage(),
        }
        args = record.args
        if record.name == "uvicorn.access" and isinstance(args, tuple) and len(args) == 5:
            client, method, path, version, status = args
            line.update(client=client, method=method, path=path, http=version, status=status)
        if record.exc_info:
            line["exception"] = redact(self.formatException(record.exc_info))
        return json.dumps(line, ensure_ascii=False, default=str)


def configure_logging(
    level: str = "info",
    *,
    access_log: bool = True,
    verbose: bool = False,
    json_lines: bool = False,
) -> None:
    """Log to stderr with request ids; redact on the server loggers that print paths.

    ``access_log``: uvicorn's line per request, kept only at the info level or below.
    ``verbose``: start-up detail too (migrations, processes); without it those loggers say
    only warnings and errors. ``json_lines``: one JSON object per line (``JsonFormatter``).
    """
    handler = logging.StreamHandler()
    handler.setFormatter(
        JsonFormatter()
        if json_lines
        else logging.Formatter("%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s")
    )
    handler.addFilter(_RequestIdFilter())
    handler.addFilter(RedactingFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    install_redaction()
    detailed = verbose or root.isEnabledFor(logging.DEBUG)
    for name in _START_UP_DETAIL:
        logging.getLogger(name).setLevel(logging.NOTSET if detailed else logging.WARNING)
    if not access_log or not root.isEnabledFor(logging.INFO):
        # uvicorn builds an access line whenever its logger has somewhere to send it (it asks
        # ``hasHandlers()`` once per connection): detached, not even the path is formatted.
        access = logging.getLogger("uvicorn.access")
        access.handlers[:] = []
        access.propagate = False


def install_redaction() -> None:
    """Mask secrets at the source loggers, so every handler (and test capture) sees them masked."""
    for name in ("uvicorn.access", "uvicorn.error", "uvicorn"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactingFilter) for f in logger.filters):
            logger.addFilter(RedactingFilter())
        if name == "uvicorn.access" and not any(isinstance(f, ProbeFilter) for f in logger.filters):
            logger.addFilter(ProbeFilter())
        logger.propagate = True
        if name.startswith("uvicorn"):
            logger.handlers[:] = []
