"""Transactional outbox: messages written in the same transaction as the state change, and a
relay that publishes them in order per key and marks them sent.

Per-key order: each append takes the next number of its key's stream inside the transaction,
so two transactions for one customer conflict and commit one after the other; the relay reads
unpublished rows sorted by (key, seq), so it never publishes a later message of a key before an
earlier one. Delivery is at least once (a crash between publish and mark re-sends); consumers
drop repeats with their inbox.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import uuid
from datetime import timedelta
from typing import Any, Protocol

from opentelemetry import trace
from pymongo import ASCENDING, ReturnDocument
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError, PyMongoError

from portal_contracts import Envelope
from portal_runtime.clock import Clock
from portal_runtime.telemetry import context_from, current_carrier
from portal_runtime.waiting import woken_or_timed_out

log = logging.getLogger(__name__)
Document = dict[str, Any]
tracer = trace.get_tracer("portal.outbox")


class Publisher(Protocol):
    async def __call__(
        self, topic: str, key: str, body: bytes, headers: dict[str, str]
    ) -> None: ...


class Outbox:
    def __init__(self, db: AsyncDatabase[Document], clock: Clock) -> None:
        self.rows = db["outbox"]
        self.streams = db["outbox_streams"]
        self.clock = clock

    async def ensure_indexes(self) -> None:
        await self.rows.create_index(
            [("published", ASCENDING), ("key", ASCENDING), ("seq", ASCENDING)]
        )
        await self.rows.create_index("published_at", expireAfterSeconds=7 * 24 * 3600)

    def row(self, topic: str, message: Envelope) -> Document:
        """The outbox row of one message, without its stream number yet (taken at flush)."""
        return {
            "_id": str(message.event_id),
            "topic": topic,
            "key": message.key(),
            "organisation_id": message.organisation_id,
            "type": message.type,
            "body": message.model_dump_json(),
            "trace": current_carrier(),
            "published": False,
            "created_at": self.clock.now(),
        }

    async def add_all(self, session: AsyncClientSession, rows: list[Document]) -> None:
        """Append rows in the caller's transaction: one stream update per key (taking as many
        numbers as the key has rows, in emit order) and one insert for all rows."""
        if not rows:
            return
        per_key: dict[str, list[Document]] = {}
        for row in rows:
            per_key.setdefault(row["key"], []).append(row)
        for key, keyed in per_key.items():
            stream = await self.streams.find_one_and_update(
                {"_id": key},
                {"$inc": {"seq": len(keyed)}},
                upsert=True,
                return_document=ReturnDocument.AFTER,
                session=session,
            )
            last = stream["seq"] if stream else len(keyed)
            for offset, row in enumerate(keyed):
                row["seq"] = last - len(keyed) + 1 + offset
        await self.rows.insert_many(rows, ordered=True, session=session)


class OutboxRelay:
    """Publishes the outbox. One relay per database holds a lease; others stand by."""

    def __init__(
        self,
        db: AsyncDatabase[Document],
        publish: Publisher,
        clock: Clock,
        *,
        poll_seconds: float = 0.2,
        batch_size: int = 500,
        lease_seconds: float = 10.0,
    ) -> None:
        self.rows = db["outbox"]
        self.leases = db["leases"]
        self.publish = publish
        self.clock = clock
        self.poll_seconds = poll_seconds
        self.batch_size = batch_size
        self.lease = timedelta(seconds=lease_seconds)
        self.owner = f"{socket.gethostname()}:{uuid.uuid4().hex[:8]}"
        self.wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="outbox-relay")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        with contextlib.suppress(PyMongoError):
            await self.leases.delete_one({"_id": "outbox-relay", "owner": self.owner})

    def notify(self) -> None:
        self.wake.set()

    async def _run(self) -> None:
        while True:
            try:
                sent = await self.publish_pending() if await self._hold_lease() else 0
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("outbox relay round failed; retrying")
                sent = 0
            if sent < self.batch_size:
                await woken_or_timed_out(self.wake, self.poll_seconds)
                self.wake.clear()

    async def _hold_lease(self) -> bool:
        now = self.clock.now()
        try:
            await self.leases.find_one_and_update(
                {"_id": "outbox-relay", "$or": [{"owner": self.owner}, {"until": {"$lt": now}}]},
                {"$set": {"owner": self.owner, "until": now + self.lease}},
                upsert=True,
            )
        except DuplicateKeyError:
            return False
        return True

    async def _publish_row(self, row: Document) -> None:
        with tracer.start_as_current_span(
            f"outbox publish {row['type']}",
            context=context_from(row.get("trace") or {}),
            kind=trace.SpanKind.PRODUCER,
        ):
            await self.publish(
                row["topic"],
                row["key"],
                row["body"].encode(),
                {"message-type": row["type"], "organisation-id": row["organisation_id"]},
            )

    async def publish_pending(self) -> int:
        """Publish one batch; returns how many rows it sent."""
        rows = await (
            self.rows.find({"published": False})
            .sort([("key", ASCENDING), ("seq", ASCENDING)])
            .limit(self.batch_size)
            .to_list()
        )
        sent: list[str] = []
        # A row that fails holds back the later rows of its key only; other keys go on.
        held_back: set[str] = set()
        try:
            for row in rows:
                if row["key"] in held_back:
                    continue
                try:
                    await self._publish_row(row)
                except Exception:
                    log.exception("publishing outbox row %s failed; its key waits", row["_id"])
                    held_back.add(row["key"])
                    if len(held_back) >= 3:
                        break  # the broker itself is probably down: try again next round
                    continue
                sent.append(row["_id"])
        finally:
            if sent:
                await self.rows.update_many(
                    {"_id": {"$in": sent}},
                    {"$set": {"published": True, "published_at": self.clock.now()}},
                )
        return len(sent)
