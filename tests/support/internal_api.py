"""Calling an in-memory service app (Litestar's test client) through an ordinary httpx client,
e.g. the gateway's identity client, without a real socket."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from litestar.testing import AsyncTestClient
from litestar.testing.transport import TestClientTransport


class ViaTestClient(httpx.AsyncBaseTransport):
    """An httpx transport that hands each request to a running `AsyncTestClient`, so the app
    runs on the loop its lifespan started (its database client is bound to that loop)."""

    def __init__(self, client: AsyncTestClient[Any]) -> None:
        self.client = client

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        answer = await self.client.request(
            request.method,
            request.url.raw_path.decode("ascii"),
            headers=[(k, v) for k, v in request.headers.items() if k.lower() != "host"],
            content=await request.aread(),
        )
        return httpx.Response(answer.status_code, headers=answer.headers, content=answer.content)


SOCKET_PEER = "x-test-socket-peer"


def socket_peer_from_header(monkeypatch: pytest.MonkeyPatch) -> None:
    """Let a test say which address a request comes from (Litestar's test client always
    says "testclient"): the header `x-test-socket-peer` becomes the ASGI scope's `client`
    and is removed from the headers the app sees."""
    original = TestClientTransport.parse_request

    def parse_request(self: TestClientTransport[Any], request: httpx.Request) -> dict[str, Any]:
        peer = request.headers.pop(SOCKET_PEER, None)
        scope = original(self, request)
        if peer is not None:
            scope["client"] = (peer, 50000)
        return scope

    monkeypatch.setattr(TestClientTransport, "parse_request", parse_request)
