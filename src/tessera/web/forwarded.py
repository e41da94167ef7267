"""What a trusted proxy says about a request: the client's address and scheme (ADR 0024).

Applied by ``TesseraApp`` to every request before anything reads it, in whatever server runs
the app (``tessera serve`` no longer asks uvicorn to do it): the app has to know whether the
*peer* is a trusted proxy — the guard's endpoints believe ``X-Forwarded-Uri`` and friends only
then — and a server that rewrote the client's address first would have hidden the peer.

From a peer in ``TESSERA_TRUSTED_PROXIES``, ``X-Forwarded-For`` names the client (the nearest
address in the chain that is not itself a trusted proxy, as uvicorn chooses it) and
``X-Forwarded-Proto`` the scheme; the scope is marked ``TRUSTED_PEER``. From anyone else they
are ignored and the connection's own address is the client.
"""

from starlette.types import Scope

from tessera.core.proxies import TrustedProxies

#: Scope key set (True) when the request came from a trusted proxy.
TRUSTED_PEER = "tessera.trusted_peer"
_FORWARDED_FOR = b"x-forwarded-for"
_FORWARDED_PROTO = b"x-forwarded-proto"
_SCHEMES = {b"http": "http", b"https": "https", b"ws": "ws", b"wss": "wss"}


def believe_forwarded(scope: Scope, proxies: TrustedProxies) -> None:
    """Mark a request from a trusted proxy, and take its client address and scheme."""
    client = scope.get("client")
    peer = str(client[0]) if client else None
    if not proxies.trusts(peer):
        return
    scope[TRUSTED_PEER] = True
    chain: list[bytes] = []
    scheme = None
    for name, value in scope["headers"]:
        if name == _FORWARDED_FOR:
            chain.append(value)  # several lines are one list, in order (RFC 9110 §5.3)
        elif name == _FORWARDED_PROTO:
            scheme = _SCHEMES.get(value.strip().lower())
    if chain:
        forwarded = b",".join(chain).decode("latin-1")
        scope["client"] = (proxies.client_of(forwarded, peer or ""), 0)
    if scheme is not None:
        websocket = scope["type"] == "websocket"
        scope["scheme"] = (
            scheme if not websocket else ("wss" if scheme in ("https", "wss") else "ws")
        )


def is_from_trusted_proxy(scope: Scope) -> bool:
    return bool(scope.get(TRUSTED_PEER))
