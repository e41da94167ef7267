"""Changes that make a cached credential check stale, and who listens for them.

Services publish one ``CredentialChange`` per write that can turn an accepted credential into a
refused one (or change who it acts as): a key revoked, regenerated or edited, a token revoked, a
person disabled, changed or deleted, an OAuth app disabled or deleted. Listeners (the
in-process credential cache) drop what the change touches; the change feed carries it to the
other processes and nodes.
"""

from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol


class ChangeKind(StrEnum):
    API_KEY = "api_key"
    API_TOKEN = "api_token"  # noqa: S105 (a kind of credential, not a secret)
    PERSON = "person"
    OAUTH_CLIENT = "oauth_client"
    #: Anything may have changed (say, a process missed part of the feed): forget everything.
    EVERYTHING = "everything"


@dataclass(frozen=True, slots=True)
class CredentialChange:
    kind: ChangeKind
    #: The id of the key, token, person or OAuth app; 0 for ``EVERYTHING``.
    subject_id: int = 0


class ChangeListener(Protocol):
    def apply(self, change: CredentialChange) -> None:
        """Forget whatever the change makes stale. Cheap, thread-safe, never raises."""
