"""OAuth scopes: what a grant gets, what a refresh may ask for, and what a token may call.

RFC 6749 §3.3 and §6; ADR 0019 (unknown values ignored), ADR 0042 (scopes are tag patterns).
A scope is space-delimited values of three kinds:

- ``session``, Deskpro's own (shared/spec §2.5, §7.1; its apps always ask for it): everything
  the person can do through the API, exactly like the pattern ``*``;
- **API scopes**: endpoint tag patterns, the language of API key tags (``core.tags``):
  ``tickets.*`` allows what a key with that tag allows, ``-*.delete`` takes away what it
  matches. Every pattern character is a valid scope-token character (RFC 6749 §3.3: visible
  ASCII but ``"`` and ``\\``), so a pattern is its own scope value;
- OpenID Connect's ``openid``, ``profile``, ``email`` and ``offline_access`` (Core §5.4, §11),
  which count only in a request that names ``openid``.

The rules, the same at the authorization, device and token endpoints:

- a value that is none of these (``read``, ``https://…``), ``profile`` without ``openid``, or
  an allow pattern that names no endpoint Tessera knows (``ScopeCatalogue``) is **ignored**,
  never an error (ADR 0019);
- no allow pattern left means ``session``;
- what is asked for is **narrowed** to the client's allowed scopes (its ``allowed_scopes``,
  default ``session``): a pattern within an allowed one is kept, an allowed one within the
  pattern replaces it (``session`` asked of a client allowed ``tickets.*`` gets ``tickets.*``),
  anything else is dropped; the client's deny patterns are added;
- a **refresh** may narrow, never widen: what it asks for (narrowed as above) must lie within
  the grant (``ApiScope.within``), else ``invalid_scope``; the grant's deny patterns stay;
- every answer names what was granted, never ``""``; ``*`` is written ``session``.
"""

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

from tessera.core.tags import TagPolicy, pattern_within, patterns_overlap

#: Deskpro's scope of OAuth-issued tokens: act as the person, with the person's own rights.
SESSION_SCOPE = "session"
#: Deskpro's scope of the tokens apps hold on a person's behalf without OAuth (exchange,
#: device setup, the console's session token). Not an OAuth scope: no client can ask for it.
CLIENT_SCOPE = "client"
#: Given when the client asks for nothing Tessera defines.
DEFAULT_SCOPE = SESSION_SCOPE
#: Asks for an ID token (OpenID Connect Core §3.1.2.1); the other OpenID scopes need it.
OPENID_SCOPE = "openid"
#: OpenID Connect Core §11: with ``openid``, a refresh token only when this is granted.
OFFLINE_ACCESS_SCOPE = "offline_access"
#: OpenID Connect's scopes: which claims the ID token and UserInfo carry (Core §5.4).
OPENID_SCOPES = (OPENID_SCOPE, "profile", "email", OFFLINE_ACCESS_SCOPE)
#: The scope values that are words, never tag patterns.
SUPPORTED_SCOPES = (SESSION_SCOPE, *OPENID_SCOPES)
#: The longest scope a grant or token stores (a request for more is ``invalid_scope``).
MAX_SCOPE_LENGTH = 500
#: The pattern that allows every tag: written ``session`` in scopes.
_EVERY_TAG = "*"
#: An endpoint tag pattern as key tags have them (``core.tags``), with an optional ``-``.
_PATTERN = re.compile(r"-?[A-Za-z0-9_.*]+")
_STARS = re.compile(r"\*{2,}")


def scope_values(scope: str | None) -> list[str]:
    """A scope parameter's values, in order, each once (space-delimited, RFC 6749 §3.3)."""
    return list(dict.fromkeys((scope or "").split()))


def is_openid(scope: str | None) -> bool:
    return OPENID_SCOPE in scope_values(scope)


def _pattern(value: str) -> str | None:
    """The value as a tag pattern (``**`` is ``*``), or None if it cannot be one."""
    if value in SUPPORTED_SCOPES or _PATTERN.fullmatch(value) is None:
        return None
    return _STARS.sub("*", value)


@dataclass(frozen=True, slots=True)
class ApiScope:
    """The API part of a scope: allow and deny tag patterns (deny without its ``-``).

    ``*`` among the allow patterns is ``session``. What it allows is what ``policy()``
    allows: a tag matched by an allow pattern and by no deny pattern.
    """

    allow: tuple[str, ...]
    deny: tuple[str, ...] = ()

    @classmethod
    def parse(cls, text: str) -> "ApiScope":
        """Read a list of ``session`` and patterns (blanks or commas between them).

        Raises:
            ValueError: a value is neither ``session`` nor a tag pattern (its text says which).
        """
        allow: list[str] = []
        deny: list[str] = []
        for value in scope_values(text.replace(",", " ")):
            if value == SESSION_SCOPE:
                allow.append(_EVERY_TAG)
                continue
            pattern = _pattern(value)
            if pattern is None:
                raise ValueError(value)
            if pattern.startswith("-"):
                deny.append(pattern[1:])
            else:
                allow.append(pattern)
        return cls(_fewest(allow), _fewest(deny))

    @property
    def is_everything(self) -> bool:
        """``session`` and nothing taken away: the person's own rights, no tag limit."""
        return _EVERY_TAG in self.allow and not self.deny

    def policy(self) -> TagPolicy:
        return TagPolicy(self.allow, self.deny)

    def values(self) -> list[str]:
        """As scope values: ``session`` for ``*``, the allow patterns, then ``-`` and the deny."""
        allow = [SESSION_SCOPE if p == _EVERY_TAG else p for p in self.allow]
        return [*allow, *(f"-{pattern}" for pattern in self.deny)]

    def __str__(self) -> str:
        return " ".join(self.values())

    def within(self, other: "ApiScope") -> bool:
        """Whether every tag this scope allows, ``other`` allows too — whatever tags exist.

        Each allow pattern must lie within one of ``other``'s, and each of ``other``'s deny
        patterns that meets an allow pattern here must lie within a deny pattern here. (A
        pattern covered only by several of ``other``'s together counts as outside: the check
        is sure, never generous.)
        """
        return all(any(pattern_within(p, q) for q in other.allow) for p in self.allow) and all(
            not any(patterns_overlap(e, p) for p in self.allow)
            or any(pattern_within(e, d) for d in self.deny)
            for e in other.deny
        )

    def narrowed_to(self, limit: "ApiScope") -> "ApiScope":
        """What both allow, as far as patterns can say it (RFC 6749 §3.3's narrowing).

        Per pair of allow patterns: the one within the other is kept; two that only partly
        meet (``tickets.*`` and ``*.list``) give nothing. Deny patterns of both are kept when
        they meet what is allowed.
        """
        allow: list[str] = []
        for p in self.allow:
            for q in limit.allow:
                if pattern_within(p, q):
                    allow.append(p)
                elif pattern_within(q, p):
                    allow.append(q)
        kept = _fewest(allow)
        deny = [d for d in (*self.deny, *limit.deny) if any(patterns_overlap(d, a) for a in kept)]
        return ApiScope(kept, _fewest(deny))


#: ``session``: every tag, nothing taken away. A client's allowed scopes by default.
EVERYTHING = ApiScope((_EVERY_TAG,))


def _fewest(patterns: Iterable[str]) -> tuple[str, ...]:
    """The patterns without repeats and without any that lies within another one."""
    kept: list[str] = []
    for pattern in patterns:
        if any(pattern_within(pattern, other) for other in kept):
            continue
        kept = [other for other in kept if not pattern_within(other, pattern)]
        kept.append(pattern)
    return tuple(kept)


class ScopeCatalogue:
    """The endpoint tags this server knows: its own API's and the guard's route table's.

    An allow pattern asked for counts only if it names at least one of them (ADR 0019's "a
    value Tessera does not define is ignored"); ``scopes_supported`` lists their groups.
    """

    def __init__(self, tags: Iterable[str]) -> None:
        self.tags = frozenset(tags)
        self._names = lru_cache(maxsize=4096)(self._names_any)

    def names_any(self, pattern: str) -> bool:
        return self._names(pattern)

    def _names_any(self, pattern: str) -> bool:
        policy = TagPolicy((pattern,), ())
        return any(policy.allows(tag) for tag in self.tags)

    def groups(self) -> list[str]:
        """``tickets.*`` for every first segment of a known tag, sorted."""
        return sorted({tag.split(".", 1)[0] + ".*" for tag in self.tags})

    def supported(self) -> list[str]:
        """RFC 8414 ``scopes_supported``: the words, then the API's tag groups."""
        return [*OPENID_SCOPES, SESSION_SCOPE, *self.groups()]


@dataclass(frozen=True, slots=True)
class _Request:
    #: The OpenID scopes asked for (only when the request, or the grant, names ``openid``).
    openid: tuple[str, ...]
    #: Whether an API value (``session``, a pattern that counts) was asked for.
    names_api: bool
    allow: tuple[str, ...]
    deny: tuple[str, ...]


def _read(requested: str | None, catalogue: ScopeCatalogue, *, openid: bool) -> _Request:
    oidc: list[str] = []
    allow: list[str] = []
    deny: list[str] = []
    for value in scope_values(requested):
        if value in OPENID_SCOPES:
            if openid:
                oidc.append(value)
        elif value == SESSION_SCOPE:
            allow.append(_EVERY_TAG)
        elif (pattern := _pattern(value)) is not None:
            if pattern.startswith("-"):
                deny.append(pattern[1:])
            elif pattern == _EVERY_TAG or catalogue.names_any(pattern):
                allow.append(pattern)
    return _Request(tuple(oidc), bool(allow or deny), tuple(allow), tuple(deny))


def _openid_first(values: Iterable[str]) -> list[str]:
    return sorted(values, key=OPENID_SCOPES.index)


def _joined(openid: Iterable[str], api: ApiScope) -> str:
    return " ".join([*_openid_first(openid), *api.values()])


def scope_to_grant(
    requested: str | None,
    allowed: ApiScope = EVERYTHING,
    catalogue: ScopeCatalogue | None = None,
) -> str:
    """The scope an authorization request is granted: what counts of it, narrowed to what the
    client may have (``allowed``), ``session`` (narrowed likewise) when no API scope is left."""
    asked = _read(requested, catalogue or OWN_CATALOGUE, openid=is_openid(requested))
    api = ApiScope(asked.allow or (_EVERY_TAG,), asked.deny).narrowed_to(allowed)
    if not api.allow:  # nothing asked for may the client have: as if it asked for nothing
        api = ApiScope((_EVERY_TAG,), asked.deny).narrowed_to(allowed)
    return _joined(asked.openid, api)


def granted_scope(stored: str) -> str:
    """A grant's scope as recorded; grants made before scopes were recorded count as default."""
    return stored or DEFAULT_SCOPE


def split_granted(scope: str) -> tuple[list[str], ApiScope]:
    """A granted (stored) scope's OpenID values and API scope; nothing ignored, nothing added."""
    openid = [value for value in scope_values(scope) if value in OPENID_SCOPES]
    rest = " ".join(value for value in scope_values(scope) if value not in OPENID_SCOPES)
    try:
        return openid, ApiScope.parse(rest)
    except ValueError:  # only Tessera writes these: an unreadable one allows nothing
        return openid, ApiScope(())


def scope_to_refresh(
    requested: str | None,
    granted: str,
    allowed: ApiScope = EVERYTHING,
    catalogue: ScopeCatalogue | None = None,
) -> str | None:
    """The scope a refresh request gets; None when it asks for more than was granted, or
    when nothing of the grant is left that the client may still have.

    Nothing that counts asked for: the grant's scope (narrowed to what the client may have
    now). OpenID values asked for must be the grant's. API values asked for are narrowed to
    ``allowed`` as at the authorization (so a client repeating its first request gets the
    same again), keep the grant's deny patterns, and must then lie within the grant's
    (``ApiScope.within``); none asked for keeps the grant's.
    """
    held_openid, held_api = split_granted(granted_scope(granted))
    asked = _read(requested, catalogue or OWN_CATALOGUE, openid=OPENID_SCOPE in held_openid)
    if not set(asked.openid) <= set(held_openid):
        return None
    openid = asked.openid if asked.openid or asked.names_api else tuple(held_openid)
    api = ApiScope(asked.allow or held_api.allow, asked.deny).narrowed_to(allowed)
    if not asked.names_api or not api.allow:
        # Nothing asked for, or nothing the client may have: the grant's, as the client may
        # have it now. Nothing at all left (the client was narrowed to other tags since): no
        # token — never an empty scope, which would read as the default. (OpenID values alone
        # are a token that calls no endpoint: UserInfo only.)
        return _joined(openid, held_api.narrowed_to(allowed)) or None
    # The grant's deny patterns stay whatever is asked; past them, nothing may be wider.
    kept = ApiScope(api.allow, (*api.deny, *held_api.deny))
    if not kept.within(held_api):
        return None
    return _joined(openid, kept.narrowed_to(held_api))


@lru_cache(maxsize=4096)
def tag_limit(scope: str) -> TagPolicy | None:
    """The tag limit an OAuth token of this granted scope carries; None: the person's own
    rights, no limit (``session``, the usual case). Runs per request: cached by scope."""
    api = split_granted(granted_scope(scope))[1]
    return None if api.is_everything else api.policy()


def refresh_token_due(scope: str) -> bool:
    """OpenID Connect Core §11: with ``openid``, a refresh token only for ``offline_access``.

    Without ``openid`` every grant gets one, as Deskpro's apps expect. (Tessera asks for
    consent on every authorization, so the explicit consent §11 also wants is always given.)
    """
    values = scope_values(scope)
    return OPENID_SCOPE not in values or OFFLINE_ACCESS_SCOPE in values


#: Tessera's own API (``/api/v2``): every endpoint tag its routes name. A test holds this
#: list and the routes' ``Access`` tags equal.
OWN_TAGS = (
    "api_keys.api_keys.delete",
    "api_keys.api_keys.get",
    "api_keys.api_keys.list",
    "api_keys.api_keys.post",
    "api_keys.api_keys.put",
    "api_keys.api_keys.regenerate",
    "api_keys.api_keys.tag_check",
    "api_tokens.api_tokens.delete",
    "api_tokens.api_tokens.list",
    "api_tokens.session.get",
    "audit.audit_events.export",
    "audit.audit_events.list",
    "authz.changes.get",
    "helpdesk.agent_client.info",
    "me.api_tokens.delete",
    "me.api_tokens.list",
    "me.connected_apps.delete",
    "me.connected_apps.list",
    "me.device_setup_token.get",
    "me.me.get",
    "me.password.put",
    "me.profile.get",
    "me.profile.put",
    "me.sessions.delete",
    "me.sessions.list",
    "me.sign_ins.list",
    "oauth_clients.oauth_clients.connections",
    "oauth_clients.oauth_clients.counts",
    "oauth_clients.oauth_clients.delete",
    "oauth_clients.oauth_clients.get",
    "oauth_clients.oauth_clients.list",
    "oauth_clients.oauth_clients.post",
    "oauth_clients.oauth_clients.put",
    "oauth_clients.oauth_clients.rotate_secret",
    "people.people.delete",
    "people.people.get",
    "people.people.list",
    "people.people.post",
    "people.people.put",
    "user_sources.user_sources.delete",
    "user_sources.user_sources.get",
    "user_sources.user_sources.list",
    "user_sources.user_sources.post",
    "user_sources.user_sources.put",
)
#: The catalogue when no guarded API adds its tags.
OWN_CATALOGUE = ScopeCatalogue(OWN_TAGS)
