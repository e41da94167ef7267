"""Sending mail through the operator's SMTP server, off the request path (ADR 0048).

``Mailer`` speaks SMTP with the standard library (plain, STARTTLS or implicit TLS, optional
login). ``Outbox`` runs work on a thread of its own, one job after the other, so that a request
that asks for a mail is answered at once whatever the mail server does: a server that is down
or slow delays mail, never answers. Jobs that find the queue full are dropped with a warning.
"""

import logging
import queue
import smtplib
import ssl
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Literal

log = logging.getLogger(__name__)

SmtpSecurity = Literal["starttls", "tls", "none"]


@dataclass(frozen=True, slots=True)
class SmtpConfig:
    host: str
    port: int
    #: ``starttls``: upgrade a plain connection (port 587); ``tls``: TLS from the first byte
    #: (port 465); ``none``: no encryption (a relay on the same host only).
    security: SmtpSecurity
    sender: str
    timeout_seconds: float = 10.0
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    #: CA bundle (PEM) to check the server's certificate; None: the system's.
    ca_file: str | None = None


class Mailer:
    """One mail, one SMTP connection: nothing stays open between mails."""

    def __init__(self, config: SmtpConfig) -> None:
        self.config = config

    def send(self, message: EmailMessage) -> None:
        """Hand ``message`` to the server (blocking: call it off the event loop).

        Raises:
            OSError: the server cannot be reached, or the connection broke.
            smtplib.SMTPException: the server refused the login, the sender or the recipient.
        """
        config = self.config
        context = ssl.create_default_context(cafile=config.ca_file)
        client: smtplib.SMTP
        if config.security == "tls":
            client = smtplib.SMTP_SSL(
                config.host, config.port, timeout=config.timeout_seconds, context=context
            )
        else:
            client = smtplib.SMTP(config.host, config.port, timeout=config.timeout_seconds)
        with client:
            if config.security == "starttls":
                client.starttls(context=context)
            if config.user:
                client.login(config.user, config.password or "")
            client.send_message(message)


def describe_failure(error: Exception) -> str:
    """What went wrong, for a log line: the kind and the server's reply code, never its text
    (a refusal may quote the recipient's address)."""
    if isinstance(error, smtplib.SMTPResponseException):
        return f"{type(error).__name__} {error.smtp_code}"
    if isinstance(error, smtplib.SMTPException):
        return type(error).__name__
    return f"{type(error).__name__}: {error}"


Job = Callable[[], None]


class Outbox:
    """A thread that runs mail jobs one after the other; started with the first job."""

    def __init__(self, *, capacity: int = 1000, name: str = "mail-outbox") -> None:
        self._jobs: queue.Queue[Job] = queue.Queue(maxsize=capacity)
        self._name = name
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        #: Jobs dropped because the queue was full (a mail server down for long).
        self.dropped = 0

    def submit(self, job: Job) -> bool:
        """Queue ``job``; False (and a warning) when the queue is full."""
        self._start()
        try:
            self._jobs.put_nowait(job)
        except queue.Full:
            with self._lock:
                self.dropped += 1
            log.warning("the mail queue is full: a mail was dropped (is the SMTP server down?)")
            return False
        return True

    @property
    def waiting(self) -> int:
        """Jobs queued and not yet finished (the one running included)."""
        return self._jobs.unfinished_tasks

    def wait_until_idle(self) -> None:
        """Block until every queued job has run (the command line, and tests)."""
        self._jobs.join()

    def _start(self) -> None:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
                self._thread.start()

    def _run(self) -> None:
        while True:
            job = self._jobs.get()
            try:
                job()
            except Exception:  # a job's failure must not end the thread that runs the others
                log.exception("a mail job failed")
            finally:
                self._jobs.task_done()
