"""Behind a load balancer the gateway takes the customer's address from X-Forwarded-For
(only when the balancer is one of its `trusted_proxies`), so identity's per-address sign-in
limit locks out one customer rather than everyone behind the balancer, and sign-ins record
where the customer really was. Gateway and identity in memory (Litestar test clients,
TestKafkaBroker), the gateway calling identity's internal API; the real database."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from faststream.kafka import TestKafkaBroker
from litestar.testing import AsyncTestClient
from pymongo import AsyncMongoClient

import portal_gateway.app as gateway_app
from identity.adapters.repositories import Merchants
from identity.app import create_app as create_identity
from identity.settings import IdentitySettings
from portal_gateway.adapters.identity_client import IdentityClient
from portal_gateway.app import create_app as create_gateway
from portal_gateway.settings import GatewaySettings
from tests.support.internal_api import SOCKET_PEER, ViaTestClient, socket_peer_from_header
from tests.support.sign_in import PASSWORD, stored_contact

pytestmark = pytest.mark.component
BALANCER = "10.0.0.5"
LIMIT = 3  # failed sign-ins per client address before it is locked


@dataclass
class Portal:
    gateway: AsyncTestClient[Any]
    identity_db: Any
    slug: str
    organisation_id: str

    async def contact(self) -> str:
        return await stored_contact(self.identity_db, self.organisation_id)

    async def sign_in(
        self, email: str, password: str, *, peer: str, forwarded_for: str | None = None
    ) -> httpx.Response:
        headers = {SOCKET_PEER: peer}
        if forwarded_for is not None:
            headers["X-Forwarded-For"] = forwarded_for
        return await self.gateway.post(
            f"/portal/{self.slug}/api/sessions",
            json={"email": email, "password": password},
            headers=headers,
        )

    async def sign_in_ips(self) -> list[str]:
        """The address of every sign-in and failed attempt identity recorded."""
        rows = self.identity_db["outbox"].find(
            {
                "type": {"$in": ["ContactSignedIn", "SignInFailed"]},
                "organisation_id": self.organisation_id,
            }
        )
        return [json.loads(row["body"])["data"]["ip"] async for row in rows]


@pytest.fixture
async def portal(
    mongo_uri: str, database_name: str, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Portal]:
    socket_peer_from_header(monkeypatch)
    identity_app = create_identity(
        IdentitySettings(
            mongo_uri=mongo_uri,
            mongo_database=f"{database_name}_identity",
            ip_failures_before_lock=LIMIT,
            account_failures_before_lock=50,
            argon2_time_cost=1,
            argon2_memory_kib=1024,
        )
    )
    mongo: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongo_uri, tz_aware=True)
    async with (
        TestKafkaBroker(identity_app.state.runtime.broker),
        AsyncTestClient(identity_app) as identity,
    ):
        # The gateway reaches this in-memory identity instead of http://identity.
        monkeypatch.setattr(
            gateway_app,
            "IdentityClient",
            lambda url, token: IdentityClient(url, token, transport=ViaTestClient(identity)),
        )
        app = create_gateway(
            GatewaySettings(
                mongo_uri=mongo_uri,
                mongo_database=database_name,
                identity_url="http://identity",
                trusted_proxies=["10.0.0.0/8"],  # type: ignore[list-item]
            )
        )
        async with TestKafkaBroker(app.state.runtime.broker), AsyncTestClient(app) as gateway:
            organisation_id = f"org_{uuid.uuid4().hex[:12]}"
            slug = f"m-{uuid.uuid4().hex[:10]}"
            await Merchants(mongo[f"{database_name}_identity"]).save(
                organisation_id, "Orbit Software", slug
            )
            await mongo[database_name]["merchants"].insert_one(
                {"_id": organisation_id, "organisation_id": organisation_id, "portal_slug": slug}
            )
            yield Portal(gateway, mongo[f"{database_name}_identity"], slug, organisation_id)
    await mongo.close()


async def test_customers_behind_one_trusted_balancer_are_locked_out_one_by_one(
    portal: Portal,
) -> None:
    guesser, customer = await portal.contact(), await portal.contact()

    for _ in range(LIMIT):
        failed = await portal.sign_in(
            guesser, "wrong-password", peer=BALANCER, forwarded_for="203.0.113.7"
        )
        assert failed.status_code == 401, failed.text
    # The guesser's own address is locked now, even with the right password ...
    locked = await portal.sign_in(guesser, PASSWORD, peer=BALANCER, forwarded_for="203.0.113.7")
    assert locked.status_code == 429, locked.text
    # ... while another customer coming through the same balancer signs in.
    other = await portal.sign_in(customer, PASSWORD, peer=BALANCER, forwarded_for="198.51.100.2")
    assert other.status_code == 201, other.text

    # Sign-ins record the customers' own addresses, never the balancer's.
    recorded = await portal.sign_in_ips()
    assert set(recorded) == {"203.0.113.7", "198.51.100.2"}


async def test_a_client_that_is_not_a_trusted_proxy_cannot_dodge_the_limit_with_the_header(
    portal: Portal,
) -> None:
    email = await portal.contact()
    for attempt in range(LIMIT):
        failed = await portal.sign_in(
            email, "wrong-password", peer="198.51.100.66", forwarded_for=f"192.0.2.{attempt}"
        )
        assert failed.status_code == 401, failed.text

    locked = await portal.sign_in(email, PASSWORD, peer="198.51.100.66", forwarded_for="192.0.2.99")
    assert locked.status_code == 429, locked.text
    assert set(await portal.sign_in_ips()) == {"198.51.100.66"}
