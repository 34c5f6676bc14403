"""The outbox relay against the real database: one key's failure holds back only that key."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pymongo import AsyncMongoClient

from portal_contracts.common import Contact
from portal_contracts.customers import CustomerCreated, CustomerSnapshot
from portal_runtime.clock import SystemClock
from portal_runtime.outbox import OutboxRelay
from portal_runtime.store import Store, Transaction

pytestmark = pytest.mark.connected


def created(customer_id: str, name: str) -> CustomerCreated:
    return CustomerCreated(
        organisation_id="org_relay",
        correlation_id=f"c-{customer_id}-{name}",
        occurred_at=datetime.now(UTC),
        data=CustomerSnapshot(
            customer_id=customer_id,
            display_name=name,
            currency="EUR",
            contacts=(Contact(contact_id="ct", first_name=name, is_primary=True),),
            portal_enabled=False,
        ),
    )


class FlakyPublisher:
    """Refuses messages of the keys in `failing`; records the rest in order."""

    def __init__(self, failing: set[str]) -> None:
        self.failing = failing
        self.published: list[tuple[str, str]] = []

    async def __call__(self, topic: str, key: str, body: bytes, headers: dict[str, str]) -> None:
        if key in self.failing:
            raise ConnectionError(f"broker refused {key}")
        self.published.append((key, CustomerCreated.model_validate_json(body).data.display_name))


async def test_a_failing_key_waits_while_other_keys_are_published_in_order(
    mongo_uri: str, database_name: str
) -> None:
    client: AsyncMongoClient[dict[str, object]] = AsyncMongoClient(mongo_uri, tz_aware=True)
    store = Store(client, database_name, SystemClock())
    await store.ensure_indexes()
    for name in ("first", "second", "third"):
        for customer in ("cus_stuck", "cus_fine"):

            async def emit(tx: Transaction, customer: str = customer, name: str = name) -> None:
                await tx.emit("subscriptions.customer-events", created(customer, name))

            await store.transaction(emit)

    publisher = FlakyPublisher(failing={"cus_stuck"})
    relay = OutboxRelay(store.db, publisher, SystemClock())
    assert await relay.publish_pending() == 3
    assert publisher.published == [
        ("cus_fine", "first"),
        ("cus_fine", "second"),
        ("cus_fine", "third"),
    ]
    assert await store.db["outbox"].count_documents({"published": False}) == 3

    publisher.failing.clear()
    assert await relay.publish_pending() == 3
    assert publisher.published[3:] == [
        ("cus_stuck", "first"),
        ("cus_stuck", "second"),
        ("cus_stuck", "third"),
    ]
    assert await relay.publish_pending() == 0
    await client.close()
