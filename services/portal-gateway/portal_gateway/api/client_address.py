"""The address of the client behind a request, also when the gateway runs behind proxies.

The socket peer is the client unless it is one of the `trusted_proxies` (gateway settings).
Then the client is the right-most address in `X-Forwarded-For` that is not itself a trusted
proxy: every proxy appends the address it received the request from, so entries right of that
one were written by proxies we trust and entries left of it by whoever the client is (a
client can put anything there). A malformed entry met on that walk was written by a trusted
proxy that could not name its peer; nothing to its left can be believed, so the peer is kept.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address
from typing import Any

from litestar.types import Scope

Network = IPv4Network | IPv6Network
Address = IPv4Address | IPv6Address


def client_address(scope: Scope) -> str:
    """The client's address of a request (`request.scope`) as the gateway settings say to
    read it; the peer's own text when there are no trusted proxies (as before)."""
    client = scope.get("client")
    peer = str(client[0]) if client else ""
    trusted = _trusted_networks(scope)
    if not trusted:
        return peer
    forwarded = [
        value.decode("latin-1")
        for name, value in scope.get("headers") or ()
        if name.lower() == b"x-forwarded-for"
    ]
    return resolve(peer, forwarded, trusted)


def resolve(peer: str, forwarded_for: Iterable[str], trusted: Sequence[Network]) -> str:
    """The client address from the socket peer and the `X-Forwarded-For` header values (in
    the order received; several headers count as one list)."""
    peer_address = _parse(peer)
    if peer_address is None or not _inside(peer_address, trusted):
        return peer
    entries = [part for value in forwarded_for for part in value.split(",")]
    for entry in reversed(entries):
        address = _parse(entry)
        if address is None:
            return peer
        if not _inside(address, trusted):
            return str(address)
    return peer


def _trusted_networks(scope: Scope) -> tuple[Network, ...]:
    app: Any = scope.get("app")
    runtime = getattr(getattr(app, "state", None), "runtime", None) if app else None
    networks = getattr(getattr(runtime, "settings", None), "trusted_networks", ())
    return tuple(networks)


def _parse(text: str) -> Address | None:
    """A bare address, or one with a port (`203.0.113.9:443`, `[2001:db8::1]:443`)."""
    text = text.strip()
    if text.startswith("[") and "]" in text:
        text = text[1 : text.index("]")]
    elif text.count(":") == 1:
        text = text.split(":", 1)[0]
    try:
        address = ip_address(text)
    except ValueError:
        return None
    if isinstance(address, IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _inside(address: Address, trusted: Sequence[Network]) -> bool:
    return any(address.version == network.version and address in network for network in trusted)
