"""Magic links by e-mail (shared/spec §8.3, E10; ADR 0048).

Asking for a link is answered the same way, in about the same time, whether the address is
anybody's or not: the request only checks its shape and counts the attempt (per client address
and per e-mail digest); looking the person up, storing the code and sending the mail run on the
outbox's thread afterwards. A mail server that is down costs retries there, never the answer.

Opening the link shows a page with a button; only its POST uses the code (mail scanners that
fetch every link in a mail must not use it up), once, within ``lifetime``, and signs the person
in as a password would.
"""

import logging
import time
from dataclasses import dataclass
from datetime import timedelta
from email.message import EmailMessage

from tessera.core.audit import AuditKind, DetailValue
from tessera.core.clock import Clock
from tessera.core.credential_codes import MAGIC_LINK_CODE
from tessera.core.credentials import CodeHasher
from tessera.core.errors import Forbidden, NotFound
from tessera.core.ids import PersonId
from tessera.core.magic_links import link_url, message, refusal_for, safe_target
from tessera.core.people import Person, normalize_email
from tessera.core.sign_in_methods import SignInMethod
from tessera.services.audit import count_repeat, record
from tessera.services.mail import Mailer, Outbox, describe_failure
from tessera.services.throttle import Throttle, ThrottleRule
from tessera.services.web_sessions import SignedIn, WebSessionService
from tessera.store import magic_links as stored
from tessera.store import people as stored_people
from tessera.store.database import Database

log = logging.getLogger(__name__)

#: Longer than any code we issue: a longer one is cut to this plus one, and so matches nothing.
LONGEST_CODE = MAGIC_LINK_CODE.length


@dataclass(frozen=True, slots=True)
class MagicLinkPolicy:
    lifetime: timedelta
    #: Agents may sign in by link too (off by default: an agent's power rests on a mailbox).
    allow_agents: bool
    per_email: ThrottleRule
    per_address: ThrottleRule
    #: Where links point: the server's public URL.
    public_url: str
    helpdesk_name: str
    #: Tries per mail, and the wait before the second (doubled before each later one).
    attempts: int = 3
    retry_seconds: float = 10.0


@dataclass(frozen=True, slots=True)
class UsedLink:
    signed_in: SignedIn
    #: Where to send the browser now: a path on this server.
    target: str


class MagicLinkService:
    def __init__(
        self,
        database: Database,
        hasher: CodeHasher,
        clock: Clock,
        throttle: Throttle,
        policy: MagicLinkPolicy,
        web_sessions: WebSessionService,
        *,
        mailer: Mailer | None,
        outbox: Outbox,
    ) -> None:
        """``mailer``: None when no SMTP server is configured (then links are switched off)."""
        self._database = database
        self._hasher = hasher
        self._clock = clock
        self._throttle = throttle
        self.policy = policy
        self._web_sessions = web_sessions
        self._mailer = mailer
        self._outbox = outbox
        #: Mails handed to the server, and mails given up on (only the outbox's thread counts).
        self._sent = 0
        self._failed = 0

    @property
    def enabled(self) -> bool:
        return self._mailer is not None

    # -- asking for a link (E10) ---------------------------------------------------------

    def request(self, email: str, target: str | None, client_address: str | None) -> None:
        """Count the attempt and queue the rest; the same for every well-formed address.

        Raises:
            Forbidden: no mail server is configured, so links are switched off.
            RateLimited: too many links asked for this address or from this client.
        """
        if self._mailer is None:
            raise Forbidden()
        email = normalize_email(email)
        # The client address first: one over its limit does not spend the e-mail's budget.
        self._throttle.hit(self.policy.per_address, client_address or "unknown")
        self._throttle.hit(self.policy.per_email, self._hasher.digest(email).hex())
        self._outbox.submit(lambda: self._deliver(email, safe_target(target), client_address))

    def _deliver(self, email: str, target: str, client_address: str | None) -> None:
        """On the outbox's thread: find the person, store a code, mail the link."""
        mailer = self._mailer
        if mailer is None:
            return
        prepared = self._prepare(email, target, client_address)
        if prepared is None:
            return
        person, link_id, code = prepared
        mail = message(
            sender=mailer.config.sender,
            recipient=email,
            helpdesk_name=self.policy.helpdesk_name,
            link=link_url(self.policy.public_url, code),
            lifetime=self.policy.lifetime,
        )
        sent = self._send(mailer, mail, link_id)
        if sent:
            self._sent += 1
            log.info("magic link mailed", extra={"magic_link_id": link_id})
        else:
            self._failed += 1
        kind = AuditKind.MAGIC_LINK_SENT if sent else AuditKind.MAGIC_LINK_MAIL_FAILED
        self._record(kind, person.id, client_address, {"magic_link_id": link_id})

    def _send(self, mailer: Mailer, mail: EmailMessage, link_id: int) -> bool:
        """Try ``attempts`` times, waiting longer each time; False when every try failed."""
        attempts = self.policy.attempts
        for attempt in range(1, attempts + 1):
            try:
                mailer.send(mail)
                return True
            except OSError as error:  # smtplib's and ssl's errors are OSErrors too
                failure = describe_failure(error)
            if attempt == attempts:
                log.error(
                    "a magic link mail was not sent after %d attempts (%s): the link is lost",
                    attempts,
                    failure,
                    extra={"magic_link_id": link_id},
                )
                return False
            wait = self.policy.retry_seconds * 2 ** (attempt - 1)
            log.warning(
                "a magic link mail was not sent (attempt %d of %d: %s); trying again in %.1f s",
                attempt,
                attempts,
                failure,
                wait,
                extra={"magic_link_id": link_id},
            )
            time.sleep(wait)
        return False

    def _prepare(
        self, email: str, target: str, client_address: str | None
    ) -> tuple[Person, int, str] | None:
        code = MAGIC_LINK_CODE.new()
        now = self._clock.now()
        with self._database.write() as session:
            person = stored_people.find_person_by_email(session, email)
            if person is None:
                log.info("magic link asked for an address that is nobody's: no mail")
                return None
            refusal = refusal_for(person, allow_agents=self.policy.allow_agents)
            if refusal is not None:
                record(
                    session,
                    AuditKind.MAGIC_LINK_REFUSED,
                    self._clock,
                    subject=person.id,
                    client_address=client_address,
                    detail={"reason": refusal.value},
                )
                return None
            link_id = stored.add_magic_link(
                session,
                code_digest=self._hasher.digest(code),
                person_id=person.id,
                target=target,
                now=now,
                expires_at=now + self.policy.lifetime,
            )
        return person, link_id, code

    def _record(
        self,
        kind: AuditKind,
        person_id: PersonId,
        client_address: str | None,
        detail: dict[str, DetailValue],
    ) -> None:
        with self._database.write() as session:
            record(
                session,
                kind,
                self._clock,
                subject=person_id,
                client_address=client_address,
                detail=detail,
            )

    # -- opening the link ----------------------------------------------------------------

    def is_live(self, code: str) -> bool:
        """Whether the link would sign someone in now (the confirmation page; uses nothing)."""
        if not code or len(code) > LONGEST_CODE:
            return False
        with self._database.read() as session:
            return stored.is_live(session, self._hasher.digests(code), now=self._clock.now())

    def use(self, code: str, client_address: str | None, user_agent: str | None = None) -> UsedLink:
        """Use the link's code, once, and open a console session for its person.

        Raises:
            RateLimited: too many links opened from this client address.
            NotFound: unknown, used or expired code, or a person who may no longer use links.
        """
        self._throttle.hit(self.policy.per_address, client_address or "unknown")
        looked_up = code[: LONGEST_CODE + 1]
        with self._database.write() as session:
            taken = stored.take_magic_link(
                session, self._hasher.digests(looked_up), now=self._clock.now()
            )
            person = stored_people.get_person(session, taken.person_id) if taken else None
            refusal = refusal_for(person, allow_agents=self.policy.allow_agents) if person else None
            if taken is None or person is None or refusal is not None:
                # Counted per window, not a row per attempt: a flood of guesses stays small.
                count_repeat(
                    session,
                    AuditKind.MAGIC_LINK_REFUSED,
                    self._clock,
                    subject=person.id if person else None,
                    client_address=client_address,
                )
            else:
                record(
                    session,
                    AuditKind.MAGIC_LINK_USED,
                    self._clock,
                    actor=person.id,
                    subject=person.id,
                    client_address=client_address,
                    detail={"magic_link_id": taken.id},
                )
        if taken is None or person is None or refusal is not None:
            raise NotFound()
        signed_in = self._web_sessions.open_session(
            person, client_address, user_agent, method=SignInMethod.MAGIC_LINK
        )
        log.info("signed in by magic link", extra={"magic_link_id": taken.id})
        return UsedLink(signed_in, safe_target(taken.target))

    def mail_outcomes(self) -> dict[str, int]:
        """Counts for the metrics: mails ``sent``, ``failed``, ``dropped``, and ``waiting``."""
        outbox = self._outbox
        return {
            "sent": self._sent,
            "failed": self._failed,
            "dropped": outbox.dropped,
            "waiting": outbox.waiting,
        }

    def wait_for_mail(self) -> None:
        """Block until every link asked for so far has been mailed or given up on."""
        self._outbox.wait_until_idle()
