"""Which address the gateway takes for the client: the socket peer, unless the peer is a
trusted proxy, then the right-most untrusted address of X-Forwarded-For."""

from __future__ import annotations

from ipaddress import ip_network
from types import SimpleNamespace
from typing import cast

import pytest
from litestar.types import Scope
from pydantic import ValidationError

from portal_gateway.api.client_address import Network, client_address, resolve
from portal_gateway.settings import GatewaySettings

pytestmark = pytest.mark.unit

BALANCERS: list[Network] = [ip_network("10.0.0.0/8"), ip_network("2001:db8:ffff::/48")]


def test_without_trusted_proxies_the_peer_is_the_client_whatever_the_header_says() -> None:
    assert resolve("198.51.100.7", ["203.0.113.9"], []) == "198.51.100.7"


def test_an_untrusted_peer_cannot_claim_another_address_by_sending_the_header() -> None:
    # A customer connecting directly sends a made-up header to dodge the per-address limit.
    assert resolve("198.51.100.7", ["203.0.113.9"], BALANCERS) == "198.51.100.7"
    assert resolve("198.51.100.7", ["10.1.2.3"], BALANCERS) == "198.51.100.7"


def test_behind_a_trusted_proxy_the_forwarded_address_is_the_client() -> None:
    assert resolve("10.0.0.5", ["203.0.113.9"], BALANCERS) == "203.0.113.9"


def test_addresses_the_client_put_in_front_are_not_believed() -> None:
    # The client sent "X-Forwarded-For: 192.0.2.1"; the balancer appended what it saw.
    assert resolve("10.0.0.5", ["192.0.2.1, 203.0.113.9"], BALANCERS) == "203.0.113.9"


def test_a_chain_of_trusted_proxies_is_walked_from_the_right() -> None:
    chain = ["192.0.2.1, 203.0.113.9, 10.8.0.1, 10.9.0.1"]
    assert resolve("10.0.0.5", chain, BALANCERS) == "203.0.113.9"
    # Several header lines count as one list, in the order received.
    lines = ["192.0.2.1", "203.0.113.9, 10.8.0.1", "10.9.0.1"]
    assert resolve("10.0.0.5", lines, BALANCERS) == "203.0.113.9"


@pytest.mark.parametrize(
    "header",
    [[], [""], ["unknown"], ["not an address"], ["203.0.113.9, unknown"], ["10.8.0.1"]],
)
def test_garbage_or_nothing_but_proxies_falls_back_to_the_peer(header: list[str]) -> None:
    assert resolve("10.0.0.5", header, BALANCERS) == "10.0.0.5"


def test_garbage_left_of_the_client_address_is_never_reached() -> None:
    assert resolve("10.0.0.5", ["<script>, 203.0.113.9"], BALANCERS) == "203.0.113.9"


def test_ports_are_dropped() -> None:
    assert resolve("10.0.0.5", ["203.0.113.9:51000"], BALANCERS) == "203.0.113.9"
    assert resolve("10.0.0.5", ["[2001:db8::7]:443"], BALANCERS) == "2001:db8::7"


def test_ipv6_peers_and_clients() -> None:
    assert resolve("2001:db8:ffff::1", ["2001:db8::7"], BALANCERS) == "2001:db8::7"
    assert resolve("2001:db8:1::1", ["2001:db8::7"], BALANCERS) == "2001:db8:1::1"
    assert resolve("2001:db8:ffff::1", ["203.0.113.9, 2001:db8:ffff::2"], BALANCERS) == (
        "203.0.113.9"
    )
    # A dual-stack socket reports an IPv4 balancer as an IPv4-mapped IPv6 address.
    assert resolve("::ffff:10.0.0.5", ["203.0.113.9"], BALANCERS) == "203.0.113.9"


def test_a_peer_that_is_not_an_address_is_kept_as_it_is() -> None:
    assert resolve("testclient", ["203.0.113.9"], BALANCERS) == "testclient"
    assert resolve("", ["203.0.113.9"], BALANCERS) == ""


def scope(peer: str | None, trusted: list[str], *forwarded: str) -> Scope:
    settings = GatewaySettings(trusted_proxies=trusted)
    app = SimpleNamespace(state=SimpleNamespace(runtime=SimpleNamespace(settings=settings)))
    raw = {
        "type": "http",
        "app": app,
        "client": (peer, 51000) if peer else None,
        "headers": [(b"x-forwarded-for", value.encode()) for value in forwarded]
        + [(b"user-agent", b"test")],
    }
    return cast("Scope", raw)


def test_a_request_scope_reads_the_gateway_settings() -> None:
    assert client_address(scope("10.0.0.5", ["10.0.0.0/8"], "203.0.113.9")) == "203.0.113.9"
    assert client_address(scope("10.0.0.5", [], "203.0.113.9")) == "10.0.0.5"
    assert client_address(scope(None, ["10.0.0.0/8"], "203.0.113.9")) == ""


def test_trusted_proxies_come_from_the_environment_as_a_list_or_comma_separated(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("GATEWAY_TRUSTED_PROXIES", "10.0.0.0/8, 2001:db8::/32")
    assert [str(n) for n in GatewaySettings().trusted_networks] == ["10.0.0.0/8", "2001:db8::/32"]
    monkeypatch.setenv("GATEWAY_TRUSTED_PROXIES", '["192.168.0.0/16"]')
    assert [str(n) for n in GatewaySettings().trusted_networks] == ["192.168.0.0/16"]
    monkeypatch.setenv("GATEWAY_TRUSTED_PROXIES", "")
    assert GatewaySettings().trusted_networks == ()
    monkeypatch.setenv("GATEWAY_TRUSTED_PROXIES", "not-a-network")
    with pytest.raises(ValidationError, match="trusted_proxies"):
        GatewaySettings()
