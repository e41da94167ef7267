"""Magic links (shared/spec §8.3, endpoint E10; ADR 0048): who may get one, where it may lead,
and the mail that carries it.

Pure rules and text, no I/O: ``services/magic_links.py`` stores the codes and sends the mail.
"""

from datetime import timedelta
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from enum import StrEnum
from urllib.parse import urlsplit

from tessera.core.people import Person

#: Where a link leads when it names no target, or one that is not a path of this server.
DEFAULT_TARGET = "/login"
#: A longer target is not a path anyone links to: it is ignored like an unsafe one.
MAX_TARGET_LENGTH = 2000
#: The path of the confirmation page; the code follows it (``/magic-link/<code>``).
LINK_PATH = "/magic-link/"


class Refusal(StrEnum):
    """Why a person who exists gets no link (the audit trail's ``reason``; never the answer)."""

    DISABLED = "disabled"
    #: People of an external identity provider sign in there (ADR 0048).
    IDENTITY_PROVIDER = "identity_provider"
    #: Agents may use links only when the operator allows it (``magic_link_agents``).
    AGENT = "agent"


def refusal_for(person: Person, *, allow_agents: bool) -> Refusal | None:
    """Why ``person`` may not sign in by a link sent to their address; None when they may."""
    if person.is_disabled:
        return Refusal.DISABLED
    if person.identity_provider is not None:
        return Refusal.IDENTITY_PROVIDER
    if person.is_agent and not allow_agents:
        return Refusal.AGENT
    return None


def safe_target(value: str | None) -> str:
    """``value`` when it is a path on this server, else ``DEFAULT_TARGET``: never an open redirect.

    Only a relative path that starts with one ``/`` passes: not ``//host`` (another site to a
    browser), not ``/\\host`` (which browsers read as ``//host``), no scheme, no host, no blank
    or control character (browsers strip some of them, which can turn ``/\\t/host`` into
    ``//host``).
    """
    if not value or len(value) > MAX_TARGET_LENGTH:
        return DEFAULT_TARGET
    if not value.startswith("/") or value.startswith("//") or "\\" in value:
        return DEFAULT_TARGET
    if any(ord(character) <= 0x20 or ord(character) == 0x7F for character in value):
        return DEFAULT_TARGET
    parts = urlsplit(value)
    if parts.scheme or parts.netloc:
        return DEFAULT_TARGET
    return value


def link_url(public_url: str, code: str) -> str:
    return public_url.rstrip("/") + LINK_PATH + code


def message(
    *,
    sender: str,
    recipient: str,
    helpdesk_name: str,
    link: str,
    lifetime: timedelta,
) -> EmailMessage:
    """The mail that carries a link: plain text, the link alone on its line."""
    minutes = max(1, round(lifetime.total_seconds() / 60))
    mail = EmailMessage()
    mail["From"] = sender
    mail["To"] = recipient
    mail["Subject"] = f"Sign in to {helpdesk_name}"
    mail["Date"] = formatdate(localtime=False)
    mail["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or None)
    # Mail that no one should answer, and that a vacation responder should not answer either.
    mail["Auto-Submitted"] = "auto-generated"
    mail.set_content(
        f"Someone, probably you, asked to sign in to {helpdesk_name} with this address.\n"
        "\n"
        "Open this link to sign in:\n"
        "\n"
        f"{link}\n"
        "\n"
        f"It works once, within {minutes} minutes. If you did not ask for it, ignore this mail:\n"
        "nobody can sign in without the link.\n"
    )
    return mail


def trial_message(*, sender: str, recipient: str, helpdesk_name: str) -> EmailMessage:
    """A mail that only proves the SMTP settings work (``tessera mail test``)."""
    mail = EmailMessage()
    mail["From"] = sender
    mail["To"] = recipient
    mail["Subject"] = f"Test mail from {helpdesk_name}"
    mail["Date"] = formatdate(localtime=False)
    mail["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or None)
    mail["Auto-Submitted"] = "auto-generated"
    mail.set_content(f"{helpdesk_name} can send mail: its SMTP settings work.\n")
    return mail
