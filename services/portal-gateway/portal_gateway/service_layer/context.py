"""What the gateway's use cases and routes need, built once by the composition root."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from portal_gateway.adapters.identity_client import IdentityClient
from portal_gateway.adapters.merchants import TimedCache
from portal_gateway.settings import GatewaySettings
from portal_runtime.store import Store

Document = dict[str, Any]


class CommandTracker:
    """Requests waiting in this process for the outcome of the command they sent."""

    def __init__(self) -> None:
        self._waiting: dict[str, asyncio.Future[Document]] = {}

    def expect(self, correlation_id: str) -> asyncio.Future[Document]:
        future: asyncio.Future[Document] = asyncio.get_running_loop().create_future()
        self._waiting[correlation_id] = future
        return future

    def forget(self, correlation_id: str) -> None:
        self._waiting.pop(correlation_id, None)

    def resolve(self, correlation_id: str, outcome: Document) -> None:
        future = self._waiting.pop(correlation_id, None)
        if future is not None and not future.done():
            future.set_result(outcome)


@dataclass
class Gateway:
    settings: GatewaySettings
    store: Store
    identity: IdentityClient
    tracker: CommandTracker = field(default_factory=CommandTracker)
    api_keys: TimedCache = field(default_factory=lambda: TimedCache(30.0))
    portals: TimedCache = field(default_factory=lambda: TimedCache(30.0))
    preferences: TimedCache = field(default_factory=lambda: TimedCache(5.0))
