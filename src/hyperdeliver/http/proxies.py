"""Trusted proxies: whose ``X-Forwarded-For`` / ``X-Forwarded-Proto`` a request may believe.

None by default: the peer address of the TCP connection is the client, whatever the
request's headers say (a client could otherwise send any ``X-Forwarded-For`` and get a
fresh identity for the login throttle on every guess). A deployment behind a load
balancer or an ingress lists its addresses in ``HYPER_TRUSTED_PROXIES``
(``10.0.0.0/8,127.0.0.1``); then ``X-Forwarded-For`` is read from the right, skipping
trusted hops, and the first untrusted address is the client.

Example:
    >>> p = TrustedProxies(["10.0.0.0/8"])
    >>> p.client_ip("10.1.2.3", b"203.0.113.7, 10.0.0.5")
    '203.0.113.7'
    >>> p.client_ip("198.51.100.1", b"203.0.113.7")   # not from a trusted proxy: ignored
    '198.51.100.1'
    >>> TrustedProxies([]).client_ip("127.0.0.1", b"1.2.3.4")
    '127.0.0.1'
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

from ..errors import ConfigurationError

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(values: Iterable[str]) -> tuple[Network, ...]:
    """CIDRs or single addresses; a bad one is a ConfigurationError naming the setting."""
    out = []
    for value in values:
        value = value.strip()
        if not value:
            continue
        try:
            out.append(ipaddress.ip_network(value, strict=False))
        except ValueError:
            raise ConfigurationError(f"HYPER_TRUSTED_PROXIES: {value!r} is not an IP address or CIDR (such as 10.0.0.0/8)") from None
    return tuple(out)


class TrustedProxies:
    """The proxies whose forwarding headers are honoured (empty: none)."""

    __slots__ = ("networks",)

    def __init__(self, networks: Iterable[str]) -> None:
        self.networks = parse_networks(networks)

    def __bool__(self) -> bool:
        return bool(self.networks)

    def trusts(self, address: str) -> bool:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in n for n in self.networks)

    def client_ip(self, peer: str, forwarded_for: bytes | None) -> str:
        """The client's address: ``peer`` unless ``peer`` is trusted and forwarded for someone."""
        if not forwarded_for or not self.networks or not self.trusts(peer):
            return peer
        hops = [h.strip() for h in forwarded_for.decode("latin-1").split(",") if h.strip()]
        for hop in reversed(hops):
            if not self.trusts(hop):
                try:
                    return str(ipaddress.ip_address(hop))
                except ValueError:
                    return peer  # garbage in the header: keep the proxy's own address
        return hops[0] if hops else peer

    def scheme(self, peer: str, scheme: str, forwarded_proto: bytes | None) -> str:
        """``http``/``https`` as the client used it: the proxy's ``X-Forwarded-Proto`` when trusted."""
        if forwarded_proto and self.networks and self.trusts(peer):
            proto = forwarded_proto.decode("latin-1").split(",")[0].strip().lower()
            if proto in ("http", "https"):
                return proto
        return scheme
