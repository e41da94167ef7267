"""Host names and listening addresses: which are loopback, and the URL of a bound address."""

import ipaddress

#: Binding to these listens on every interface; no client can connect *to* them.
_WILDCARDS = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}  # noqa: S104 (compared, not bound)


def is_loopback_host(host: str) -> bool:
    """``localhost``, 127.0.0.0/8 and ``::1`` (with or without brackets)."""
    if host.lower().rstrip(".") == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def is_wildcard_host(host: str) -> bool:
    return host.strip("[]") in _WILDCARDS


def url_of_bound_address(host: str, port: int) -> str:
    """The ``http://`` URL a client on this machine uses to reach a server bound to host:port.

    A wildcard bind (``0.0.0.0``, ``::``) is reached on loopback; an IPv6 literal gets its
    brackets.
    """
    host = host.strip("[]")
    host = _WILDCARDS.get(host, host)
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}"
