"""The notifications service in memory (TestKafkaBroker) on the real database, sending to a
real SMTP server."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from cryptography.fernet import Fernet
from pydantic import SecretStr

from deploy.local.mailbox import Mailbox
from deploy.local.processes import free_port
from notifications.adapters.outgoing_mail import OutgoingMailRepository
from notifications.adapters.smtp import SmtpMailer
from notifications.domain.mail import DeliveryPolicy, OutgoingMail
from notifications.service_layer.mail import MailSender
from notifications.settings import NotificationsSettings
from portal_contracts.notifications import InvitationEmail, SendPortalInvitation
from portal_contracts.topics import NOTIFICATIONS_COMMANDS
from portal_runtime.sealing import Sealer
from tests.support.notifications import NotificationsHarness, running_notifications
from tests.support.waiting import eventually

pytestmark = pytest.mark.component

LINK = "https://portal.example.com/acme/invitations/accept?token=s3cr3t-invitation-token"
START = datetime(2025, 11, 21, 9, 0, tzinfo=UTC)


def running(
    mongo_uri: str, database_name: str, smtp_port: int, **settings: Any
) -> AbstractAsyncContextManager[NotificationsHarness]:
    """The service with its store indexes and mail sender started, on the in-memory broker."""
    return running_notifications(mongo_uri, database_name, smtp_port, start=START, **settings)


async def mail_rows(service: NotificationsHarness) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = await service.db["outgoing_mail"].find().to_list()
    return rows


async def only_row(service: NotificationsHarness) -> dict[str, Any]:
    rows = await mail_rows(service)
    assert len(rows) == 1
    return rows[0]


def invitation(
    sealer: Sealer, *, language: str = "en", sealed_link: str | None = None
) -> SendPortalInvitation:
    customer_id = f"cus_{uuid.uuid4().hex[:8]}"
    return SendPortalInvitation(
        occurred_at=START,
        organisation_id="org_acme",
        correlation_id=f"corr-{customer_id}",
        data=InvitationEmail(
            customer_id=customer_id,
            contact_id="con_1",
            to_email="ana.lima@example.com",
            to_name="Ana Lima",
            merchant_name="Acme Tea Club",
            language=language,
            sealed_link=sealed_link or sealer.seal(LINK),
            expires_at=START + timedelta(days=7),
        ),
    )


async def test_invitation_is_emailed_with_the_link_and_the_contacts_name(
    mongo_uri: str,
    database_name: str,
    smtp_server: tuple[Mailbox, int],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    mailbox, port = smtp_server
    async with running(mongo_uri, database_name, port) as service:
        command = invitation(service.sealer, language="de")

        await service.send(NOTIFICATIONS_COMMANDS, command)

        await eventually(lambda: asyncio.sleep(0, mailbox.messages), timeout=10)
        row = await eventually(_row_with_status(service, "sent"), timeout=10)

    [email] = mailbox.messages
    assert email["to"] == ["ana.lima@example.com"]
    assert email["subject"] == "Acme Tea Club lädt Sie in Ihr Kundenportal ein"
    assert email["text"].startswith("Hallo Ana Lima,")
    assert LINK in email["text"]
    assert "28.11.2025" in email["text"]
    assert email["message_id"] == row["message_id"]
    assert str(command.event_id) in row["message_id"]
    assert row["organisation_id"] == "org_acme"
    assert row["customer_id"] == command.data.customer_id
    assert row["kind"] == "portal_invitation"
    assert row["attempts"] == 0
    assert row["sent_at"] == START
    assert "lease_until" not in row
    # The service's own logs (the driver's debug log echoes documents and is off in service
    # processes) speak of the email but never show the link.
    ours = [r.getMessage() for r in caplog.records if r.name.startswith("notifications")]
    assert any(row["message_id"] in line for line in ours)
    assert not any("s3cr3t-invitation-token" in line for line in ours)


async def test_the_same_command_delivered_twice_sends_one_email(
    mongo_uri: str, database_name: str, smtp_server: tuple[Mailbox, int]
) -> None:
    mailbox, port = smtp_server
    async with running(mongo_uri, database_name, port) as service:
        command = invitation(service.sealer)

        await service.send(NOTIFICATIONS_COMMANDS, command)
        await service.send(NOTIFICATIONS_COMMANDS, command)

        # Publishing runs the handler to the end, so both deliveries are settled by now: one
        # row, hence at most one email.
        assert len(await mail_rows(service)) == 1
        await eventually(_row_with_status(service, "sent"), timeout=10)

    # The repeat was recognised as handled, not refused as a failure.
    assert service.dead_letters == []
    assert [m["message_id"] for m in mailbox.messages] == [
        f"<portal_invitation.{command.event_id}@localhost>"
    ]


async def test_unreachable_mail_server_is_retried_with_backoff_then_given_up(
    mongo_uri: str, database_name: str
) -> None:
    closed_port = free_port()
    async with running(
        mongo_uri,
        database_name,
        closed_port,
        mail_attempts=3,
        mail_backoff_seconds=10,
        mail_backoff_cap_seconds=15,
        smtp_timeout_seconds=2,
    ) as service:
        await service.send(NOTIFICATIONS_COMMANDS, invitation(service.sealer))

        first = await eventually(_row_after_attempts(service, 1), timeout=10)
        assert first["status"] == "pending"
        assert first["next_attempt_at"] == START + timedelta(seconds=10)
        assert first["last_error"]

        # The clock has not moved, so the retry is not due: the sender leaves the row alone.
        await asyncio.sleep(0.3)
        assert (await only_row(service))["attempts"] == 1

        service.clock.advance(timedelta(seconds=10))
        second = await eventually(_row_after_attempts(service, 2), timeout=10)
        assert second["status"] == "pending"
        # 10 s doubled is 20 s, capped at 15 s.
        assert second["next_attempt_at"] == START + timedelta(seconds=10 + 15)

        service.clock.advance(timedelta(seconds=15))
        dead = await eventually(_row_with_status(service, "dead"), timeout=10)

    assert dead["attempts"] == 3
    assert dead["last_error"]
    assert dead["dead_at"] == START + timedelta(seconds=25)


async def test_a_link_that_cannot_be_opened_is_dead_lettered_and_the_next_invitation_is_sent(
    mongo_uri: str, database_name: str, smtp_server: tuple[Mailbox, int]
) -> None:
    mailbox, port = smtp_server
    async with running(mongo_uri, database_name, port) as service:
        other_key = Sealer(SecretStr(Fernet.generate_key().decode()))
        unreadable = invitation(service.sealer, sealed_link=other_key.seal(LINK))
        good = invitation(service.sealer)

        await service.send(NOTIFICATIONS_COMMANDS, unreadable)
        await service.send(NOTIFICATIONS_COMMANDS, good)

        await eventually(_row_with_status(service, "sent"), timeout=10)

    assert len(service.dead_letters) == 1
    headers, body = service.dead_letters[0]
    assert body["event_id"] == str(unreadable.event_id)
    assert headers["dlt-original-topic"] == NOTIFICATIONS_COMMANDS
    assert headers["dlt-error-type"] == "PermanentFailure"
    assert [m["message_id"] for m in mailbox.messages] == [
        f"<portal_invitation.{good.event_id}@localhost>"
    ]


async def test_mail_left_sending_by_a_crashed_sender_is_sent_again_after_its_lease(
    mongo_uri: str, database_name: str, smtp_server: tuple[Mailbox, int]
) -> None:
    mailbox, port = smtp_server
    async with running(mongo_uri, database_name, port, mail_lease_seconds=60) as service:
        rows = service.runtime.store.db["outgoing_mail"]
        # Queued as not yet due, so the running sender cannot take it before it is made to
        # look claimed by a sender that then died.
        await OutgoingMailRepository(service.runtime.store.db).add(
            _mail("<crashed@localhost>"), START + timedelta(days=1)
        )
        await rows.update_one(
            {"message_id": "<crashed@localhost>"},
            {
                "$set": {
                    "status": "sending",
                    "claim": "sender-that-died",
                    "lease_until": START + timedelta(seconds=60),
                }
            },
        )

        await asyncio.sleep(0.3)
        assert (await only_row(service))["status"] == "sending"
        assert mailbox.messages == []

        service.clock.advance(timedelta(seconds=61))
        await eventually(_row_with_status(service, "sent"), timeout=10)

    assert [m["message_id"] for m in mailbox.messages] == ["<crashed@localhost>"]


async def test_senders_sharing_a_database_never_send_the_same_mail_twice(
    mongo_uri: str, database_name: str, smtp_server: tuple[Mailbox, int]
) -> None:
    mailbox, port = smtp_server
    async with running(mongo_uri, database_name, port) as service:
        db = service.runtime.store.db
        settings = NotificationsSettings(smtp_port=port)
        senders = [
            MailSender(
                OutgoingMailRepository(db),
                SmtpMailer(settings),
                service.clock,
                DeliveryPolicy(attempts=3, backoff_seconds=1, cap_seconds=1),
                lease=timedelta(seconds=60),
                poll_seconds=0.05,
            )
            for _ in range(3)
        ]
        ids = [f"<many-{n}@localhost>" for n in range(15)]
        for message_id in ids:
            await OutgoingMailRepository(db).add(_mail(message_id), START)

        # Three extra senders race the service's own one for the same rows.
        await asyncio.gather(*(sender.deliver_due() for sender in senders))
        await eventually(_all_with_status(service, "sent", len(ids)), timeout=20)

    assert sorted(m["message_id"] for m in mailbox.messages) == sorted(ids)


@dataclass
class CountingMailbox(Mailbox):
    """A mailbox that also counts SMTP conversations (each opens with EHLO)."""

    conversations: int = 0

    async def handle_EHLO(  # noqa: N802
        self, server: Any, session: Any, envelope: Any, hostname: str, responses: list[str]
    ) -> list[str]:
        self.conversations += 1
        session.host_name = hostname
        return responses


async def test_a_burst_of_mail_shares_a_few_connections_and_each_email_arrives_once(
    mongo_uri: str, database_name: str
) -> None:
    mailbox = CountingMailbox()
    port = free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        async with running(mongo_uri, database_name, port, mail_senders=3) as service:
            ids = [f"<burst-{n}@localhost>" for n in range(30)]
            for message_id in ids:
                await OutgoingMailRepository(service.runtime.store.db).add(_mail(message_id), START)
            await eventually(_all_with_status(service, "sent", len(ids)), timeout=30)
    finally:
        controller.stop()

    assert sorted(m["message_id"] for m in mailbox.messages) == sorted(ids)
    # Three workers, each keeping its connection open: not one conversation per email.
    assert 1 <= mailbox.conversations <= 3


def _mail(message_id: str) -> OutgoingMail:
    return OutgoingMail(
        organisation_id="org_acme",
        customer_id="cus_1",
        kind="portal_invitation",
        to="ana.lima@example.com",
        to_name="Ana Lima",
        subject="Invitation",
        text="Hello",
        message_id=message_id,
    )


def _row_with_status(
    service: NotificationsHarness, status: str
) -> Callable[[], Awaitable[dict[str, Any] | None]]:
    async def probe() -> dict[str, Any] | None:
        rows = await mail_rows(service)
        return next((r for r in rows if r["status"] == status), None)

    return probe


def _row_after_attempts(
    service: NotificationsHarness, attempts: int
) -> Callable[[], Awaitable[dict[str, Any] | None]]:
    async def probe() -> dict[str, Any] | None:
        row = await only_row(service)
        return row if row["attempts"] == attempts and row["status"] != "sending" else None

    return probe


def _all_with_status(
    service: NotificationsHarness, status: str, count: int
) -> Callable[[], Awaitable[bool]]:
    async def probe() -> bool:
        rows = await mail_rows(service)
        return len(rows) == count and all(r["status"] == status for r in rows)

    return probe
