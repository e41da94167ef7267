"""OpenID Connect RP-Initiated Logout 1.0: an app asks Tessera to sign the person out.

Authlib has no logout endpoint, so the rules are ours (ADR 0041), read from the specification:

- ``id_token_hint``: an ID token we issued (checked with our keys, expiry ignored). When it
  names the person signed in, the logout needs no confirmation; without one that is valid (or
  for someone else), the person is asked first (§2, §6: a logout request is easy to forge).
- ``client_id``: names the app when there is no hint; with a hint, it must be one of its
  audiences.
- ``post_logout_redirect_uri``: only one the app registered, compared exactly (§3), and only
  when the app is known; anything else is refused on our page, never followed.
- ``state``: given back with the redirect, unchanged.
"""

from dataclasses import dataclass

from tessera.core.oauth_clients import OAuthClient
from tessera.oauth.id_token_hints import IdTokenHint
from tessera.oauth.messages import OAuthRequest, RefusedRequest

#: Parameters longer than this are not what the specification sends.
_MAX_PARAMETER = 2048


@dataclass(frozen=True, slots=True)
class LogoutRequest:
    """A valid logout request: who the app says is signed in, and where to go afterwards."""

    client: OAuthClient | None
    #: The person the app's (valid) ``id_token_hint`` names; None without one.
    hinted_person_id: int | None
    #: A registered post-logout redirect URI, ``state`` not yet added; None: our own page.
    redirect_uri: str | None
    state: str | None

    def hint_names(self, person_id: int) -> bool:
        """Does a valid hint name this person (so no confirmation is needed)?"""
        return self.hinted_person_id is not None and self.hinted_person_id == person_id


def parameter(request: OAuthRequest, name: str) -> str | None:
    """A parameter of the query (GET) or the form (POST), the first if repeated."""
    values = request.query.get(name) or request.form.get(name)
    return values[0] if values else None


def judge_logout(
    request: OAuthRequest,
    hint: IdTokenHint | None,
    client_named: OAuthClient | None,
) -> LogoutRequest | RefusedRequest:
    """Check a logout request whose hint has been read and whose client has been looked up.

    ``hint``: the ``id_token_hint`` read (None when absent or not ours); ``client_named``:
    the enabled client the request names (by ``client_id``, else the hint's only audience).
    """
    client_id = parameter(request, "client_id")
    redirect_uri = parameter(request, "post_logout_redirect_uri")
    state = parameter(request, "state")
    if any(len(value or "") > _MAX_PARAMETER for value in (client_id, redirect_uri, state)):
        return RefusedRequest("invalid_request", "The logout request is too long.")
    if client_id and client_named is None:
        return RefusedRequest("invalid_request", "The client_id names no app of this server.")
    if client_id and hint is not None and not hint.issued_to(client_id):
        return RefusedRequest(
            "invalid_request", "The id_token_hint was not issued to the app that client_id names."
        )
    if redirect_uri is not None:
        if client_named is None:
            return RefusedRequest(
                "invalid_request",
                "A post_logout_redirect_uri needs the app: send client_id or id_token_hint.",
            )
        if redirect_uri not in client_named.post_logout_redirect_uris:
            return RefusedRequest(
                "invalid_request",
                "The post_logout_redirect_uri is not one the app registered.",
            )
    hinted = int(hint.subject) if hint is not None and hint.subject.isdigit() else None
    return LogoutRequest(client_named, hinted, redirect_uri, state)


def client_id_to_look_up(request: OAuthRequest, hint: IdTokenHint | None) -> str | None:
    """The app a logout request names: its ``client_id``, or the hint's only audience."""
    named = parameter(request, "client_id")
    if named:
        return named
    if hint is not None and len(hint.audiences) == 1:
        return hint.audiences[0]
    return None
