"""A scanning partner's report of leaked codes, and our answer to it (docs/secret-scanning.md).

The report is a JSON array of ``{"token", "type", "url", "source"}``: each a string that
matched a pattern we registered, where it was found. The answer labels each one
``true_positive`` (a live credential of ours, now revoked) or ``false_positive`` (anything
else), naming it by the SHA-256 of the string, never by the string itself.
"""

import hashlib
import json
from dataclasses import dataclass
from enum import StrEnum

from tessera.core.errors import FieldError, InvalidInput, InvalidJsonBody

#: Reports are checked one string at a time, each a database read (and a revocation when it
#: is live): a report longer than this is refused whole rather than half answered.
MAX_REPORTED = 1000
#: Longer than any code we issue, an ``ID:`` included; a longer string is not ours.
MAX_TOKEN_LENGTH = 512
#: What of ``url``, ``type`` and ``source`` is kept (in the audit trail): enough to find it.
_KEPT_URL = 500
_KEPT_NAME = 100

TOO_MANY = FieldError("too_many", f"A report may hold at most {MAX_REPORTED} items.")
NOT_A_REPORT = FieldError("invalid", "A report is a JSON array of objects with a token string.")


@dataclass(frozen=True, slots=True)
class ReportedSecret:
    token: str
    #: The name of the pattern that matched it, as we registered it.
    type: str
    #: Where it was found (may be empty), and what kind of place: commit, issue_comment, …
    url: str
    source: str


class Label(StrEnum):
    TRUE_POSITIVE = "true_positive"
    FALSE_POSITIVE = "false_positive"


@dataclass(frozen=True, slots=True)
class Verdict:
    #: Hex SHA-256 of the reported string: the partner knows which one, the answer holds no code.
    token_hash: str
    token_type: str
    label: Label


def parse_report(body: bytes) -> list[ReportedSecret]:
    """Read a report's body (already known to be the partner's: its signature verified).

    Raises:
        InvalidJsonBody: not JSON.
        InvalidInput: not an array of objects with a ``token`` string (``errors.fields.report``),
            or more than ``MAX_REPORTED`` of them.
    """
    try:
        items = json.loads(body)
    except ValueError:
        raise InvalidJsonBody() from None
    if not isinstance(items, list):
        raise InvalidInput.for_field("report", NOT_A_REPORT)
    if len(items) > MAX_REPORTED:
        raise InvalidInput.for_field("report", TOO_MANY)
    return [_reported(item) for item in items]


def _reported(item: object) -> ReportedSecret:
    if not isinstance(item, dict):
        raise InvalidInput.for_field("report", NOT_A_REPORT)
    token = item.get("token")
    if not isinstance(token, str) or not token:
        raise InvalidInput.for_field("report", NOT_A_REPORT)
    return ReportedSecret(
        token=token,
        type=_text(item.get("type"), _KEPT_NAME),
        url=_text(item.get("url"), _KEPT_URL),
        source=_text(item.get("source"), _KEPT_NAME),
    )


def _text(value: object, longest: int) -> str:
    return value[:longest] if isinstance(value, str) else ""


def verdict(reported: ReportedSecret, label: Label) -> Verdict:
    digest = hashlib.sha256(reported.token.encode("utf-8", "surrogatepass")).hexdigest()
    return Verdict(token_hash=digest, token_type=reported.type, label=label)
