"""A real SMTP server on loopback for the tests (aiosmtpd), and the mail it received.

The server runs aiosmtpd's asyncio SMTP implementation on a thread of its own, on a port the
system picks; every mail that reaches it is kept, parsed, for the test to read.
"""

import asyncio
import email
import email.policy
import ipaddress
import logging
import re
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any, cast

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

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
        #: For each mail: whether it came over TLS, and whether its sender had logged in.
        self._sessions: list[tuple[bool, bool]] = []
        self._arrived = threading.Condition()

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.original_content or b""
        parsed = email.message_from_bytes(content, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        with self._arrived:
            self._mails.append(parsed)
            self._recipients.append([str(to) for to in envelope.rcpt_tos])
            self._sessions.append((_over_tls(server, session), bool(session.authenticated)))
            self._arrived.notify_all()
        return "250 OK"

    @property
    def mails(self) -> list[EmailMessage]:
        with self._arrived:
            return list(self._mails)

    def recipients(self) -> list[list[str]]:
        with self._arrived:
            return list(self._recipients)

    def sessions(self) -> list[tuple[bool, bool]]:
        with self._arrived:
            return list(self._sessions)

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
            self._sessions.clear()


def _over_tls(server: SMTP, session: Session) -> bool:
    """STARTTLS marks the session; a connection that was TLS from the start shows on its
    transport only."""
    transport = server.transport
    return session.ssl is not None or (
        transport is not None and transport.get_extra_info("ssl_object") is not None
    )


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
            if self.ssl_context is None:
                probe.recv(1024)
                return
            # Only to start the server's side: no certificate is checked here.
            client = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            client.check_hostname = False
            client.verify_mode = ssl.CERT_NONE
            with client.wrap_socket(probe) as wrapped:
                wrapped.recv(1024)


def _accept(login: str, password: str) -> Callable[..., AuthResult]:
    def authenticate(
        server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: object
    ) -> AuthResult:
        if not isinstance(data, LoginPassword):
            return AuthResult(success=False)
        right = data.login == login.encode() and data.password == password.encode()
        return AuthResult(success=right, handled=False)

    return authenticate


@contextmanager
def smtp_server(
    *,
    starttls: ssl.SSLContext | None = None,
    implicit_tls: ssl.SSLContext | None = None,
    login: tuple[str, str] | None = None,
) -> Iterator[tuple[Inbox, int]]:
    """A listening SMTP server on 127.0.0.1: its inbox and port.

    ``starttls``: offers STARTTLS with this context and refuses mail without it;
    ``implicit_tls``: TLS from the first byte; ``login``: the only user and password accepted
    (and mail only after logging in).
    """
    # aiosmtpd logs every command it hears (the recipients among them): not worth a line here.
    logging.getLogger("mail.log").setLevel(logging.WARNING)
    inbox = Inbox()
    options: dict[str, Any] = {"server_hostname": "mail.example.test"}
    if starttls is not None:
        options.update(tls_context=starttls, require_starttls=True)
    if login is not None:
        options.update(authenticator=_accept(*login), auth_required=True)
    if implicit_tls is not None:
        # aiosmtpd does not count a connection that was TLS from the start as TLS when it
        # decides whether to offer AUTH (it is), and warns when AUTH is required without its
        # TLS: a login is checked when given, and the inbox tells whether one was.
        options.update(ssl_context=implicit_tls, auth_require_tls=False, auth_required=False)
    controller = _LoopbackController(inbox, hostname="127.0.0.1", port=0, **options)
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


def self_signed_tls(folder: Path) -> tuple[ssl.SSLContext, Path]:
    """A server TLS context for 127.0.0.1 with a new self-signed certificate, and the
    certificate's file (the CA file a client must be given to trust it)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Tessera test SMTP")])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    certificate_file = folder / "smtp-cert.pem"
    key_file = folder / "smtp-key.pem"
    certificate_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(certificate_file, key_file)
    return context, certificate_file
