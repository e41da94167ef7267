"""Count one credential decision per check: one counter step, its child found in a dict.

``labels()`` takes a lock and builds a key on every call; the children are few (auth methods,
error codes), so each is looked up once and kept.
"""

from prometheus_client import Counter

from tessera.core.errors import ErrorKind, TesseraError
from tessera.core.principals import AuthMethod
from tessera.metrics.catalogue import CREDENTIAL_DECISIONS

#: Errors that say no to the caller; any other (503, 429) is a check that could not be made.
_REFUSING = frozenset({ErrorKind.UNAUTHENTICATED, ErrorKind.FORBIDDEN})

_allowed: dict[AuthMethod, Counter] = {}
_not_allowed: dict[type[TesseraError], Counter] = {}


def count_allowed(method: AuthMethod) -> None:
    child = _allowed.get(method)
    if child is None:
        child = _allowed[method] = CREDENTIAL_DECISIONS.labels("allowed", method.value)
    child.inc()


def count_not_allowed(error: TesseraError) -> None:
    kind = type(error)
    child = _not_allowed.get(kind)
    if child is None:
        outcome = "refused" if error.kind in _REFUSING else "failed"
        child = _not_allowed[kind] = CREDENTIAL_DECISIONS.labels(outcome, error.code)
    child.inc()
