"""Which peers are proxies whose forwarded headers are believed (``TESSERA_TRUSTED_PROXIES``).

A proxy in front of Tessera says who the client is (``X-Forwarded-For``) and, when it asks
Tessera about a request for another API, which request that is (``X-Forwarded-Method``/``-Uri``,
``X-Original-Method``/``-URL``). Anybody can send those headers, so they count only when the
connection comes from an address listed here: CIDR networks or single addresses, separated
by commas, or ``*`` for every peer (only where nothing but the proxy can reach Tessera).
"""

import ipaddress
from functools import lru_cache

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
#: Distinct peers whose answer is remembered: proxies are few, direct clients may be many.
_REMEMBERED_PEERS = 4096


class TrustedProxies:
    def __init__(self, networks: tuple[Network, ...] = (), *, everyone: bool = False) -> None:
        self.networks = networks
        self.everyone = everyone
        # Asked once or twice per request: the parse of an address costs more than a lookup.
        self.trusts = lru_cache(maxsize=_REMEMBERED_PEERS)(self._trusts)

    @classmethod
    def parse(cls, text: str | None) -> "TrustedProxies":
        """Read ``10.0.0.0/8, 192.0.2.7, ::1`` or ``*``; blank or None trusts nobody.

        Raises:
            ValueError: an item is neither ``*`` nor an address or network (the message names it).
        """
        networks: list[Network] = []
        everyone = False
        for item in (text or "").split(","):
            item = item.strip()
            if not item:
                continue
            if item == "*":
                everyone = True
                continue
            try:
                networks.append(ipaddress.ip_network(item, strict=False))
            except ValueError:
                raise ValueError(f"{item!r} is not an IP address or CIDR network") from None
        return cls(tuple(networks), everyone=everyone)

    def __bool__(self) -> bool:
        return self.everyone or bool(self.networks)

    def _trusts(self, host: str | None) -> bool:
        if self.everyone:
            return True
        if not host or not self.networks:
            return False
        try:
            address = ipaddress.ip_address(host.strip("[]"))
        except ValueError:
            return False  # a Unix socket's name, say: not a proxy we were told of
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        return any(address in network for network in self.networks)

    def client_of(self, forwarded_for: str, peer: str) -> str:
        """The client a trusted ``peer`` reports: the nearest address in the chain it does not
        trust (each proxy appends the address it heard from), else the farthest one."""
        chain = [hop.strip() for hop in forwarded_for.split(",") if hop.strip()]
        for hop in reversed(chain):
            if not self.trusts(hop):
                return hop
        return chain[0] if chain else peer
