"""A real SMTP server on loopback for the tests (aiosmtpd), and the mail it received.

The server runs aiosmtpd's asyncio SMTP implementation on a thread of its own, on a port the
system picks; every mail that reaches it is kept, parsed, for the test to read.
"""

import asyncio
import email
import email.policy
import logging
import re
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any, cast

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from tessera.app import create_app
from tessera.bootstrap import Runtime
from tests.clock import ManualClock
from tests.conftest import extra_runtime, wipe
from tests.live import serving
from tests.secrets_seen import remember

#: The code of a magic link in a mail's text.
LINK = re.compile(r"(https?://\S+/magic-link/(TSRM[23456789ABCDGHJKMNPQRSTWXYZ]+))")


class Inbox:
    """What the server received, in order; safe to read from the test's thread."""

    def __init__(self) -> None:
        self._mails: list[EmailMessage] = []
        self._recipients: list[list[str]] = []
        self._arrived = threading.Condition()

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.original_content or b""
        parsed = email.message_from_bytes(content, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        with self._arrived:
            self._mails.append(parsed)
            self._recipients.append([str(to) for to in envelope.rcpt_tos])
            self._arrived.notify_all()
        return "250 OK"

    @property
    def mails(self) -> list[EmailMessage]:
        with self._arrived:
            return list(self._mails)

    def recipients(self) -> list[list[str]]:
        with self._arrived:
            return list(self._recipients)

    def wait_for(self, count: int, timeout: float = 30) -> list[EmailMessage]:
        """The first ``count`` mails, once they have arrived."""
        deadline = time.monotonic() + timeout
        with self._arrived:
            while len(self._mails) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"{len(self._mails)} mails arrived, not {count}")
                self._arrived.wait(left)
            return list(self._mails[:count])

    def clear(self) -> None:
        with self._arrived:
            self._mails.clear()
            self._recipients.clear()


def link_in(mail: EmailMessage) -> tuple[str, str]:
    """The magic link in a mail and its code (remembered as a secret: no log may hold it)."""
    body = mail.get_body(("plain",))
    assert body is not None
    found = LINK.search(body.get_content())
    assert found is not None, body.get_content()
    remember(found[2])
    return found[1], found[2]


class _LoopbackController(Controller):
    """aiosmtpd's controller on a port the system picks (it expects one chosen beforehand)."""

    def _trigger_server(self) -> None:
        # What aiosmtpd's own does (one connection, so that its factory runs), on the port the
        # system gave.
        server = cast(asyncio.Server, self.server)
        self.port = server.sockets[0].getsockname()[1]
        with socket.create_connection((self.hostname, self.port), 1.0) as probe:
            probe.recv(1024)


@contextmanager
def smtp_server() -> Iterator[tuple[Inbox, int]]:
    """A listening SMTP server on 127.0.0.1: its inbox and port."""
    # aiosmtpd logs every command it hears (the recipients among them): not worth a line here.
    logging.getLogger("mail.log").setLevel(logging.WARNING)
    inbox = Inbox()
    controller = _LoopbackController(inbox, hostname="127.0.0.1", port=0)
    controller.start()
    try:
        yield inbox, controller.port
    finally:
        controller.stop()


def closed_port() -> int:
    """A loopback port nothing listens on: an SMTP server that is down."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


@dataclass(frozen=True, slots=True)
class MailSite:
    """A Tessera server that sends its mail to a real SMTP server of the test's."""

    runtime: Runtime
    url: str
    inbox: Inbox
    smtp_port: int

    def settle(self) -> None:
        """Wait until every link asked for has been mailed (or given up on)."""
        self.runtime.services.magic_links.wait_for_mail()

    def clean(self, clock: ManualClock) -> None:
        self.settle()
        wipe(self.runtime)
        clock.reset()
        self.inbox.clear()


def mail_settings(port: int, **overrides: object) -> dict[str, Any]:
    """Settings for a server that mails through the SMTP server on ``port`` (plain SMTP)."""
    values: dict[str, Any] = {
        "smtp_host": "127.0.0.1",
        "smtp_port": port,
        "smtp_security": "none",
        "smtp_from": "helpdesk@example.test",
        "smtp_timeout_seconds": 5,
        # Every request of the suite comes from 127.0.0.1: per-address limits would trip.
        "magic_link_rate_per_address": "100000/minute",
    }
    values.update(overrides)
    return values


@contextmanager
def mail_site(database_url: str, clock: ManualClock, **overrides: object) -> Iterator[MailSite]:
    """A server of its own on the session's database, reading ``clock``, with an SMTP server."""
    with (
        smtp_server() as (inbox, port),
        extra_runtime(database_url, clock=clock, **mail_settings(port, **overrides)) as runtime,
        serving(create_app(runtime=runtime)) as url,
    ):
        yield MailSite(runtime, url, inbox, port)
        runtime.services.magic_links.wait_for_mail()
