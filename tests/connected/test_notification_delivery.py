"""Killing the notifications process in the middle of sending, on the real broker and
database, against a real SMTP server and a real webhook receiver.

What this shows: after `kill -9` during a burst of sends and a restart, every email and every
webhook event arrives, none is lost; the only copies that can arrive twice are those that were
in flight at the moment of the kill (the receiver took them, the process died before recording
it), and a copy carries the same Message-ID / Portal-Event-Id as the original, so the mail
system or the receiver recognises it. The test reads which rows the dead process had claimed
(`sending`: at most one per mail or webhook worker) and asserts that every repeat is one of
them: nothing recorded as sent is ever sent again.
"""

from __future__ import annotations

import asyncio
import collections
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import Envelope as SmtpEnvelope
from aiosmtpd.smtp import Session
from pymongo import AsyncMongoClient

from deploy.local import processes
from deploy.local.mailbox import Mailbox
from portal_contracts.envelope import Actor, Envelope
from portal_contracts.merchants import MerchantProfile, MerchantRegistered
from portal_contracts.notifications import (
    CustomerEmail,
    RegisterWebhookEndpoint,
    SendCustomerEmail,
    WebhookEndpoint,
)
from portal_contracts.portal import PortalActivity, PortalActivityRecorded
from portal_contracts.topics import MERCHANT_EVENTS, NOTIFICATIONS_COMMANDS, PORTAL_EVENTS
from portal_runtime.sealing import Sealer
from portal_runtime.settings import ServiceSettings
from tests.support.kafka import produce
from tests.support.waiting import eventually
from tests.support.webhooks import WebhookReceiver

pytestmark = pytest.mark.connected

EMAILS = 40
MAIL_SENDERS = 3
WEBHOOK_SENDERS = 2
WEBHOOK_EVENTS = 30


class SlowMailbox(Mailbox):
    """Takes a while over each message, so a kill lands in the middle of a burst."""

    async def handle_DATA(self, server: Any, session: Session, envelope: SmtpEnvelope) -> str:  # noqa: N802
        await asyncio.sleep(0.05)
        return await super().handle_DATA(server, session, envelope)


@pytest.fixture
def slow_smtp() -> Iterator[tuple[SlowMailbox, int]]:
    mailbox = SlowMailbox()
    port = processes.free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield mailbox, port
    controller.stop()


@pytest.fixture
async def receiver() -> AsyncIterator[WebhookReceiver]:
    async with WebhookReceiver() as started:
        yield started


def start_notifications(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(
        [sys.executable, "-m", "notifications"],
        env={**os.environ, **env},
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    processes.wait_for_port(int(env["NOTIFICATIONS_HTTP_PORT"]), timeout=60, process=process)
    return process


def kill(process: subprocess.Popen[bytes]) -> None:
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=10)


async def send(bootstrap: str, topic: str, message: Envelope) -> None:
    await produce(bootstrap, topic, message.model_dump_json().encode(), message.key().encode())


@pytest.mark.timeout(400)
async def test_killing_the_service_mid_send_loses_nothing_and_repeats_only_what_was_in_flight(
    kafka_bootstrap: str,
    mongo_uri: str,
    database_name: str,
    slow_smtp: tuple[SlowMailbox, int],
    receiver: WebhookReceiver,
    tmp_path: Path,
) -> None:
    mailbox, smtp_port = slow_smtp
    org = f"org_{uuid.uuid4().hex[:8]}"
    now = datetime.now(UTC)
    sealer = Sealer(ServiceSettings().sealing_key)
    env = {
        "NOTIFICATIONS_KAFKA_BOOTSTRAP": kafka_bootstrap,
        "NOTIFICATIONS_MONGO_URI": mongo_uri,
        "NOTIFICATIONS_MONGO_DATABASE": database_name,
        "NOTIFICATIONS_HTTP_PORT": str(processes.free_port()),
        "NOTIFICATIONS_SMTP_HOST": "127.0.0.1",
        "NOTIFICATIONS_SMTP_PORT": str(smtp_port),
        "NOTIFICATIONS_PROFILE": "local",
        "NOTIFICATIONS_ALLOW_PRIVATE_WEBHOOK_TARGETS": "true",  # the receiver is on 127.0.0.1
        # A restarted sender takes over a dead one's claims once their lease has run out.
        "NOTIFICATIONS_MAIL_LEASE_SECONDS": "3",
        "NOTIFICATIONS_MAIL_SENDERS": str(MAIL_SENDERS),
        "NOTIFICATIONS_WEBHOOK_SENDERS": str(WEBHOOK_SENDERS),
        "NOTIFICATIONS_WEBHOOK_LEASE_SECONDS": "3",
        "NOTIFICATIONS_WEBHOOK_RETRY_SCHEDULE_SECONDS": "[1, 1, 1]",
    }

    def envelope() -> dict[str, Any]:
        return {"occurred_at": now, "organisation_id": org, "correlation_id": uuid.uuid4().hex}

    await send(
        kafka_bootstrap,
        MERCHANT_EVENTS,
        MerchantRegistered(
            **envelope(),
            data=MerchantProfile(
                name="Acme", portal_slug="acme", contact_email="owner@acme.example"
            ),
        ),
    )
    await send(
        kafka_bootstrap,
        NOTIFICATIONS_COMMANDS,
        RegisterWebhookEndpoint(
            **envelope(),
            data=WebhookEndpoint(
                endpoint_id="we_kill", url=receiver.url, sealed_secret=sealer.seal("whsec_k")
            ),
        ),
    )
    emails = [
        SendCustomerEmail(
            **envelope(),
            data=CustomerEmail(
                template="review_request",
                customer_id=f"cus_{n}",
                to_email=f"customer{n}@example.com",
                merchant_name="Acme",
            ),
        )
        for n in range(EMAILS)
    ]
    approvals = [
        PortalActivityRecorded(
            **envelope(),
            actor=Actor(kind="contact", id="ct_1"),
            data=PortalActivity(
                customer_id=f"cus_{n}",
                contact_id="ct_1",
                module="quotes",
                action="approve",
                subject_id=f"qt_{n}",
            ),
        )
        for n in range(WEBHOOK_EVENTS)
    ]
    log = tmp_path / "notifications.log"
    first = start_notifications(env, log)
    try:
        # The endpoint must be registered before the events that are delivered to it (they
        # come on another topic, so nothing orders them otherwise).
        database: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongo_uri)
        endpoints = database[database_name]["webhook_endpoints"]
        await eventually(lambda: endpoints.find_one({"_id": "we_kill"}), timeout=60)
        await database.close()
        for email in emails:
            await send(kafka_bootstrap, NOTIFICATIONS_COMMANDS, email)
        for approval in approvals:
            await send(kafka_bootstrap, PORTAL_EVENTS, approval)
        await eventually(lambda: _value(len(mailbox.messages) >= 8), timeout=90)
    finally:
        kill(first)
    arrived_before_kill = len(mailbox.messages)
    assert arrived_before_kill < EMAILS, "the kill came too late to interrupt sending"
    # What the dead process had claimed and not yet recorded: the only rows that may repeat.
    database = AsyncMongoClient(mongo_uri)
    in_flight_mail = {
        row["message_id"]
        async for row in database[database_name]["outgoing_mail"].find({"status": "sending"})
    }
    in_flight_hooks = {
        row["event_id"]
        async for row in database[database_name]["webhook_deliveries"].find({"status": "sending"})
    }
    await database.close()
    assert len(in_flight_mail) <= MAIL_SENDERS
    assert len(in_flight_hooks) <= WEBHOOK_SENDERS

    second = start_notifications(env, log)
    try:
        expected_ids = {f"<review_request.{e.event_id}@localhost>" for e in emails}
        await eventually(
            lambda: _value(expected_ids <= {m["message_id"] for m in mailbox.messages}),
            timeout=120,
        )
        await eventually(lambda: _value(len(receiver.unique_event_ids) >= WEBHOOK_EVENTS), 120)
        # Past the lease, so any claim the killed process held has been taken over.
        await asyncio.sleep(4)
    finally:
        processes.stop(second)

    mail_copies = collections.Counter(m["message_id"] for m in mailbox.messages)
    hook_copies = collections.Counter(r.event_id for r in receiver.received)
    assert set(mail_copies) == expected_ids
    assert len(hook_copies) == WEBHOOK_EVENTS
    mail_repeats = sum(n - 1 for n in mail_copies.values())
    hook_repeats = sum(n - 1 for n in hook_copies.values())
    print(
        f"emails: {len(mailbox.messages)} received, {mail_repeats} repeated; "
        f"webhooks: {len(receiver.received)} received, {hook_repeats} repeated"
    )
    # Only what was in flight when the process died may come twice (with the same id):
    # nothing recorded as sent is ever sent again.
    assert {m for m, n in mail_copies.items() if n > 1} <= in_flight_mail
    assert {e for e, n in hook_copies.items() if n > 1} <= in_flight_hooks


async def _value(value: Any) -> Any:
    return value
