"""Sets of IP networks read from settings: ``10.0.0.0/8, 192.0.2.7, ::1``, or ``*`` for all.

Used for the proxies whose forwarded headers are believed (``core.proxies``) and for the
clients that may read ``/metrics`` without a credential.
"""

import ipaddress
from functools import lru_cache
from typing import Self

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
#: Distinct hosts whose answer is remembered: the parse of an address costs more than a lookup.
_REMEMBERED_HOSTS = 4096


class Networks:
    def __init__(self, networks: tuple[Network, ...] = (), *, everyone: bool = False) -> None:
        self.networks = networks
        self.everyone = everyone
        # Asked on every request: remembered per host.
        self.contains = lru_cache(maxsize=_REMEMBERED_HOSTS)(self._contains)

    @classmethod
    def parse(cls, text: str | None) -> Self:
        """Read CIDR networks or single addresses separated by commas, or ``*``; blank or
        None holds nothing.

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

    def _contains(self, host: str | None) -> bool:
        if self.everyone:
            return True
        if not host or not self.networks:
            return False
        try:
            address = ipaddress.ip_address(host.strip("[]"))
        except ValueError:
            return False  # a Unix socket's name, say: no network holds it
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        return any(address in network for network in self.networks)
