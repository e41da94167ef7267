"""Whether the person at the browser may go on to the consent page as they are (ADR 0041).

OpenID Connect Core §3.1.2.1 and §3.1.2.3: ``prompt=none`` answers with an error instead of
any page (``login_required`` when someone must sign in); ``prompt=login`` (and
``select_account``: one account each) and a sign-in older than ``max_age`` ask for a new
sign-in; an ``id_token_hint`` naming someone else than the person signed in asks for the
hinted person. The request that goes on after the sign-in no longer carries what asked for it
(``core.authorization_prompts.after_sign_in``), so a fresh sign-in is asked for once.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from authlib.oauth2.rfc6749.errors import InvalidRequestError
from authlib.oidc.core.errors import LoginRequiredError

from tessera.core.authorization_prompts import (
    InvalidDemand,
    SignInDemands,
    after_sign_in,
    read_demands,
)
from tessera.oauth.id_token_hints import IdTokenHint
from tessera.oauth.messages import SignedInPerson, SignInRequired

#: Reads an ``id_token_hint``: its subject and audience, or None when it is not ours.
HintReader = Callable[[str], IdTokenHint | None]
#: An e-mail address is at most this long (RFC 5321); a longer hint is not one.
MAX_LOGIN_HINT_LENGTH = 254


@dataclass(frozen=True, slots=True)
class SignInChecks:
    demands: SignInDemands
    hint: IdTokenHint | None
    login_hint: str | None
    #: The request's parameters, in order, as the person's browser sent them.
    parameters: tuple[tuple[str, str], ...]
    redirect_uri: str | None

    @classmethod
    def of(cls, request: Any, redirect_uri: str | None, read_hint: HintReader) -> "SignInChecks":
        """The checks a validated authorization request asks for.

        Raises:
            InvalidRequestError: an unreadable ``prompt`` or ``max_age``, or an
                ``id_token_hint`` that is not an ID token we issued to this client.
        """
        data = request.payload.data
        try:
            demands = read_demands(data.get("prompt"), data.get("max_age"))
        except InvalidDemand as problem:
            raise InvalidRequestError(str(problem), redirect_uri=redirect_uri) from problem
        hint = None
        if data.get("id_token_hint"):
            hint = read_hint(data["id_token_hint"])
            if hint is None or not hint.issued_to(request.client.get_client_id()):
                raise InvalidRequestError(
                    "The id_token_hint is not an ID token this server issued to this client.",
                    redirect_uri=redirect_uri,
                )
        login_hint = (data.get("login_hint") or "").strip()[:MAX_LOGIN_HINT_LENGTH] or None
        parameters = tuple(
            (name, value) for name, values in request.payload.datalist.items() for value in values
        )
        return cls(demands, hint, login_hint, parameters, redirect_uri)

    def without_session(self) -> SignInRequired:
        """Nobody is signed in: sign in, unless the app wants no page at all."""
        if self.demands.silent:
            raise LoginRequiredError(redirect_uri=self.redirect_uri)
        return SignInRequired(
            tuple(after_sign_in(self.parameters)), again=False, login_hint=self.login_hint
        )

    def with_session(self, signed_in: SignedInPerson, now: datetime) -> SignInRequired | None:
        """None when the person signed in may go on; else how they must sign in again."""
        other_person = self.hint is not None and self.hint.subject != str(signed_in.person.id)
        if not other_person and not self.demands.sign_in_required(signed_in.signed_in_at, now):
            return None
        if self.demands.silent:
            raise LoginRequiredError(redirect_uri=self.redirect_uri)
        return SignInRequired(
            tuple(after_sign_in(self.parameters)), again=True, login_hint=self.login_hint
        )
