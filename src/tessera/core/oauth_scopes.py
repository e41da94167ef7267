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
New scopes (issue #8, OpenID Connect's) join ``SUPPORTED_SCOPES`` and keep these rules.
"""

#: Deskpro's scope of OAuth-issued tokens: act as the person, with the person's own rights.
SESSION_SCOPE = "session"
#: Deskpro's scope of the tokens apps hold on a person's behalf without OAuth (exchange,
#: device setup, the console's session token). Not an OAuth scope: no client can ask for it.
CLIENT_SCOPE = "client"
#: Given when the client asks for nothing Tessera defines.
DEFAULT_SCOPE = SESSION_SCOPE
SUPPORTED_SCOPES = (SESSION_SCOPE,)


def scope_values(scope: str | None) -> list[str]:
    """A scope parameter's values, in order, each once (space-delimited, RFC 6749 §3.3)."""
    return list(dict.fromkeys((scope or "").split()))


def _known(scope: str | None) -> list[str]:
    return [value for value in scope_values(scope) if value in SUPPORTED_SCOPES]


def scope_to_grant(requested: str | None) -> str:
    """The scope an authorization request is granted: what Tessera knows of it, or the default."""
    return " ".join(_known(requested)) or DEFAULT_SCOPE


def granted_scope(stored: str) -> str:
    """A grant's scope as recorded; grants made before scopes were recorded count as default."""
    return stored or DEFAULT_SCOPE


def scope_to_refresh(requested: str | None, granted: str) -> str | None:
    """The scope a refresh request gets; None when it asks for more than was granted."""
    known = _known(requested)
    if not known:
        return granted_scope(granted)
    if not set(known) <= set(scope_values(granted_scope(granted))):
        return None
    return " ".join(known)
