"""Reading and writing the real local broker from tests."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Callable
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord


async def produce(bootstrap: str, topic: str, value: bytes, key: bytes | None = None) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        await producer.send_and_wait(topic, value, key=key)
    finally:
        await producer.stop()


async def collect(
    bootstrap: str,
    topics: list[str],
    until: Callable[[list[ConsumerRecord[Any, Any]]], bool],
    timeout: float = 30.0,
) -> list[ConsumerRecord[Any, Any]]:
    """Read the topics from the beginning until `until(records)` holds (or time runs out)."""
    consumer = AIOKafkaConsumer(
        *topics,
        bootstrap_servers=bootstrap,
        group_id=f"test-{uuid.uuid4().hex}",
        auto_offset_reset="earliest",
        session_timeout_ms=1000,
        heartbeat_interval_ms=300,
    )
    await consumer.start()
    records: list[ConsumerRecord[Any, Any]] = []
    try:
        async with asyncio.timeout(timeout):
            while not until(records):
                batch = await consumer.getmany(timeout_ms=200)
                for part in batch.values():
                    records.extend(part)
    except TimeoutError:
        pass
    finally:
        await consumer.stop()
    return records


def messages_of(
    records: list[ConsumerRecord[Any, Any]], organisation_id: str
) -> list[dict[str, Any]]:
    """The JSON messages of one organisation; other bodies (e.g. another test's poison
    messages on the shared stack's topics) are skipped."""
    found: list[dict[str, Any]] = []
    for record in records:
        try:
            message = json.loads(record.value)
        except (ValueError, TypeError):
            continue
        if isinstance(message, dict) and message.get("organisation_id") == organisation_id:
            found.append(message)
    return found
