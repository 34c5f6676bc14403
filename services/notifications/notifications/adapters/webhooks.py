"""Webhook endpoints and deliveries in MongoDB, and the HTTP client that posts deliveries.

Delivery statuses: `pending` (due at `next_attempt_at`), `sending` (claimed until
`lease_until`), `delivered`, `dead`. A delivery left in `sending` past its lease (its sender
crashed) is claimed again and sent with the same event id and body.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpcore
import httpx
from pymongo import ASCENDING, DESCENDING, ReturnDocument
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase

from portal_runtime import network

Document = dict[str, Any]
ENDPOINTS = "webhook_endpoints"
DELIVERIES = "webhook_deliveries"


@dataclass(frozen=True)
class ClaimedDelivery:
    delivery_id: str
    claim: str
    attempts: int
    row: Document


class WebhookRepository:
    def __init__(
        self, db: AsyncDatabase[Document], session: AsyncClientSession | None = None
    ) -> None:
        self.endpoints = db[ENDPOINTS]
        self.deliveries = db[DELIVERIES]
        self.session = session

    @staticmethod
    async def ensure_indexes(db: AsyncDatabase[Document]) -> None:
        await db[ENDPOINTS].create_index([("organisation_id", ASCENDING), ("status", ASCENDING)])
        deliveries = db[DELIVERIES]
        await deliveries.create_index([("status", ASCENDING), ("next_attempt_at", ASCENDING)])
        await deliveries.create_index([("status", ASCENDING), ("lease_until", ASCENDING)])
        await deliveries.create_index([("organisation_id", ASCENDING), ("created_at", DESCENDING)])

    async def save_endpoint(self, endpoint: Document) -> None:
        await self.endpoints.replace_one(
            {"_id": endpoint["_id"]}, endpoint, upsert=True, session=self.session
        )

    async def endpoint(self, organisation_id: str, endpoint_id: str) -> Document | None:
        return await self.endpoints.find_one(
            {"_id": endpoint_id, "organisation_id": organisation_id}, session=self.session
        )

    async def active_endpoints(self, organisation_id: str) -> list[Document]:
        cursor = self.endpoints.find(
            {"organisation_id": organisation_id, "status": "active"}, session=self.session
        )
        return await cursor.to_list()

    async def add_delivery(self, delivery: Document) -> None:
        await self.deliveries.insert_one(delivery, session=self.session)

    async def delivery(self, organisation_id: str, delivery_id: str) -> Document | None:
        return await self.deliveries.find_one(
            {"_id": delivery_id, "organisation_id": organisation_id}, session=self.session
        )

    async def reopen(self, delivery_id: str, now: datetime) -> None:
        """A replay: due now, whatever it was; attempts keep counting."""
        await self.deliveries.update_one(
            {"_id": delivery_id},
            {
                "$set": {"status": "pending", "next_attempt_at": now},
                "$unset": {"lease_until": "", "claim": ""},
            },
            session=self.session,
        )

    async def claim_due(self, now: datetime, lease: timedelta) -> ClaimedDelivery | None:
        claim = uuid.uuid4().hex
        row = await self.deliveries.find_one_and_update(
            {
                "$or": [
                    {"status": "pending", "next_attempt_at": {"$lte": now}},
                    {"status": "sending", "lease_until": {"$lt": now}},
                ]
            },
            {"$set": {"status": "sending", "lease_until": now + lease, "claim": claim}},
            sort=[("next_attempt_at", ASCENDING)],
            return_document=ReturnDocument.AFTER,
            session=self.session,
        )
        if row is None:
            return None
        return ClaimedDelivery(row["_id"], claim, row["attempts"], row)

    async def settle(self, claimed: ClaimedDelivery, changes: Document) -> bool:
        """Apply the outcome only while our claim holds; False if another sender took over."""
        result = await self.deliveries.update_one(
            {"_id": claimed.delivery_id, "status": "sending", "claim": claimed.claim},
            {"$set": changes, "$unset": {"lease_until": "", "claim": ""}},
            session=self.session,
        )
        return result.modified_count == 1


class WebhookRefused(Exception):
    """The receiver could not be reached or did not answer 2xx; worth trying again."""

    def __init__(self, reason: str, status: int | None = None) -> None:
        super().__init__(reason)
        self.status = status


class WebhookPoster:
    """Posts one delivery. No redirects are followed: a receiver answers where it was told.

    Unless private targets are allowed (a local stack), every connection goes through
    `_CheckedBackend`: the host is resolved and checked when the connection is opened, and
    the connection is made to an address that passed, so a name re-pointed at a private
    address after registration (DNS rebinding) gets nothing. Environment proxies are not
    used then: through a proxy the platform could not see where the request really goes."""

    def __init__(self, timeout_seconds: float, *, allow_private_targets: bool = False) -> None:
        transport: httpx.AsyncHTTPTransport | None = None
        if not allow_private_targets:
            transport = httpx.AsyncHTTPTransport()
            # httpx has no public way to choose the pool's network backend: its pool is
            # replaced by one with the same TLS defaults that connects through the check.
            transport._pool = httpcore.AsyncConnectionPool(
                ssl_context=httpx.create_ssl_context(),
                max_connections=100,
                max_keepalive_connections=20,
                keepalive_expiry=5.0,
                network_backend=_CheckedBackend(),
            )
        self.client = httpx.AsyncClient(
            timeout=timeout_seconds, follow_redirects=False, transport=transport
        )

    async def post(self, url: str, body: bytes, headers: dict[str, str]) -> int:
        try:
            response = await self.client.post(url, content=body, headers=headers)
        except (network.TargetNotAllowed, network.TargetUnresolvable) as refused:
            raise WebhookRefused(f"target refused: {refused}") from refused
        except httpx.HTTPError as failure:
            raise WebhookRefused(f"{type(failure).__name__}: {failure}") from failure
        if not 200 <= response.status_code < 300:
            raise WebhookRefused(f"HTTP {response.status_code}", response.status_code)
        return response.status_code

    async def close(self) -> None:
        await self.client.aclose()


class _CheckedBackend(httpcore.AsyncNetworkBackend):
    """Opens TCP connections only to addresses `portal_runtime.network` allows, resolving
    the host itself (TLS still verifies the certificate against the host name)."""

    def __init__(self) -> None:
        self._inner = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's interface
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        failure: httpcore.ConnectError | None = None
        for address in await network.allowed_addresses(host, port):
            try:
                return await self._inner.connect_tcp(
                    str(address),
                    port,
                    timeout=timeout,
                    local_address=local_address,
                    socket_options=socket_options,
                )
            except httpcore.ConnectError as refused:
                failure = refused
        assert failure is not None  # allowed_addresses returns at least one address
        raise failure

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)
