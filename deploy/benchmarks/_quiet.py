"""Wait until the platform has worked off what earlier measurements left behind.

Every area benchmark runs on the same stack, one after another. Without a pause, an area would
measure the backlog of the one before it (consumer lag, outbox rows not yet published, emails
and webhooks still queued). The platform is quiet when, twice in a row:

1. no service's outbox holds an unpublished row (`{"published": False}` in `outbox` of each
   service database),
2. the notifications service has no email (`outgoing_mail`) and no webhook delivery
   (`webhook_deliveries`) that is being sent or is due now (a retry scheduled for later does
   not count: it would keep the platform "busy" for minutes while it does nothing), and
3. no consumer group of the services has lag: for every topic each group consumes, the end
   offset of every partition equals the group's committed offset.

They are checked in that order: rows of 1 and 2 are written by handlers before their message
is committed, so a message in flight shows as lag in 3 even if 1 and 2 looked empty just
before.

Which topics a group consumes: Tansu answers `ListGroups` and an `OffsetFetch` that names its
partitions, but neither the member assignments (`DescribeGroups` gives them empty) nor an
`OffsetFetch` for all partitions of a group. So a group consumes the topics it has committed
on, and a service consumes the topics its AsyncAPI document lists (`services/<name>/
asyncapi.json`): a listed topic with messages on which no group of that service has committed
yet is lag too (groups read from the earliest offset).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from pymongo import AsyncMongoClient

from deploy.local.stack import SERVICES, LocalStack

TIMEOUT_SECONDS = 300.0
POLL_SECONDS = 0.5
QUIET_CHECKS_IN_A_ROW = 2
NOTIFICATIONS_DATABASE = "notifications"
MAIL = "outgoing_mail"
WEBHOOK_DELIVERIES = "webhook_deliveries"
REPOSITORY = Path(__file__).resolve().parents[2]


@dataclass
class Quiet:
    """How a wait for quiet ended. `busy` is what was still going on at the last check."""

    quiet: bool
    waited_s: float
    checks: int
    busy: list[str] = field(default_factory=list)
    first_busy: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        figures: dict[str, Any] = {"quiet": self.quiet, "waited_s": round(self.waited_s, 3)}
        if self.first_busy:
            figures["busy_at_start"] = self.first_busy[:8]
        if not self.quiet:
            figures["not_quiet_after_s"] = round(self.waited_s, 1)
            figures["still_busy"] = self.busy[:8]
        return figures


def database_names(stack: LocalStack) -> dict[str, str]:
    """Service name -> its database, as the stack configures it (the settings' default is the
    service name with `-` as `_`; `<PREFIX>MONGO_DATABASE` overrides it)."""
    names = {}
    for spec in SERVICES:
        env = stack.env_for(spec.name)
        names[spec.name] = env.get(f"{spec.prefix}MONGO_DATABASE") or spec.name.replace("-", "_")
    return names


def consumed_topics(service: str) -> dict[str, int]:
    """Topic -> how many subscribers of `service` read it, from its AsyncAPI document."""
    path = REPOSITORY / "services" / service / "asyncapi.json"
    try:
        document = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    counts: dict[str, int] = {}
    for operation in document.get("operations", {}).values():
        if operation.get("action") != "receive":
            continue
        channel = document["channels"].get(operation["channel"]["$ref"].split("/")[-1], {})
        topic = channel.get("bindings", {}).get("kafka", {}).get("topic") or channel.get("address")
        if topic:
            counts[topic] = counts.get(topic, 0) + 1
    return counts


class QuietProbe:
    """One connection to the broker and one to the database, reused by every check."""

    def __init__(self, stack: LocalStack) -> None:
        self.stack = stack
        self.databases = database_names(stack)
        self.subscriptions = {spec.name: consumed_topics(spec.name) for spec in SERVICES}
        self.mongo: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
            stack.mongo_uri, tz_aware=True
        )
        self.admin = AIOKafkaAdminClient(bootstrap_servers=stack.kafka_bootstrap)
        self.offsets = AIOKafkaConsumer(
            bootstrap_servers=stack.kafka_bootstrap, enable_auto_commit=False
        )

    async def start(self) -> None:
        await self.admin.start()
        await self.offsets.start()

    async def close(self) -> None:
        await self.offsets.stop()
        await self.admin.close()
        await self.mongo.close()

    async def busy(self) -> list[str]:
        """What still keeps the platform busy; empty when it is quiet."""
        return [*await self._outboxes(), *await self._deliveries(), *await self._lag()]

    async def _outboxes(self) -> list[str]:
        found = []
        for service, name in self.databases.items():
            count = await self.mongo[name]["outbox"].count_documents({"published": False})
            if count:
                found.append(f"{service}: {count} unpublished outbox rows")
        return found

    async def _deliveries(self) -> list[str]:
        now = datetime.now(UTC)
        due_or_sending = {
            "$or": [
                {"status": "sending"},
                {"status": "pending", "next_attempt_at": {"$lte": now}},
            ]
        }
        db = self.mongo[self.databases.get("notifications", NOTIFICATIONS_DATABASE)]
        found = []
        for collection, what in ((MAIL, "emails"), (WEBHOOK_DELIVERIES, "webhook deliveries")):
            count = await db[collection].count_documents(due_or_sending)
            if count:
                found.append(f"notifications: {count} {what} due or being sent")
        return found

    async def _lag(self) -> list[str]:
        service_names = [spec.name for spec in SERVICES]
        groups = sorted(
            str(group)
            for group, *_ in await self.admin.list_consumer_groups()
            if any(str(group).startswith(f"{name}.") for name in service_names)
        )
        topics = [t for t in await self.admin.list_topics() if not t.startswith("__")]
        partitions = [
            TopicPartition(description["topic"], p["partition"])
            for description in await self.admin.describe_topics(topics)
            for p in description.get("partitions", [])
        ]
        if not partitions:
            return []
        ends = await self.offsets.end_offsets(partitions)
        starts = await self.offsets.beginning_offsets(partitions)
        messages: dict[str, int] = {}
        for tp in partitions:
            messages[tp.topic] = messages.get(tp.topic, 0) + ends[tp] - starts[tp]

        found = []
        committed_on: dict[str, dict[str, int]] = {}  # service -> topic -> groups committed
        for group in groups:
            committed = await self.admin.list_consumer_group_offsets(group, partitions=partitions)
            own = {tp.topic for tp, at in committed.items() if at is not None and at.offset >= 0}
            service = next(n for n in service_names if group.startswith(f"{n}."))
            for topic in own:
                per_topic = committed_on.setdefault(service, {})
                per_topic[topic] = per_topic.get(topic, 0) + 1
            for topic in sorted(own):
                lag = 0
                for tp in partitions:
                    if tp.topic != topic:
                        continue
                    at = committed.get(tp)
                    position = at.offset if at is not None and at.offset >= 0 else starts[tp]
                    lag += max(0, ends[tp] - position)
                if lag:
                    found.append(f"{group}: lag {lag} on {topic}")
        for service, reads in self.subscriptions.items():
            for topic, readers in reads.items():
                missing = readers - committed_on.get(service, {}).get(topic, 0)
                if missing > 0 and messages.get(topic, 0) > 0:
                    found.append(f"{service}: {messages[topic]} messages on {topic}, no commit yet")
        return found


async def wait_until_quiet(
    stack: LocalStack,
    timeout: float = TIMEOUT_SECONDS,
    progress: Callable[[str], None] | None = None,
) -> Quiet:
    """Check until the platform was quiet `QUIET_CHECKS_IN_A_ROW` times in a row, or `timeout`
    seconds passed (then `quiet` is False and `busy` says why)."""
    began = time.perf_counter()
    probe = QuietProbe(stack)
    await probe.start()
    checks, in_a_row = 0, 0
    busy: list[str] = []
    first_busy: list[str] | None = None
    last_said = began
    try:
        while True:
            try:
                busy = await probe.busy()
            except Exception as error:  # a failed check is "not known to be quiet"
                busy = [f"check failed: {type(error).__name__}: {error}"]
            checks += 1
            if first_busy is None:
                first_busy = busy
            in_a_row = 0 if busy else in_a_row + 1
            waited = time.perf_counter() - began
            if in_a_row >= QUIET_CHECKS_IN_A_ROW:
                return Quiet(True, waited, checks, [], first_busy)
            if waited >= timeout:
                if progress:
                    progress(f"  not quiet after {waited:.0f} s: {'; '.join(busy[:6])}")
                return Quiet(False, waited, checks, busy, first_busy)
            if progress and busy and time.perf_counter() - last_said >= 30:
                last_said = time.perf_counter()
                progress(f"  waiting for quiet ({waited:.0f} s): {'; '.join(busy[:4])}")
            await asyncio.sleep(POLL_SECONDS)
    finally:
        await probe.close()
