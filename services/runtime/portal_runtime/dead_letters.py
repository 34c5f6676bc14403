"""Listing and replaying dead letters, for operators.

`messaging.DeadLetters` publishes a message a consumer gave up on to `<topic>.dlt`, with its
original body and key and the headers `dlt-original-topic/partition/offset`, `dlt-consumer`,
`dlt-error-type` and `dlt-reason`. This module reads those topics without a consumer group
(assigned partitions, from the beginning up to the end offsets it saw when it started, no
commits), so looking never moves anybody's position.

A dead letter is named by its partition and offset in the dead-letter topic, `P:N`: the
middleware keeps the original key, so a topic created on first use (four partitions on the
local broker) spreads dead letters over partitions, each numbered from 0. A bare offset `N`
names a dead letter when only one partition has that offset.

`replay` republishes chosen dead letters, body and key unchanged, to their original topic with
the header `dlt-replayed-from=<dlt topic>:<partition>:<offset>`. Every consumer of that topic
sees the message again, not only the one that failed. That is safe, and so is replaying the
same dead letter twice: every consumer handles a message inside `Store.transaction` together
with its inbox record, so a consumer that already handled the message (same event id) drops
the copy. A dead letter stays on `<topic>.dlt` after a replay; Kafka topics are append-only.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition

from portal_contracts.topics import dead_letter_topic
from portal_runtime.settings import ServiceSettings

__all__ = [
    "DEAD_LETTER_SUFFIX",
    "REPLAYED_FROM",
    "AmbiguousDeadLetterError",
    "DeadLetter",
    "Position",
    "Replayed",
    "UnknownDeadLetterError",
    "dead_letters_of",
    "list_dead_letters",
    "replay",
]

DEAD_LETTER_SUFFIX = ".dlt"
REPLAYED_FROM = "dlt-replayed-from"
# Headers the dead-letter middleware adds; a replay leaves them behind.
_DLT_PREFIX = "dlt-"
# FastStream sets its own correlation id on every publish; the replay is a new publish.
_NOT_CARRIED = frozenset({"correlation_id"})
READ_TIMEOUT_SECONDS = 30.0
_EPOCH = datetime.fromtimestamp(0, UTC)

# A dead letter is named by (partition, offset), or by its offset alone if that is unambiguous.
Position = int | tuple[int, int]


class UnknownDeadLetterError(LookupError):
    """A dead letter asked for is not on the topic (never was, or expired with retention)."""


class AmbiguousDeadLetterError(LookupError):
    """A bare offset matches dead letters in more than one partition."""


@dataclass(frozen=True)
class DeadLetter:
    """One record of `<topic>.dlt`, with what the headers and the body say about it."""

    dlt_topic: str
    partition: int
    offset: int
    timestamp: datetime | None
    original_topic: str | None
    original_partition: int | None
    original_offset: int | None
    consumer: str | None
    error_type: str | None
    reason: str | None
    key: str | None
    message_type: str | None
    event_id: str | None
    organisation_id: str | None
    headers: dict[str, str]
    body: bytes
    raw_key: bytes | None = field(default=None, repr=False)

    @property
    def position(self) -> str:
        """`partition:offset`, what `replay` and the command take."""
        return f"{self.partition}:{self.offset}"

    @property
    def replayed_from(self) -> str:
        return f"{self.dlt_topic}:{self.position}"

    def as_json(self, *, with_body: bool = False) -> dict[str, Any]:
        """A JSON-ready summary (the body only when asked, as text)."""
        data = asdict(self)
        data["timestamp"] = self.timestamp.isoformat() if self.timestamp else None
        data.pop("body")
        data.pop("raw_key")
        if with_body:
            data["body"] = self.body.decode(errors="replace")
        return data


@dataclass(frozen=True)
class Replayed:
    """Where one replayed dead letter was published."""

    dead_letter: DeadLetter
    topic: str
    partition: int
    offset: int


def dead_letters_of(topic: str) -> str:
    """`<topic>.dlt` for a topic; a dead-letter topic's own name is kept."""
    return topic if topic.endswith(DEAD_LETTER_SUFFIX) else dead_letter_topic(topic)


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except ValueError:
        return None


def _text(value: bytes | None) -> str | None:
    return None if value is None else value.decode(errors="replace")


def _parse(record: ConsumerRecord[Any, Any]) -> DeadLetter:
    headers = {name: value.decode(errors="replace") for name, value in record.headers or ()}
    body: bytes = record.value or b""
    fields: dict[str, Any] = {}
    try:
        parsed = json.loads(body)
    except (ValueError, UnicodeError):
        parsed = None
    if isinstance(parsed, dict):
        fields = parsed
    timestamp = (
        datetime.fromtimestamp(record.timestamp / 1000, UTC) if record.timestamp >= 0 else None
    )

    def from_body(name: str) -> str | None:
        value = fields.get(name)
        return None if value is None else str(value)

    return DeadLetter(
        dlt_topic=record.topic,
        partition=record.partition,
        offset=record.offset,
        timestamp=timestamp,
        original_topic=headers.get("dlt-original-topic") or None,
        original_partition=_int(headers.get("dlt-original-partition")),
        original_offset=_int(headers.get("dlt-original-offset")),
        consumer=headers.get("dlt-consumer"),
        error_type=headers.get("dlt-error-type"),
        reason=headers.get("dlt-reason"),
        key=_text(record.key),
        message_type=from_body("type") or headers.get("message-type"),
        event_id=from_body("event_id"),
        organisation_id=from_body("organisation_id") or headers.get("organisation-id"),
        headers=headers,
        body=body,
        raw_key=record.key,
    )


async def _read(
    bootstrap: str, dlt: str, *, since_offset: int = 0, limit: int | None = None
) -> list[DeadLetter]:
    """The records of `dlt` from `since_offset` on in each partition, up to the end offsets
    seen at the start; at most `limit` per partition. Sorted by time, then position."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )
    found: list[DeadLetter] = []
    try:
        await consumer.start()
        async with asyncio.timeout(READ_TIMEOUT_SECONDS):
            await consumer.topics()  # loads the metadata partitions_for_topic answers from
            partitions = [TopicPartition(dlt, p) for p in consumer.partitions_for_topic(dlt) or ()]
            if not partitions:
                return []
            consumer.assign(partitions)
            starts = await consumer.beginning_offsets(partitions)
            ends = await consumer.end_offsets(partitions)
            first = {tp: max(starts[tp], since_offset) for tp in partitions}
            pending = {tp for tp in partitions if first[tp] < ends[tp]}
            for tp in pending:
                consumer.seek(tp, first[tp])
            counts = dict.fromkeys(partitions, 0)
            while pending:
                batches = await consumer.getmany(*pending, timeout_ms=200)
                for tp, records in batches.items():
                    for record in records:
                        if tp not in pending or record.offset >= ends[tp]:
                            pending.discard(tp)
                            break
                        found.append(_parse(record))
                        counts[tp] += 1
                        if limit is not None and counts[tp] >= limit:
                            pending.discard(tp)
                for tp in list(pending):
                    if await consumer.position(tp) >= ends[tp]:
                        pending.discard(tp)
    finally:
        await consumer.stop()
    found.sort(key=lambda d: (d.timestamp or _EPOCH, d.partition, d.offset))
    return found


async def list_dead_letters(
    bootstrap: str, topic: str, *, limit: int = 100, since_offset: int = 0
) -> list[DeadLetter]:
    """The dead letters of `topic` (or of the `.dlt` topic named), oldest first, at most
    `limit`; `since_offset` skips the lower offsets of every partition. A topic nothing was
    dead-lettered from has none."""
    if limit < 1:
        raise ValueError("limit must be at least 1")
    found = await _read(bootstrap, dead_letters_of(topic), since_offset=since_offset, limit=limit)
    return found[:limit]


def _choose(dlt: str, stored: Sequence[DeadLetter], positions: set[Position]) -> list[DeadLetter]:
    """The dead letters `positions` name, in the order they are stored; refuses a position
    that names none, or a bare offset that names several."""
    chosen: dict[tuple[int, int], DeadLetter] = {}
    missing: list[str] = []
    for position in sorted(positions, key=str):
        if isinstance(position, tuple):
            matches = [d for d in stored if (d.partition, d.offset) == position]
            name = f"{position[0]}:{position[1]}"
        else:
            matches = [d for d in stored if d.offset == position]
            name = str(position)
            if len(matches) > 1:
                options = ", ".join(d.position for d in matches)
                raise AmbiguousDeadLetterError(
                    f"offset {position} of {dlt} is in more than one partition: name one of "
                    f"{options}"
                )
        if not matches:
            missing.append(name)
        for match in matches:
            chosen[(match.partition, match.offset)] = match
    if missing:
        raise UnknownDeadLetterError(f"no dead letter at {', '.join(missing)} of {dlt}")
    return [d for d in stored if (d.partition, d.offset) in chosen]


def _producer_options(profile: Literal["local", "kafka"]) -> dict[str, Any]:
    """The producer settings the services use in this profile (Tansu: no idempotence)."""
    settings = ServiceSettings(service_name="dead-letter-replay", profile=profile)
    return {"acks": settings.acks, "enable_idempotence": settings.enable_idempotence}


async def replay(
    bootstrap: str,
    topic: str,
    offsets: Iterable[Position] | Literal["all"],
    *,
    profile: Literal["local", "kafka"] = "local",
) -> list[Replayed]:
    """Publish the chosen dead letters of `topic` again, each to its original topic with its
    original key and body, in dead-letter order; `"all"` replays every one on the topic.

    A position is `(partition, offset)` in the dead-letter topic, or a bare offset when only
    one partition has it. Each copy carries `dlt-replayed-from=<dlt topic>:<partition>:<offset>`
    and the headers the outbox relay sets on an envelope (`message-type`, `organisation-id`,
    `content-type`), taken from the dead letter or its JSON body. Repeating
    a replay is harmless: every consumer's inbox drops a message it already handled.

    Before publishing anything it raises `UnknownDeadLetterError` if a position asked for is
    not on the topic, `AmbiguousDeadLetterError` for a bare offset found in several partitions
    and `ValueError` if a dead letter does not say where it came from."""
    dlt = dead_letters_of(topic)
    if offsets == "all":
        chosen = await _read(bootstrap, dlt)
        if not chosen:
            raise UnknownDeadLetterError(f"no dead letters on {dlt}")
    else:
        wanted = set(offsets)
        if not wanted:
            raise ValueError("name at least one offset, or replay all")
        lowest = min(p[1] if isinstance(p, tuple) else p for p in wanted)
        chosen = _choose(dlt, await _read(bootstrap, dlt, since_offset=lowest), wanted)
    unsourced = [d for d in chosen if not d.original_topic]
    if unsourced:
        offsets_text = ", ".join(str(d.offset) for d in unsourced)
        raise ValueError(f"dead letter(s) {offsets_text} of {dlt} have no dlt-original-topic")
    return await _publish(bootstrap, chosen, profile)


def _replay_headers(dead_letter: DeadLetter) -> list[tuple[str, bytes]]:
    """The dead letter's own headers (the original's, which the dead-letter middleware keeps;
    not the `dlt-` ones), completed for an envelope with the ones the outbox relay sets, for
    dead letters written before the middleware kept them."""
    headers = {
        name: value
        for name, value in dead_letter.headers.items()
        if value and not name.startswith(_DLT_PREFIX) and name not in _NOT_CARRIED
    }
    if dead_letter.message_type is not None:
        headers.setdefault("message-type", dead_letter.message_type)
        headers.setdefault("content-type", "application/json")
    if dead_letter.organisation_id is not None:
        headers.setdefault("organisation-id", dead_letter.organisation_id)
    headers[REPLAYED_FROM] = dead_letter.replayed_from
    return [(name, value.encode()) for name, value in headers.items()]


async def _publish(
    bootstrap: str, chosen: Sequence[DeadLetter], profile: Literal["local", "kafka"]
) -> list[Replayed]:
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap, client_id="dead-letter-replay", **_producer_options(profile)
    )
    done: list[Replayed] = []
    try:
        await producer.start()
        for dead_letter in chosen:
            assert dead_letter.original_topic is not None
            landed = await producer.send_and_wait(
                dead_letter.original_topic,
                dead_letter.body,
                key=dead_letter.raw_key,
                headers=_replay_headers(dead_letter),
            )
            done.append(
                Replayed(dead_letter, dead_letter.original_topic, landed.partition, landed.offset)
            )
    finally:
        await producer.stop()
    return done
