"""Messaging guarantees of the shared runtime, shown through the subscriptions service on the
real local broker and database: poison messages are dead-lettered without blocking the
partition, a repeated delivery is handled once, and the outbox survives a restart, keeps each
key's order and publishes every message once.

The broker lives for the whole test session and topic names are fixed, so every test works
with customer ids and correlation ids of its own and ignores everything else on a topic.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.structs import RecordMetadata

from portal_contracts import Actor
from portal_contracts.common import Contact
from portal_contracts.customers import (
    CreateCustomer,
    CustomerCreated,
    CustomerSnapshot,
    NewCustomer,
)
from portal_contracts.topics import CUSTOMER_EVENTS, SUBSCRIPTIONS_COMMANDS, dead_letter_topic
from portal_runtime.clock import SystemClock
from portal_runtime.runtime import ServiceRuntime
from subscriptions.app import build_runtime
from subscriptions.settings import SubscriptionsSettings
from tests.support.kafka import collect
from tests.support.waiting import eventually

pytestmark = pytest.mark.connected

ORG = "org_acme_fitness"
MERCHANT = Actor(kind="merchant", id="key_live_4c2a9e")
Record = ConsumerRecord[Any, Any]


# The outbox and inbox expire rows by the service clock against the database's own clock, so
# these tests use the real time rather than a clock set in the past.
CLOCK = SystemClock()


@pytest.fixture
def settings(kafka_bootstrap: str, mongo_uri: str, database_name: str) -> SubscriptionsSettings:
    return SubscriptionsSettings(
        kafka_bootstrap=kafka_bootstrap, mongo_uri=mongo_uri, mongo_database=database_name
    )


@asynccontextmanager
async def running(settings: SubscriptionsSettings) -> AsyncIterator[ServiceRuntime]:
    runtime = build_runtime(settings, CLOCK)
    await runtime.start()
    try:
        yield runtime
    finally:
        await runtime.stop()


def new_customer_id() -> str:
    return f"cus_{uuid.uuid4().hex[:12]}"


def create_customer(customer_id: str) -> CreateCustomer:
    return CreateCustomer(
        occurred_at=CLOCK.now(),
        organisation_id=ORG,
        correlation_id=f"req_{uuid.uuid4().hex}",
        actor=MERCHANT,
        data=NewCustomer(
            customer_id=customer_id,
            display_name="Keller Physiotherapie",
            currency="EUR",
            portal_language="de",
            primary_contact=Contact(
                contact_id=f"con_{uuid.uuid4().hex[:8]}",
                first_name="Maria",
                last_name="Keller",
                email="maria.keller@example.com",
            ),
            enable_portal=True,
        ),
    )


def customer_created(customer_id: str, display_name: str) -> CustomerCreated:
    return CustomerCreated(
        occurred_at=CLOCK.now(),
        organisation_id=ORG,
        correlation_id=f"req_{uuid.uuid4().hex}",
        data=CustomerSnapshot(
            customer_id=customer_id,
            display_name=display_name,
            currency="EUR",
            contacts=(),
            portal_enabled=False,
        ),
    )


async def send(
    bootstrap: str, topic: str, records: list[tuple[bytes, bytes]]
) -> list[RecordMetadata]:
    """Produce (key, value) records in order; returns where each one landed."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        return [await producer.send_and_wait(topic, value, key=key) for key, value in records]
    finally:
        await producer.stop()


async def read_to_end(bootstrap: str, topic: str, timeout: float = 30.0) -> list[Record]:
    """Everything on the topic right now: read each partition up to its end offset."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    records: list[Record] = []
    try:
        await consumer.topics()  # loads the metadata partitions_for_topic answers from
        partitions = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or ()]
        assert partitions, f"topic {topic} does not exist"
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        async with asyncio.timeout(timeout):
            while [tp for tp, end in ends.items() if await consumer.position(tp) < end]:
                for batch in (await consumer.getmany(timeout_ms=200)).values():
                    records.extend(batch)
    finally:
        await consumer.stop()
    return records


def headers_of(record: Record) -> dict[str, str]:
    return {name: value.decode() for name, value in record.headers}


def keyed(records: list[Record], key: str) -> list[Record]:
    return [r for r in records if r.key == key.encode()]


def bodies(records: list[Record]) -> list[dict[str, Any]]:
    return [json.loads(r.value) for r in records]


async def test_poison_messages_are_dead_lettered_and_the_consumer_keeps_going(
    settings: SubscriptionsSettings, kafka_bootstrap: str
) -> None:
    customer_id = new_customer_id()
    key = customer_id.encode()
    valid = create_customer(customer_id)
    incomplete = valid.model_dump(mode="json")
    del incomplete["data"]["primary_contact"]
    incomplete_bytes = json.dumps(incomplete).encode()

    async with running(settings):
        # One key, so all three share a partition: the valid command queues behind the bad ones.
        landed = await send(
            kafka_bootstrap,
            SUBSCRIPTIONS_COMMANDS,
            [(key, b"not json"), (key, incomplete_bytes), (key, valid.model_dump_json().encode())],
        )
        dead = await collect(
            kafka_bootstrap,
            [dead_letter_topic(SUBSCRIPTIONS_COMMANDS)],
            until=lambda got: len(keyed(got, customer_id)) >= 2,
        )
        events = await collect(
            kafka_bootstrap,
            [CUSTOMER_EVENTS],
            until=lambda got: len(keyed(got, customer_id)) >= 1,
        )

    assert len({m.partition for m in landed}) == 1
    dead_letters = {r.value: headers_of(r) for r in keyed(dead, customer_id)}
    assert set(dead_letters) == {b"not json", incomplete_bytes}
    for original, metadata in zip((b"not json", incomplete_bytes), landed, strict=False):
        headers = dead_letters[original]
        assert headers["dlt-original-topic"] == SUBSCRIPTIONS_COMMANDS
        assert headers["dlt-original-partition"] == str(metadata.partition)
        assert headers["dlt-original-offset"] == str(metadata.offset)
        assert headers["dlt-consumer"] == "subscriptions"
        assert headers["dlt-reason"]
    assert "primary_contact" in dead_letters[incomplete_bytes]["dlt-reason"]

    [created] = bodies(keyed(events, customer_id))
    assert created["type"] == "CustomerCreated"
    assert created["correlation_id"] == valid.correlation_id
    assert created["causation_id"] == str(valid.event_id)
    assert created["data"]["customer_id"] == customer_id


async def test_a_repeated_command_is_handled_once(
    settings: SubscriptionsSettings, kafka_bootstrap: str
) -> None:
    customer_id = new_customer_id()
    command = create_customer(customer_id)
    later = create_customer(new_customer_id())
    raw = command.model_dump_json().encode()
    key = customer_id.encode()

    async with running(settings) as runtime:
        # The later command shares the partition, so once it is handled both copies were too.
        await send(
            kafka_bootstrap,
            SUBSCRIPTIONS_COMMANDS,
            [(key, raw), (key, raw), (key, later.model_dump_json().encode())],
        )
        customers = runtime.store.db["customers"]
        outbox = runtime.store.db["outbox"]
        await eventually(lambda: customers.find_one({"customer_id": later.data.customer_id}))
        await eventually(lambda: _none_left(outbox))
        stored = await customers.count_documents({"customer_id": customer_id})
        handled = await runtime.store.inbox.find_one({"_id": f"subscriptions:{command.event_id}"})

    records = keyed(await read_to_end(kafka_bootstrap, CUSTOMER_EVENTS), customer_id)
    outcomes = [(b["type"], b["correlation_id"]) for b in bodies(records)]
    assert outcomes == [("CustomerCreated", command.correlation_id)]
    assert stored == 1
    assert handled is not None


async def _none_left(outbox: Any) -> bool:
    return await outbox.count_documents({"published": False}) == 0


async def test_the_outbox_survives_a_restart_keeps_key_order_and_publishes_once(
    settings: SubscriptionsSettings, kafka_bootstrap: str
) -> None:
    first, second = new_customer_id(), new_customer_id()
    committed: dict[str, list[str]] = {first: [], second: []}

    # Written while the service is down, interleaved across the two customers.
    stopped = build_runtime(settings, CLOCK)
    try:
        await stopped.store.ensure_indexes()
        for n in range(1, 6):
            for customer_id in (first, second):
                message = customer_created(customer_id, f"Revision {n}")
                await stopped.store.transaction(lambda tx, m=message: tx.emit(CUSTOMER_EVENTS, m))
                committed[customer_id].append(str(message.event_id))
    finally:
        await stopped.mongo.close()

    async with running(settings) as runtime:
        await eventually(lambda: _none_left(runtime.store.db["outbox"]))

    published = await read_to_end(kafka_bootstrap, CUSTOMER_EVENTS)
    for customer_id, event_ids in committed.items():
        records = keyed(published, customer_id)
        assert [b["event_id"] for b in bodies(records)] == event_ids
        assert {headers_of(r)["message-type"] for r in records} == {"CustomerCreated"}

    # A restarted service publishes only what is new.
    after_restart = customer_created(first, "Revision 6")
    async with running(settings) as runtime:
        await runtime.store.transaction(lambda tx: tx.emit(CUSTOMER_EVENTS, after_restart))
        outbox = runtime.store.db["outbox"]
        await eventually(lambda: _none_left(outbox))
        # Only our keys: the service may also have handled commands other tests left behind.
        rows = await outbox.find({"key": {"$in": [first, second]}}).to_list()

    published = await read_to_end(kafka_bootstrap, CUSTOMER_EVENTS)
    assert [b["event_id"] for b in bodies(keyed(published, first))] == [
        *committed[first],
        str(after_restart.event_id),
    ]
    assert [b["event_id"] for b in bodies(keyed(published, second))] == committed[second]
    assert len(rows) == 11
    assert all(row["published"] for row in rows)
    assert sorted(row["seq"] for row in rows if row["key"] == first) == [1, 2, 3, 4, 5, 6]
