"""``GET /authz/changes``: credential changes as server-sent events, for the guards' caches.

A guard (``tessera.guard``, or any program that caches Tessera's answers) holds this stream
open and drops what each event names: ``api_key 12``, ``api_token 34``, ``person 7``,
``oauth_client 3`` (an app: every token it holds), or ``everything``. The first event is
always ``everything``: the subscriber cannot know what changed before it connected.

Nothing to say for ``keep_alive`` seconds: a comment line, so that a subscriber that hears
nothing for longer knows the stream is dead rather than quiet (the period is in the
``X-Tessera-Keep-Alive`` header). A subscriber too slow to read its changes is sent
``everything`` and let go (``services.change_stream``); so is one whose own credential a change
touches, so that it must pass the credential check again to reconnect.
"""

import asyncio
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.responses import StreamingResponse

from tessera.core.changes import CredentialChange
from tessera.core.principals import Principal
from tessera.services.change_stream import ChangeStream, touches
from tessera.web.deps import Access, ServicesDep

router = APIRouter(prefix="/authz", tags=["authz"])

CHANGES_ACCESS = Access("authz.changes.get")
#: How long a client waits before reconnecting after the stream ends (SSE ``retry``), in ms.
RECONNECT_MILLISECONDS = 1000


@router.get(
    "/changes",
    summary="Credential changes, as server-sent events (for guards that cache answers)",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}}},
)
async def changes(
    principal: Annotated[Principal, Depends(CHANGES_ACCESS)], services: ServicesDep
) -> StreamingResponse:
    stream = services.change_stream
    return StreamingResponse(
        _events(stream, principal),
        media_type="text/event-stream",
        headers={
            "Cache-Control": "no-store",
            "X-Tessera-Keep-Alive": f"{stream.keep_alive_seconds:g}",
            # nginx would otherwise hold events back in its buffer.
            "X-Accel-Buffering": "no",
        },
    )


async def _events(stream: ChangeStream, principal: Principal) -> AsyncIterator[bytes]:
    # Subscribed before the first event: whatever happens after "everything" is queued.
    subscription = stream.subscribe()
    try:
        yield f"retry: {RECONNECT_MILLISECONDS}\ndata: everything\n\n".encode()
        while True:
            try:
                batch, ending = await asyncio.wait_for(
                    subscription.next(), stream.keep_alive_seconds
                )
            except TimeoutError:
                yield b": keep-alive\n\n"
                continue
            if batch:
                # The same change may be queued twice (noticed here, and then read from the
                # feed): once is all a subscriber needs to forget what it cached.
                yield b"".join(map(_event, dict.fromkeys(batch)))
            if ending or any(touches(change, principal) for change in batch):
                return
    finally:
        stream.unsubscribe(subscription)


def _event(change: CredentialChange) -> bytes:
    if change.subject_id:
        return f"data: {change.kind.value} {change.subject_id}\n\n".encode()
    return f"data: {change.kind.value}\n\n".encode()
