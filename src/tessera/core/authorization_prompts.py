"""What an authorization request demands of the person's sign-in (OpenID Connect Core §3.1.2.1).

``prompt`` and ``max_age`` say whether the person may be asked anything (``none``), must sign
in again (``login``, ``select_account``, a sign-in older than ``max_age`` seconds) or must be
asked for consent (``consent``). Authlib reads ``prompt`` only for OpenID requests and never
enforces ``max_age`` (authlib#741), so the rules are ours (ADR 0041); they hold for every
authorization request, with or without ``openid``.

Unknown ``prompt`` values are ignored: §3.1.2.1 lists four and says nothing of others, and
newer specifications add some (``create``); ignoring one asks the person nothing unexpected.
``none`` together with any other value is an error, as §3.1.2.1 requires.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum


class Prompt(StrEnum):
    NONE = "none"
    LOGIN = "login"
    CONSENT = "consent"
    SELECT_ACCOUNT = "select_account"


_PROMPT_VALUES = frozenset(prompt.value for prompt in Prompt)
#: A person has one account here: choosing an account is signing in again.
_SIGN_IN_PROMPTS = frozenset({Prompt.LOGIN, Prompt.SELECT_ACCOUNT})
#: ``max_age`` beyond this is "whenever" (a century); larger numbers are kept at it.
_LONGEST_MAX_AGE = 100 * 365 * 86400
_MAX_AGE_DIGITS = 12


class InvalidDemand(ValueError):
    """The request's ``prompt`` or ``max_age`` cannot be read (an ``invalid_request``)."""


@dataclass(frozen=True, slots=True)
class SignInDemands:
    prompts: frozenset[Prompt] = frozenset()
    #: Seconds since the person's sign-in beyond which they must sign in again.
    max_age: int | None = None

    @property
    def silent(self) -> bool:
        """``prompt=none``: answer at once, with an error rather than a page."""
        return Prompt.NONE in self.prompts

    @property
    def consent_asked(self) -> bool:
        return Prompt.CONSENT in self.prompts

    def sign_in_required(self, signed_in_at: datetime, now: datetime) -> bool:
        """Must a person signed in at ``signed_in_at`` sign in again before going on?"""
        if self.prompts & _SIGN_IN_PROMPTS:
            return True
        if self.max_age is None:
            return False
        # max_age=0 always asks (it behaves as prompt=login, Core §3.1.2.1).
        return self.max_age == 0 or now - signed_in_at > timedelta(seconds=self.max_age)


def read_demands(prompt: str | None, max_age: str | None) -> SignInDemands:
    """The demands of a request's ``prompt`` and ``max_age`` parameters.

    Raises:
        InvalidDemand: ``none`` with another value, or a ``max_age`` that is not a
            non-negative whole number of seconds.
    """
    values = (prompt or "").split()
    known = frozenset(Prompt(value) for value in values if value in _PROMPT_VALUES)
    if Prompt.NONE in known and len(set(values)) > 1:
        raise InvalidDemand("prompt=none cannot be combined with other values.")
    return SignInDemands(known, _read_max_age(max_age))


def _read_max_age(value: str | None) -> int | None:
    if value is None or value == "":
        return None
    if not value.isascii() or not value.isdigit() or len(value) > _MAX_AGE_DIGITS:
        raise InvalidDemand("max_age must be a whole number of seconds, 0 or more.")
    return min(int(value), _LONGEST_MAX_AGE)


def after_sign_in(parameters: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    """The request to go on with once the person has signed in afresh.

    What asked for the sign-in is met by it and must not ask again (a loop): ``login`` and
    ``select_account`` leave ``prompt``, ``max_age`` goes. The rest stays as it was sent.
    """
    kept: list[tuple[str, str]] = []
    for name, value in parameters:
        if name == "max_age":
            continue
        if name == "prompt":
            rest = [part for part in value.split() if part not in _SIGN_IN_PROMPTS]
            if rest:
                kept.append((name, " ".join(rest)))
            continue
        kept.append((name, value))
    return kept
