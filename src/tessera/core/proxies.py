"""Which peers are proxies whose forwarded headers are believed (``TESSERA_TRUSTED_PROXIES``).

A proxy in front of Tessera says who the client is (``X-Forwarded-For``) and, when it asks
Tessera about a request for another API, which request that is (``X-Forwarded-Method``/``-Uri``,
``X-Original-Method``/``-URL``). Anybody can send those headers, so they count only when the
connection comes from an address listed here: CIDR networks or single addresses, separated
by commas, or ``*`` for every peer (only where nothing but the proxy can reach Tessera).
"""

from tessera.core.networks import Network, Networks


class TrustedProxies(Networks):
    """The peers whose forwarded headers count (``Networks.parse``: ``*`` trusts every peer)."""

    def __init__(self, networks: tuple[Network, ...] = (), *, everyone: bool = False) -> None:
        super().__init__(networks, everyone=everyone)
        #: Asked once or twice per request: the cached lookup itself, without a call around it.
        self.trusts = self.contains

    def client_of(self, forwarded_for: str, peer: str) -> str:
        """The client a trusted ``peer`` reports: the nearest address in the chain it does not
        trust (each proxy appends the address it heard from), else the farthest one."""
        chain = [hop.strip() for hop in forwarded_for.split(",") if hop.strip()]
        for hop in reversed(chain):
            if not self.trusts(hop):
                return hop
        return chain[0] if chain else peer
