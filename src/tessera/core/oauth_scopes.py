"""Which OAuth scope a grant gets, and what a refresh may ask for (RFC 6749 §3.3, §6; ADR 0019).

Tessera defines one scope so far: ``session``, Deskpro's name for a token that acts with the
person's own rights (shared/spec §2.5, §7.1; its old flow always asks for it). The rule is the
same wherever a client names a scope — authorization, token and refresh requests:

- a value Tessera does not define is ignored, as RFC 6749 §3.3 allows ("MAY fully or partially
  ignore the scope requested"), and never an error: stock clients send whatever scope their
  last provider wanted, and a refresh that repeats it must keep working;
- nothing left (or no scope at all) means the default, ``session``;
- at a refresh, what is left must lie within the grant, else ``invalid_scope`` (§6).

So every grant, token answer and introspection names a scope, never ``""``; a client told a
scope other than the one it asked for learns it from the token response, as §5.1 requires.

OpenID Connect's scopes (``openid``, ``profile``, ``email``, ``offline_access``) count only in
a request that names ``openid``: without it they are ignored as before, and the flow stays
Deskpro's. With it, ``session`` is granted too, since the access token acts as the person.
"""

#: Deskpro's scope of OAuth-issued tokens: act as the person, with the person's own rights.
SESSION_SCOPE = "session"
#: Deskpro's scope of the tokens apps hold on a person's behalf without OAuth (exchange,
#: device setup, the console's session token). Not an OAuth scope: no client can ask for it.
CLIENT_SCOPE = "client"
#: Given when the client asks for nothing Tessera defines.
DEFAULT_SCOPE = SESSION_SCOPE
#: Asks for an ID token (OpenID Connect Core §3.1.2.1); the other OpenID scopes need it.
OPENID_SCOPE = "openid"
#: OpenID Connect's scopes: which claims the ID token and UserInfo carry (Core §5.4), and
#: ``offline_access`` (§11), which changes nothing here: every grant gets a refresh token.
OPENID_SCOPES = (OPENID_SCOPE, "profile", "email", "offline_access")
SUPPORTED_SCOPES = (SESSION_SCOPE, *OPENID_SCOPES)


def scope_values(scope: str | None) -> list[str]:
    """A scope parameter's values, in order, each once (space-delimited, RFC 6749 §3.3)."""
    return list(dict.fromkeys((scope or "").split()))


def _known(scope: str | None, *, openid: bool) -> list[str]:
    defined = SUPPORTED_SCOPES if openid else (SESSION_SCOPE,)
    return [value for value in scope_values(scope) if value in defined]


def is_openid(scope: str | None) -> bool:
    return OPENID_SCOPE in scope_values(scope)


def scope_to_grant(requested: str | None) -> str:
    """The scope an authorization request is granted: what Tessera knows of it, or the default."""
    known = _known(requested, openid=is_openid(requested))
    if OPENID_SCOPE in known and SESSION_SCOPE not in known:
        known.append(SESSION_SCOPE)
    return " ".join(known) or DEFAULT_SCOPE


def granted_scope(stored: str) -> str:
    """A grant's scope as recorded; grants made before scopes were recorded count as default."""
    return stored or DEFAULT_SCOPE


def scope_to_refresh(requested: str | None, granted: str) -> str | None:
    """The scope a refresh request gets; None when it asks for more than was granted."""
    known = _known(requested, openid=is_openid(granted))
    if not known:
        return granted_scope(granted)
    if not set(known) <= set(scope_values(granted_scope(granted))):
        return None
    return " ".join(known)
