"""Notifications: emails per second to the local SMTP server and webhook deliveries per second
to a local receiver, each with the latency from the event to the delivery.

- Emails: `SendCustomerEmail` commands produced straight to `notifications.commands` (as the
  services' outboxes do), all at once; an email counts as delivered when the stack's mailbox
  lists it (polled every 50 ms, so latencies carry up to that much extra).
- Webhooks: one endpoint registered through the admin API pointing at a receiver in this
  process; `PortalActivityRecorded` quote approvals produced to `gateway.portal-events`; each
  becomes a `MerchantNotified` event delivered to the receiver (timed on arrival). This path
  includes the activity log write, the notification, the outbox relay and the signed POST.

One notifications instance: it handles the commands and events one at a time per consumer
(a transaction each), sends emails with `NOTIFICATIONS_MAIL_SENDERS` workers on reused SMTP
connections and webhooks one at a time, so these rates are per instance.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
from aiokafka import AIOKafkaProducer

from deploy.benchmarks._client import answer
from deploy.benchmarks._measuring import latency_summary
from deploy.local.stack import LocalStack
from portal_contracts.envelope import Actor, Envelope
from portal_contracts.notifications import CustomerEmail, SendCustomerEmail
from portal_contracts.portal import PortalActivity, PortalActivityRecorded
from portal_contracts.topics import NOTIFICATIONS_COMMANDS, PORTAL_EVENTS

EMAILS_PER_SCALE = 100
WEBHOOKS_PER_SCALE = 100
TIMEOUT_SECONDS = 180.0
ENDPOINT_TIMEOUT_SECONDS = 90.0


class _Receiver:
    """A minimal HTTP receiver: 200 to every POST, arrival time per event id."""

    def __init__(self) -> None:
        self.arrived: dict[str, float] = {}
        self.causes: dict[str, str] = {}
        self.server: asyncio.Server | None = None
        self.port = 0

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()
            with contextlib.suppress(Exception):
                await self.server.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while await reader.readline():
                length = 0
                while (line := await reader.readline()) not in (b"\r\n", b"\n", b""):
                    name, _, value = line.decode("latin-1").partition(":")
                    if name.strip().lower() == "content-length":
                        length = int(value)
                body = await reader.readexactly(length)
                event = json.loads(body)
                # Keyed by the activity that caused it, which is what was timed on produce.
                self.arrived.setdefault(str(event.get("causation_id")), time.perf_counter())
                writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n")
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError, ValueError, asyncio.CancelledError):
            # A client gone, or the server stopping: nothing more to answer.
            pass
        finally:
            writer.close()


async def _produce_all(bootstrap: str, topic: str, messages: list[Envelope]) -> dict[str, float]:
    """Produce every message; returns the send time per event id."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks=1, enable_idempotence=False)
    await producer.start()
    sent: dict[str, float] = {}
    try:
        await producer.partitions_for(topic)
        futures = []
        for message in messages:
            sent[str(message.event_id)] = time.perf_counter()
            futures.append(
                await producer.send(
                    topic, message.model_dump_json().encode(), key=message.key().encode()
                )
            )
        await producer.flush()
        await asyncio.gather(*futures)
    finally:
        await producer.stop()
    return sent


def _figures(sent: dict[str, float], arrived: dict[str, float]) -> dict[str, Any]:
    delivered = [k for k in sent if k in arrived]
    if not delivered:
        return {"sent": len(sent), "delivered": 0}
    first = min(sent.values())
    last = max(arrived[k] for k in delivered)
    return {
        "sent": len(sent),
        "delivered": len(delivered),
        "seconds": round(last - first, 3),
        "per_s": round(len(delivered) / (last - first), 2),
        "event_to_delivery": latency_summary([arrived[k] - sent[k] for k in delivered]),
    }


async def _emails(stack: LocalStack, http: httpx.AsyncClient, count: int) -> dict[str, Any]:
    org = f"org_bench_{uuid.uuid4().hex[:8]}"
    now = datetime.now(UTC)
    commands = [
        SendCustomerEmail(
            occurred_at=now,
            organisation_id=org,
            correlation_id=uuid.uuid4().hex,
            data=CustomerEmail(
                template="review_request",
                customer_id=f"cus_bench_{n}",
                to_email=f"bench{n}@customers.example",
                merchant_name="Bench Merchant",
            ),
        )
        for n in range(count)
    ]
    by_message_id = {f"<review_request.{c.event_id}@localhost>": str(c.event_id) for c in commands}
    arrived: dict[str, float] = {}
    sent = await _produce_all(stack.kafka_bootstrap, NOTIFICATIONS_COMMANDS, list(commands))
    deadline = time.perf_counter() + TIMEOUT_SECONDS
    while len(arrived) < count and time.perf_counter() < deadline:
        messages = (await http.get(f"{stack.urls.mailbox}/api/messages")).json()
        seen = time.perf_counter()
        for message in messages:
            event_id = by_message_id.get(message.get("message_id", ""))
            if event_id is not None:
                arrived.setdefault(event_id, seen)
        await asyncio.sleep(0.05)
    return _figures(sent, arrived)


async def _endpoint_active(
    stack: LocalStack, http: httpx.AsyncClient, admin: dict[str, str], endpoint_id: str
) -> None:
    """The registration answers 201 while notifications may not have the endpoint yet; events
    produced before it has would find no endpoint to deliver to. The gateway lists an endpoint
    once notifications has confirmed it."""
    deadline = time.perf_counter() + ENDPOINT_TIMEOUT_SECONDS
    while time.perf_counter() < deadline:
        listed = answer(
            await http.get(f"{stack.urls.gateway}/admin/v1/webhooks/endpoints", headers=admin), 200
        )
        if any(e.get("endpoint_id") == endpoint_id for e in listed.get("endpoints", [])):
            return
        await asyncio.sleep(0.1)
    raise TimeoutError(
        f"webhook endpoint {endpoint_id} not active within {ENDPOINT_TIMEOUT_SECONDS}s"
    )


async def _webhooks(stack: LocalStack, http: httpx.AsyncClient, count: int) -> dict[str, Any]:
    slug = f"bench-n-{uuid.uuid4().hex[:8]}"
    registered = answer(
        await http.post(
            f"{stack.urls.gateway}/operator/v1/merchants",
            json={
                "name": f"Bench {slug}",
                "portal_slug": slug,
                "contact_email": "billing@bench-merchant.example",
            },
            headers={"X-Operator-Token": stack.operator_token},
        ),
        201,
    )
    org = str(registered["organisation_id"])
    admin = {"X-API-Key": str(registered["api_key"])}
    receiver = _Receiver()
    await receiver.start()
    try:
        endpoint = answer(
            await http.post(
                f"{stack.urls.gateway}/admin/v1/webhooks/endpoints",
                json={"url": f"http://127.0.0.1:{receiver.port}/hooks"},
                headers=admin,
            ),
            201,
        )
        await _endpoint_active(stack, http, admin, str(endpoint["endpoint_id"]))
        now = datetime.now(UTC)
        approvals = [
            PortalActivityRecorded(
                occurred_at=now,
                organisation_id=org,
                correlation_id=uuid.uuid4().hex,
                actor=Actor(kind="contact", id="ct_bench"),
                data=PortalActivity(
                    customer_id=f"cus_bench_{n}",
                    contact_id="ct_bench",
                    module="quotes",
                    action="approve",
                    subject_id=f"qt_{n}",
                ),
            )
            for n in range(count)
        ]
        sent = await _produce_all(stack.kafka_bootstrap, PORTAL_EVENTS, list(approvals))
        deadline = time.perf_counter() + TIMEOUT_SECONDS
        while len(receiver.arrived) < count and time.perf_counter() < deadline:
            await asyncio.sleep(0.05)
        return _figures(sent, receiver.arrived)
    finally:
        await receiver.stop()


async def measure(
    stack: LocalStack, http: httpx.AsyncClient, raw: dict[str, float], scale: int
) -> dict[str, Any]:
    emails = await _emails(stack, http, EMAILS_PER_SCALE * scale)
    webhooks = await _webhooks(stack, http, WEBHOOKS_PER_SCALE * scale)
    produce = raw.get("kafka_produce_per_s") or 0
    insert = raw.get("mongo_insert_per_s") or 0
    return {
        "emails": emails,
        "webhooks": webhooks,
        "ratios": {
            "emails_per_s_to_mongo_insert_per_s": round(emails.get("per_s", 0) / insert, 4)
            if insert
            else None,
            "webhooks_per_s_to_mongo_insert_per_s": round(webhooks.get("per_s", 0) / insert, 4)
            if insert
            else None,
            "webhooks_per_s_to_kafka_produce_per_s": round(webhooks.get("per_s", 0) / produce, 5)
            if produce
            else None,
        },
    }
