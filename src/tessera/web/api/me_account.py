"""``/api/v2/me``'s account endpoints: sessions, sign-ins, password, device-setup status.

Tessera's own additions (Deskpro has no such endpoints); they are what the console's
"My account" pages do, for scripts and agents that work without a browser.
"""

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field

from tessera.core.account import DeviceSetupStatus, OpenSession, SignInAttempt
from tessera.core.principals import AuthMethod, Principal
from tessera.web.cookies import SESSION_COOKIE, read_cookie
from tessera.web.deps import Access, ResourceId, ServicesDep, client_address
from tessera.web.envelope import Envelope

router = APIRouter(prefix="/api/v2", tags=["me"])


class SessionOut(BaseModel):
    id: int
    date_created: datetime
    #: Its absolute end (``TESSERA_SESSION_HOURS`` after sign-in).
    date_expires: datetime
    #: Its last page view, to within a few minutes.
    date_last_seen: datetime
    #: When it ends without another page view: idle, or at ``date_expires``.
    date_ends: datetime
    client_address: str | None
    user_agent: str | None
    #: The session this request came with (only when called from a signed-in browser).
    is_current: bool

    @classmethod
    def of(cls, open_session: OpenSession) -> "SessionOut":
        return cls(
            id=open_session.id,
            date_created=open_session.created_at,
            date_expires=open_session.expires_at,
            date_last_seen=open_session.last_seen_at,
            date_ends=open_session.ends_at or open_session.expires_at,
            client_address=open_session.client_address,
            user_agent=open_session.user_agent,
            is_current=open_session.is_current,
        )


def _own_cookie(request: Request, principal: Principal) -> str | None:
    """The caller's session cookie, when the caller is that session (not a key or token)."""
    if principal.auth_method is not AuthMethod.AGENT_SESSION:
        return None
    return read_cookie(request, SESSION_COOKIE)


@router.get("/me/sessions", summary="My signed-in browsers")
def list_my_sessions(
    request: Request,
    principal: Annotated[Principal, Depends(Access("me.sessions.list"))],
    services: ServicesDep,
) -> Envelope[list[SessionOut]]:
    """The console sessions that are still open, newest first."""
    sessions = services.web_sessions.open_sessions(
        principal.person.id, _own_cookie(request, principal)
    )
    return Envelope(data=[SessionOut.of(s) for s in sessions])


class SessionsEndedOut(BaseModel):
    sessions_ended: int


@router.delete("/me/sessions", summary="Sign out everywhere: end all my browser sessions")
def sign_out_everywhere(
    request: Request,
    principal: Annotated[Principal, Depends(Access("me.sessions.delete"))],
    services: ServicesDep,
) -> Envelope[SessionsEndedOut]:
    """API keys and tokens are not sessions: they keep working (revoke them on their own)."""
    ended = services.web_sessions.sign_out_everywhere(principal.person.id, client_address(request))
    return Envelope(data=SessionsEndedOut(sessions_ended=ended))


class SignInOut(BaseModel):
    date_created: datetime
    #: ``succeeded``, ``failed``, or ``throttled`` (refused unchecked: too many attempts).
    outcome: str
    client_address: str | None
    #: Throttled attempts are counted per address and 15-minute window: how many, and the last.
    attempts: int
    date_last: datetime

    @classmethod
    def of(cls, attempt: SignInAttempt) -> "SignInOut":
        return cls(
            date_created=attempt.occurred_at,
            outcome=attempt.outcome.value,
            client_address=attempt.client_address,
            attempts=attempt.attempts,
            date_last=attempt.last_at or attempt.occurred_at,
        )


@router.get("/me/sign_ins", summary="My recent sign-in attempts")
def list_my_sign_ins(
    principal: Annotated[Principal, Depends(Access("me.sign_ins.list"))],
    services: ServicesDep,
) -> Envelope[list[SignInOut]]:
    """The newest password checks for me (login page, token exchange, password change),
    with the address they came from: a failure you did not make is worth a look."""
    attempts = services.account.sign_ins(principal.person.id)
    return Envelope(data=[SignInOut.of(a) for a in attempts])


class PasswordIn(BaseModel):
    # Both checked by the service, together with the current password itself (which needs the
    # stored hash): a missing one is reported there, with whatever else is wrong.
    current_password: str = Field("", max_length=4096)
    new_password: str = Field("", max_length=4096)


@router.put(
    "/me/password",
    summary="Change my password; my other browser sessions end",
    responses={
        400: {"description": "`invalid_input`: wrong current password or unacceptable new one"},
        429: {"description": "`rate_limited`: too many wrong current passwords"},
    },
)
async def change_my_password(
    body: PasswordIn,
    request: Request,
    principal: Annotated[Principal, Depends(Access("me.password.put"))],
    services: ServicesDep,
) -> Envelope[SessionsEndedOut]:
    """Called from a signed-in browser, that session stays open; every other one ends."""
    ended = await services.account.change_password(
        principal.person,
        body.current_password,
        body.new_password,
        client_address=client_address(request),
        keep_cookie=_own_cookie(request, principal),
    )
    return Envelope(data=SessionsEndedOut(sessions_ended=ended))


class DeviceSetupStatusOut(BaseModel):
    id: int
    #: ``waiting``, ``used``, ``expired``, or ``gone`` (replaced by a newer code).
    status: str
    expires_at: datetime | None

    @classmethod
    def of(cls, status: DeviceSetupStatus) -> "DeviceSetupStatusOut":
        return cls(id=status.id, status=status.state.value, expires_at=status.expires_at)


@router.get(
    "/me/device-setup-token/{setup_id}",
    summary="Has my device-setup code been used yet?",
)
def device_setup_status(
    setup_id: ResourceId,
    principal: Annotated[Principal, Depends(Access("me.device_setup_token.get"))],
    services: ServicesDep,
) -> Envelope[DeviceSetupStatusOut]:
    """`setup_id` is the `id` that came with the code. Another person's code reads as `gone`."""
    status = services.api_tokens.device_setup_status(principal.person.id, setup_id)
    return Envelope(data=DeviceSetupStatusOut.of(status))
