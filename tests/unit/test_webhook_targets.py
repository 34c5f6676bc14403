"""The rule for webhook targets: only public unicast addresses, whatever form they come in,
and a host name only when every address it resolves to is public."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from portal_runtime.network import (
    Resolver,
    TargetNotAllowed,
    TargetUnresolvable,
    allowed_addresses,
    refusal,
)

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("127.0.0.1", "loopback"),
        ("127.8.9.10", "loopback"),
        ("::1", "loopback"),
        ("10.1.2.3", "private"),
        ("172.16.0.1", "private"),
        ("172.31.255.254", "private"),
        ("192.168.1.20", "private"),
        ("fc00::1", "private"),
        ("fd12:3456:789a::1", "private"),
        ("169.254.169.254", "link-local"),  # the cloud metadata service
        ("169.254.0.1", "link-local"),
        ("fe80::1", "link-local"),
        ("100.64.0.1", "shared (carrier-grade NAT)"),
        ("100.127.255.254", "shared (carrier-grade NAT)"),
        ("224.0.0.1", "multicast"),
        ("239.255.255.250", "multicast"),
        ("ff02::1", "multicast"),
        ("0.0.0.0", "unspecified"),
        ("::", "unspecified"),
        ("240.0.0.1", "reserved"),
        ("255.255.255.255", "reserved"),
        ("fec0::1", "site-local"),
        ("192.0.2.10", "private"),  # documentation (TEST-NET-1)
        ("198.18.0.1", "private"),  # benchmarking
        # IPv4 inside IPv6 is judged by the IPv4 address it carries.
        ("::ffff:127.0.0.1", "loopback"),
        ("::ffff:10.0.0.1", "private"),
        ("::ffff:169.254.169.254", "link-local"),
        ("::ffff:100.64.0.1", "shared (carrier-grade NAT)"),
        ("2002:7f00:1::1", "loopback"),  # 6to4 around 127.0.0.1
        ("2002:c0a8:101::1", "private"),  # 6to4 around 192.168.1.1
    ],
)
def test_addresses_outside_the_public_internet_are_refused(address: str, reason: str) -> None:
    assert refusal(address) == reason


@pytest.mark.parametrize(
    "address",
    [
        "93.184.215.14",
        "8.8.8.8",
        "100.63.255.255",
        "100.128.0.1",
        "2606:4700::1111",
        "::ffff:93.184.215.14",
        "172.32.0.1",
    ],
)
def test_public_addresses_are_allowed(address: str) -> None:
    assert refusal(address) is None


def answering(*addresses: str) -> Resolver:
    async def resolver(host: str, port: int) -> Sequence[str]:
        return addresses

    return resolver


async def test_a_name_is_allowed_only_when_every_address_it_resolves_to_is_public() -> None:
    public = await allowed_addresses(
        "hooks.example.com", 443, resolver=answering("93.184.215.14", "2606:4700::1111")
    )
    assert [str(a) for a in public] == ["93.184.215.14", "2606:4700::1111"]

    with pytest.raises(TargetNotAllowed, match=r"resolves to 10\.0\.0\.7, a private address"):
        await allowed_addresses(
            "hooks.example.com", 443, resolver=answering("93.184.215.14", "10.0.0.7")
        )
    with pytest.raises(TargetNotAllowed, match="link-local"):
        await allowed_addresses("metadata.example.com", 80, resolver=answering("169.254.169.254"))


async def test_localhost_resolves_to_loopback_and_is_refused() -> None:
    with pytest.raises(TargetNotAllowed, match=r"'localhost' resolves to .*loopback"):
        await allowed_addresses("localhost", 443)


async def test_a_literal_address_is_judged_without_resolving() -> None:
    async def no_lookups(host: str, port: int) -> Sequence[str]:
        raise AssertionError("a literal address must not be looked up")

    with pytest.raises(TargetNotAllowed, match=r"the host is ::ffff:a9fe:a9fe, a link-local"):
        await allowed_addresses("[::ffff:169.254.169.254]", 443, resolver=no_lookups)
    assert [str(a) for a in await allowed_addresses("8.8.8.8", 443, resolver=no_lookups)] == [
        "8.8.8.8"
    ]


async def test_a_name_that_does_not_resolve_is_refused() -> None:
    with pytest.raises(TargetUnresolvable):
        await allowed_addresses("nothing-here.invalid", 443)
    with pytest.raises(TargetUnresolvable):
        await allowed_addresses("empty.example.com", 443, resolver=answering())
