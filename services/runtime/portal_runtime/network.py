"""Which network addresses the platform may call on a merchant's behalf (webhook targets).

A webhook URL is chosen by a merchant, so a careless or hostile one could make the platform
post to itself or its neighbours (server-side request forgery): loopback, the private
network, the cloud metadata service at 169.254.169.254. Only globally routable unicast
addresses are allowed. The gateway checks at registration, notifications again before every
delivery (DNS can change in between), and connects only to the addresses it checked.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable, Sequence

from portal_runtime.waiting import within

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
# host, port -> the addresses the name resolves to (tests pass their own).
Resolver = Callable[[str, int], Awaitable[Sequence[str]]]

_SHARED = ipaddress.IPv4Network("100.64.0.0/10")  # carrier-grade NAT (RFC 6598)


class TargetNotAllowed(Exception):
    """The target is, or resolves to, an address the platform does not call."""


class TargetUnresolvable(Exception):
    """The target's host name does not resolve to any address."""


def refusal(address: str | IPAddress) -> str | None:
    """Why `address` may not be a webhook target, or None when it may.

    IPv4 addresses inside IPv6 (IPv4-mapped `::ffff:a.b.c.d`, 6to4 `2002::/16`) are judged
    by the IPv4 address they carry, so `::ffff:127.0.0.1` is loopback."""
    ip = ipaddress.ip_address(address) if isinstance(address, str) else address
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = ip.ipv4_mapped or ip.sixtofour
        if embedded is not None:
            return refusal(embedded)
    if ip.is_unspecified:
        return "unspecified"
    if ip.is_loopback:
        return "loopback"
    if ip.is_link_local:
        return "link-local"
    if ip.is_multicast:
        return "multicast"
    if isinstance(ip, ipaddress.IPv4Address) and ip in _SHARED:
        return "shared (carrier-grade NAT)"
    if isinstance(ip, ipaddress.IPv6Address) and ip.is_site_local:
        return "site-local"
    if ip.is_reserved:
        return "reserved"
    if ip.is_private or not ip.is_global:
        # RFC 1918, unique local fc00::/7, and the other special-purpose ranges
        # (documentation, benchmarking, ...), none of which a receiver is on.
        return "private"
    return None


async def resolve(host: str, port: int) -> list[str]:
    """Every address `host` resolves to (TCP), through the running loop's resolver."""
    try:
        found = await asyncio.get_running_loop().getaddrinfo(
            host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP
        )
    except (socket.gaierror, UnicodeError) as failure:
        raise TargetUnresolvable(f"'{host}' does not resolve: {failure}") from failure
    return list(dict.fromkeys(str(info[4][0]) for info in found))


async def allowed_addresses(
    host: str,
    port: int,
    *,
    resolver: Resolver = resolve,
    timeout_seconds: float = 5.0,
) -> list[IPAddress]:
    """The addresses of `host` (a name or an IP literal) the platform may connect to.

    Raises `TargetNotAllowed` when ANY address is disallowed: a name that resolves to one
    public and one private address could be answered from either, so it is refused whole.
    Raises `TargetUnresolvable` when it resolves to nothing (or not within the timeout)."""
    literal = host.strip("[]")
    try:
        addresses = [ipaddress.ip_address(literal)]
        named = "the host is"
    except ValueError:
        try:
            found = await within(resolver(host, port), timeout_seconds)
        except TimeoutError as slow:
            raise TargetUnresolvable(f"'{host}' did not resolve in time") from slow
        # A scoped IPv6 answer ("fe80::1%eth0") carries its zone after a '%'.
        addresses = [ipaddress.ip_address(a.split("%", 1)[0]) for a in found]
        named = f"'{host}' resolves to"
    if not addresses:
        raise TargetUnresolvable(f"'{host}' does not resolve to any address")
    for address in addresses:
        reason = refusal(address)
        if reason is not None:
            raise TargetNotAllowed(
                f"{named} {address}, a {reason} address; webhooks are sent only to public "
                "internet addresses"
            )
    return addresses
