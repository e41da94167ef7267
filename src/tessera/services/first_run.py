"""First run: a one-time link that lets the operator create the first admin in a browser.

While no active admin exists, ``tessera serve`` asks for a link and prints it; the link works
once, for a day, and only until an admin exists (made by it or by ``tessera people add``).
"""

from datetime import timedelta

from tessera.core.clock import Clock
from tessera.core.credentials import CodeHasher, new_code
from tessera.core.errors import NotFound
from tessera.core.people import Person
from tessera.services.people import NewPerson, PeopleService
from tessera.store import people as stored_people
from tessera.store import setup_codes as stored
from tessera.store.database import Database

SETUP_LINK_LIFETIME = timedelta(days=1)
SETUP_CODE_LENGTH = 32


class FirstRunService:
    def __init__(
        self, database: Database, hasher: CodeHasher, clock: Clock, people: PeopleService
    ) -> None:
        self._database = database
        self._hasher = hasher
        self._clock = clock
        self._people = people

    def new_setup_code(self) -> str | None:
        """A fresh one-time code, or None when an admin already exists."""
        code = new_code(SETUP_CODE_LENGTH)
        now = self._clock.now()
        with self._database.write() as session:
            if stored_people.count_admins(session) > 0:
                return None
            stored.replace_setup_code(
                session,
                code_digest=self._hasher.digest(code),
                now=now,
                expires_at=now + SETUP_LINK_LIFETIME,
            )
        return code

    def is_valid(self, code: str) -> bool:
        if len(code) > 2 * SETUP_CODE_LENGTH:
            return False
        with self._database.read() as session:
            if stored_people.count_admins(session) > 0:
                return False
            return stored.is_live(session, self._hasher.digests(code), now=self._clock.now())

    def create_first_admin(self, code: str, *, email: str, name: str, password: str) -> Person:
        """Spend the code and add the admin.

        Raises:
            NotFound: the code is unknown, used or expired, or an admin exists already.
            InvalidInput: the e-mail, name or password is not acceptable (the code stays valid).
        """
        if not self.is_valid(code):
            raise NotFound()
        # Validate and hash before spending the code, so a typo does not burn the link.
        person = self._people.add(
            NewPerson(email=email, name=name, is_agent=True, is_admin=True, password=password)
        )
        with self._database.write() as session:
            if not stored.spend(session, self._hasher.digests(code), now=self._clock.now()):
                # Someone else used the link meanwhile: undo ours, theirs stands.
                stored_people.delete_person(session, person.id)
                raise NotFound()
        return person
