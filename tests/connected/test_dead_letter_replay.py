"""Dead letters on the real local broker: a consumer built on the shared messaging runtime
gives up on a message, an operator lists it with where it came from and why, fixes the cause
and replays it; the consumer then handles it, and a second replay is recognisable and dropped
by the consumer's inbox. Every test uses topics of its own."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.structs import RecordMetadata
from faststream.kafka.annotations import KafkaMessage

from deploy import dead_letters as cli
from portal_runtime.dead_letters import (
    REPLAYED_FROM,
    AmbiguousDeadLetterError,
    UnknownDeadLetterError,
    list_dead_letters,
    replay,
)
from portal_runtime.messaging import make_broker, subscriber
from portal_runtime.settings import ServiceSettings
from tests.support.waiting import eventually

pytestmark = pytest.mark.connected

CONSUMER = "ledger-test"


async def new_topic(bootstrap: str, partitions: int = 1, name: str | None = None) -> str:
    name = name or f"test.ledger.{uuid.uuid4().hex[:10]}"
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(name, num_partitions=partitions, replication_factor=1)])
    finally:
        await admin.close()
    return name


async def produce(
    bootstrap: str,
    topic: str,
    value: bytes,
    key: bytes | None,
    headers: list[tuple[str, bytes]] | None = None,
    partition: int | None = None,
) -> RecordMetadata:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        return await producer.send_and_wait(
            topic, value, key=key, headers=headers, partition=partition
        )
    finally:
        await producer.stop()


async def end_offset(bootstrap: str, topic: str) -> int:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        partition = TopicPartition(topic, 0)
        return int((await consumer.end_offsets([partition]))[partition])
    finally:
        await consumer.stop()


def payment_recorded(customer_id: str) -> dict[str, Any]:
    return {
        "event_id": str(uuid.uuid4()),
        "type": "PaymentRecorded",
        "organisation_id": "org_acme_fitness",
        "data": {"customer_id": customer_id, "amount": 4900, "currency": "EUR"},
    }


@dataclass
class Ledger:
    """A consumer whose handler fails while `failing` is set, with an inbox of event ids."""

    failing: bool = True
    handled: list[str] = field(default_factory=list)
    repeats: list[tuple[str, str | None]] = field(default_factory=list)
    deliveries: int = 0
    replay_headers: list[dict[str, str]] = field(default_factory=list)

    async def handle(self, body: dict[str, Any], message: Any) -> None:
        self.deliveries += 1
        headers = {k: v.decode() for k, v in message.raw_message.headers}
        if REPLAYED_FROM in headers:
            self.replay_headers.append(headers)
        if self.failing:
            raise RuntimeError("ledger database unavailable")
        event_id = str(body["event_id"])
        if event_id in self.handled:
            self.repeats.append((event_id, headers.get(REPLAYED_FROM)))
            return
        self.handled.append(event_id)


@asynccontextmanager
async def running(bootstrap: str, topic: str, ledger: Ledger) -> AsyncIterator[None]:
    settings = ServiceSettings(service_name=CONSUMER, kafka_bootstrap=bootstrap, retry_attempts=1)
    broker, _ = make_broker(settings)

    @subscriber(
        broker, settings, topic, group=f"{CONSUMER}-{topic}", title="ledger", description="test"
    )
    async def handle(body: dict[str, Any], message: KafkaMessage) -> None:
        await ledger.handle(body, message)

    await broker.start()
    try:
        yield
    finally:
        await broker.stop()


async def test_a_dead_letter_is_listed_and_replayed_once_the_cause_is_fixed(
    kafka_bootstrap: str,
) -> None:
    topic = await new_topic(kafka_bootstrap)
    customer_id = f"cus_{uuid.uuid4().hex[:12]}"
    message = payment_recorded(customer_id)
    ledger = Ledger()

    async with running(kafka_bootstrap, topic, ledger):
        landed = await produce(
            kafka_bootstrap,
            topic,
            json.dumps(message).encode(),
            customer_id.encode(),
            [("message-type", b"PaymentRecorded"), ("organisation-id", b"org_acme_fitness")],
        )
        [dead] = await eventually(lambda: list_dead_letters(kafka_bootstrap, topic))

        assert dead.dlt_topic == f"{topic}.dlt"
        assert dead.original_topic == topic
        assert (dead.original_partition, dead.original_offset) == (landed.partition, landed.offset)
        assert dead.consumer == CONSUMER
        assert dead.error_type == "RuntimeError"
        assert dead.reason == "ledger database unavailable"
        assert dead.key == customer_id
        assert dead.message_type == "PaymentRecorded"
        assert dead.event_id == message["event_id"]
        assert dead.timestamp is not None
        # The original headers travel on the dead letter too (a trace context would).
        assert dead.headers["message-type"] == "PaymentRecorded"
        assert dead.headers["organisation-id"] == "org_acme_fitness"
        assert ledger.handled == []

        # The cause is fixed; the operator replays the dead letter.
        ledger.failing = False
        [done] = await replay(kafka_bootstrap, topic, [(dead.partition, dead.offset)])
        assert (done.topic, done.partition) == (topic, landed.partition)
        assert done.offset > landed.offset
        await eventually(lambda: _true(ledger.handled == [message["event_id"]]))

        # A second replay (by the bare offset, which only one partition has here) reaches the
        # consumer again, marked, and its inbox drops it.
        await replay(kafka_bootstrap, f"{topic}.dlt", [dead.offset])
        await eventually(lambda: _true(len(ledger.repeats) == 1))

    replayed_from = f"{topic}.dlt:{dead.partition}:{dead.offset}"
    assert ledger.handled == [message["event_id"]]
    assert ledger.repeats == [(message["event_id"], replayed_from)]
    assert ledger.deliveries == 3
    assert len(ledger.replay_headers) == 2
    for headers in ledger.replay_headers:
        assert headers[REPLAYED_FROM] == replayed_from
        assert headers["message-type"] == "PaymentRecorded"
        assert headers["organisation-id"] == "org_acme_fitness"
        assert headers["content-type"] == "application/json"
        assert not any(name.startswith("dlt-original") for name in headers)
    # Handled this time: nothing new was dead-lettered.
    assert [d.position for d in await list_dead_letters(kafka_bootstrap, topic)] == [dead.position]


async def _true(value: bool) -> bool:
    return value


async def test_replaying_a_dead_letter_that_is_not_there_is_refused_and_publishes_nothing(
    kafka_bootstrap: str,
) -> None:
    topic = await new_topic(kafka_bootstrap)
    ledger = Ledger()
    async with running(kafka_bootstrap, topic, ledger):
        await produce(kafka_bootstrap, topic, json.dumps(payment_recorded("cus_1")).encode(), None)
        [dead] = await eventually(lambda: list_dead_letters(kafka_bootstrap, topic))
    before = await end_offset(kafka_bootstrap, topic)

    with pytest.raises(UnknownDeadLetterError, match=rf"at {dead.offset + 1} of {topic}\.dlt"):
        await replay(kafka_bootstrap, topic, [dead.offset, dead.offset + 1])
    other_partition = (dead.partition + 1, dead.offset)
    with pytest.raises(UnknownDeadLetterError, match=f"at {other_partition[0]}:{dead.offset} "):
        await replay(kafka_bootstrap, topic, [other_partition])

    assert await end_offset(kafka_bootstrap, topic) == before


async def test_a_topic_without_dead_letters_lists_none_and_replays_nothing(
    kafka_bootstrap: str,
) -> None:
    topic = await new_topic(kafka_bootstrap)

    assert await list_dead_letters(kafka_bootstrap, topic) == []
    with pytest.raises(UnknownDeadLetterError, match="no dead letters"):
        await replay(kafka_bootstrap, topic, "all")


async def _dead_letter_topic_with(bootstrap: str, count: int, partitions: int = 1) -> str:
    """A topic whose `.dlt` holds `count` dead letters written as the middleware writes them,
    the n-th on partition n % partitions."""
    topic = await new_topic(bootstrap)
    await new_topic(bootstrap, partitions, name=f"{topic}.dlt")
    for n in range(count):
        await produce(
            bootstrap,
            f"{topic}.dlt",
            json.dumps(payment_recorded(f"cus_{n}")).encode(),
            f"cus_{n}".encode(),
            [
                ("dlt-original-topic", topic.encode()),
                ("dlt-original-partition", b"0"),
                ("dlt-original-offset", str(n).encode()),
                ("dlt-consumer", b"invoicing"),
                ("dlt-error-type", b"ValidationError"),
                ("dlt-reason", f"amount of message {n} is negative".encode()),
            ],
            partition=n % partitions,
        )
    return topic


async def test_listing_pages_through_the_dead_letters(kafka_bootstrap: str) -> None:
    topic = await _dead_letter_topic_with(kafka_bootstrap, 5)

    first = await list_dead_letters(kafka_bootstrap, topic, limit=2)
    rest = await list_dead_letters(kafka_bootstrap, topic, limit=10, since_offset=2)

    assert [d.offset for d in first] == [0, 1]
    assert [d.offset for d in rest] == [2, 3, 4]
    assert [d.key for d in rest] == ["cus_2", "cus_3", "cus_4"]
    assert {d.consumer for d in [*first, *rest]} == {"invoicing"}


async def test_dead_letters_over_partitions_are_named_by_partition_and_offset(
    kafka_bootstrap: str,
) -> None:
    topic = await _dead_letter_topic_with(kafka_bootstrap, 4, partitions=2)

    listed = await list_dead_letters(kafka_bootstrap, topic)
    with pytest.raises(AmbiguousDeadLetterError, match="name one of 0:1, 1:1"):
        await replay(kafka_bootstrap, topic, [1])
    [done] = await replay(kafka_bootstrap, topic, [(1, 1)])

    assert [d.position for d in listed] == ["0:0", "1:0", "0:1", "1:1"]  # oldest first
    assert done.dead_letter.key == "cus_3"
    assert await end_offset(kafka_bootstrap, topic) == 1


async def test_replaying_all_republishes_every_dead_letter_in_order(kafka_bootstrap: str) -> None:
    topic = await _dead_letter_topic_with(kafka_bootstrap, 3)

    done = await replay(kafka_bootstrap, topic, "all")

    assert [d.dead_letter.offset for d in done] == [0, 1, 2]
    assert [d.offset for d in done] == [0, 1, 2]  # the original topic was empty
    assert await end_offset(kafka_bootstrap, topic) == 3


def test_the_command_lists_as_json_and_replays(
    kafka_bootstrap: str, capsys: pytest.CaptureFixture[str]
) -> None:
    topic = asyncio.run(_dead_letter_topic_with(kafka_bootstrap, 2))

    assert cli.main(["list", topic, "--bootstrap", kafka_bootstrap, "--json"]) == 0
    listed = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(e["offset"], e["consumer"], e["original_topic"]) for e in listed] == [
        (0, "invoicing", topic),
        (1, "invoicing", topic),
    ]

    assert cli.main(["list", topic, "--bootstrap", kafka_bootstrap, "--limit", "1"]) == 0
    table = capsys.readouterr().out
    assert "amount of message 0 is negative" in table
    assert "amount of message 1" not in table
    assert "more dead letters follow" in table

    assert cli.main(["replay", topic, "--offset", "0:1", "--bootstrap", kafka_bootstrap]) == 0
    assert f"replayed {topic}.dlt:0:1" in capsys.readouterr().out

    assert cli.main(["replay", topic, "--offset", "7", "--bootstrap", kafka_bootstrap]) == 2
    assert f"no dead letter at 7 of {topic}.dlt" in capsys.readouterr().err
