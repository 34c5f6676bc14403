"""The notifications service in memory (TestKafkaBroker) on the real database, sending to a
real SMTP server and a real webhook receiver: customer emails from templates, the activity
log, merchant notifications (feed, email, webhooks), retries, dead deliveries and replays."""

from __future__ import annotations

import base64
import email as email_lib
import email.policy as email_policy
import json
from contextlib import AbstractAsyncContextManager
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from typing import Any

import pytest

from deploy.local.mailbox import Mailbox
from deploy.local.processes import free_port
from notifications.domain.webhooks import verify_signature
from portal_contracts.common import Money
from portal_contracts.customers import CommandRejected
from portal_contracts.identity import ContactSignedIn, SignInFacts
from portal_contracts.invoicing import (
    Allocation,
    MethodSummary,
    PaymentFailed,
    PaymentFailure,
    PaymentSnapshot,
    PaymentSucceeded,
)
from portal_contracts.notifications import (
    Attachment,
    CustomerEmail,
    DeliveryRef,
    EmailMerchant,
    EndpointRef,
    MessageToMerchant,
    RemoveWebhookEndpoint,
    ReplayWebhookDelivery,
    Review,
    ReviewSubmitted,
    SendCustomerEmail,
    SubmitReview,
    WebhookDeliveryChanged,
    WebhookEndpointChanged,
)
from portal_contracts.topics import (
    IDENTITY_ACCESS_EVENTS,
    NOTIFICATIONS_COMMANDS,
    PAYMENT_EVENTS,
)
from tests.support.notifications import NotificationsHarness, running_notifications
from tests.support.waiting import eventually
from tests.support.webhooks import WebhookReceiver

pytestmark = pytest.mark.component

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
SECRET = "whsec_component_secret"


def running(
    mongo_uri: str, database_name: str, smtp_port: int, **settings: Any
) -> AbstractAsyncContextManager[NotificationsHarness]:
    return running_notifications(
        mongo_uri,
        database_name,
        smtp_port,
        start=START,
        allow_private_webhook_targets=True,  # the receiver listens on 127.0.0.1
        **settings,
    )


def customer_email(service: NotificationsHarness, template: str, **data: Any) -> SendCustomerEmail:
    return SendCustomerEmail(
        **service.envelope(),
        data=CustomerEmail(
            template=template,
            customer_id="cus_1",
            contact_id="ct_1",
            to_email="ana.lima@example.com",
            to_name="Ana Lima",
            merchant_name="Acme Tea Club",
            **data,
        ),
    )


async def _value(value: Any) -> Any:
    return value


async def test_a_receipt_arrives_in_german_with_its_pdf_attached(
    mongo_uri: str, database_name: str, smtp_server: tuple[Mailbox, int]
) -> None:
    mailbox, port = smtp_server
    async with running(mongo_uri, database_name, port) as service:
        command = customer_email(
            service,
            "payment_receipt",
            language="de",
            values={
                "payment_number": "PAY-7",
                "amount": "12,50 €",
                "paid_at": "2026-03-02T08:15:00Z",
                "invoice_numbers": "INV-1",
            },
            attachments=(
                Attachment(filename="PAY-7.pdf", content_base64=base64.b64encode(PDF).decode()),
            ),
        )
        await service.send(NOTIFICATIONS_COMMANDS, command)
        await eventually(lambda: _value(mailbox.messages), timeout=10)

    [email] = mailbox.messages
    assert email["subject"] == "Beleg für Ihre Zahlung PAY-7 an Acme Tea Club"
    assert email["text"].startswith("Hallo Ana Lima,")
    assert "02.03.2026, 08:15 Uhr" in email["text"]
    assert email["attachments"] == [{"filename": "PAY-7.pdf", "content_type": "application/pdf"}]
    parsed = email_lib.message_from_bytes(mailbox.raw[email["id"]], policy=email_policy.default)
    assert isinstance(parsed, EmailMessage)
    assert [a.get_content() for a in parsed.iter_attachments()] == [PDF]
    assert email["message_id"] == f"<payment_receipt.{command.event_id}@localhost>"


async def test_a_one_time_code_is_opened_only_to_be_written_into_the_email(
    mongo_uri: str, database_name: str, smtp_server: tuple[Mailbox, int]
) -> None:
    mailbox, port = smtp_server
    async with running(mongo_uri, database_name, port) as service:
        sealed = service.sealer.seal("493817")
        await service.send(
            NOTIFICATIONS_COMMANDS,
            customer_email(
                service,
                "one_time_code",
                values={"purpose": "secure_link", "expires_at": "2026-03-02T09:10:00Z"},
                sealed_values={"code": sealed},
            ),
        )
        await eventually(lambda: _value(mailbox.messages), timeout=10)
        row = await service.db["outgoing_mail"].find_one()

    [email] = mailbox.messages
    assert "493817" in email["text"]
    assert "open the secure link" in email["text"]
    assert row["kind"] == "one_time_code"


@pytest.mark.parametrize(
    ("template", "data", "reason"),
    [
        ("payment_failed", {"values": {"amount": "9 €"}}, "needs invoice_number, reason"),
        (
            "forwarded_document",
            {"values": {"document_kind": "quote", "document_number": "Q1", "sender_name": "Ben"}},
            "needs the document attached",
        ),
        (
            "password_reset",
            {"values": {"expires_at": "soon"}, "sealed_values": {"link": "x"}},
            "sealed value cannot be opened",
        ),
    ],
)
async def test_an_email_that_cannot_be_written_is_dead_lettered_with_the_reason(
    mongo_uri: str,
    database_name: str,
    smtp_server: tuple[Mailbox, int],
    template: str,
    data: dict[str, Any],
    reason: str,
) -> None:
    mailbox, port = smtp_server
    async with running(mongo_uri, database_name, port) as service:
        bad = customer_email(service, template, **data)
        await service.send(NOTIFICATIONS_COMMANDS, bad)
        good = customer_email(service, "review_request")
        await service.send(NOTIFICATIONS_COMMANDS, good)
        await eventually(lambda: _value(mailbox.messages), timeout=10)

    [(headers, body)] = service.dead_letters
    assert body["event_id"] == str(bad.event_id)
    assert headers["dlt-error-type"] == "PermanentFailure"
    assert reason in headers["dlt-reason"]
    # The service went on with the next command.
    assert [m["message_id"] for m in mailbox.messages] == [
        f"<review_request.{good.event_id}@localhost>"
    ]


async def test_portal_activity_is_logged_and_the_first_invoice_view_notifies_the_merchant(
    mongo_uri: str, database_name: str, smtp_server: tuple[Mailbox, int]
) -> None:
    mailbox, port = smtp_server
    async with running(mongo_uri, database_name, port) as service:
        await service.merchant(notify=True, by_email=True)
        first = await service.activity("invoices", "view", "inv_1")
        await service.activity("invoices", "view", "inv_1")
        await service.activity("invoices", "download", "inv_1")
        await service.send(
            IDENTITY_ACCESS_EVENTS,
            ContactSignedIn(
                **service.envelope(),
                data=SignInFacts(
                    customer_id="cus_1",
                    contact_id="ct_1",
                    ip="203.0.113.9",
                    user_agent="Mozilla/5.0",
                    outcome="succeeded",
                ),
            ),
        )
        await eventually(lambda: _value(service.notified()), timeout=10)
        await eventually(lambda: _value(mailbox.messages), timeout=10)
        log = await service.db["portal_activity"].find({"organisation_id": service.org}).to_list()

    assert sorted((r["module"], r["action"]) for r in log) == [
        ("invoices", "download"),
        ("invoices", "view"),
        ("invoices", "view"),
        ("sign_in", "succeeded"),
    ]
    assert {(r["customer_id"], r["contact_id"], r["ip"]) for r in log} == {
        ("cus_1", "ct_1", "203.0.113.9")
    }
    [note] = service.notified()
    assert note.data.kind == "invoice.first_viewed"
    assert note.data.subject_id == "inv_1"
    assert note.causation_id == str(first.event_id)
    [email] = mailbox.messages
    assert email["to"] == ["owner@acme.example"]
    assert "inv_1" in email["subject"]


async def test_nothing_reaches_the_merchant_when_notifications_are_off(
    mongo_uri: str, database_name: str, smtp_server: tuple[Mailbox, int]
) -> None:
    mailbox, port = smtp_server
    async with WebhookReceiver() as receiver, running(mongo_uri, database_name, port) as service:
        await service.merchant(notify=False, by_email=True)
        await service.endpoint(receiver.url, SECRET)
        await service.activity("quotes", "approve", "qt_1")
        await service.activity("subscriptions", "cancellation", "sub_1")
        # Publishing runs each handler to its end: the activity is logged by now, and a
        # notification, its email and its webhook deliveries would have been committed in the
        # same transaction.
        logged = await service.db["portal_activity"].count_documents({})
        feed = await service.db["merchant_notifications"].count_documents({})
        mail = await service.db["outgoing_mail"].count_documents({})
        deliveries = await service.db["webhook_deliveries"].count_documents({})

    assert logged == 2
    assert (feed, mail, deliveries) == (0, 0, 0)
    assert service.notified() == []
    assert mailbox.messages == []
    assert receiver.received == []


async def test_a_webhook_is_signed_retried_with_backoff_dead_then_replayed(
    mongo_uri: str, database_name: str, smtp_server: tuple[Mailbox, int]
) -> None:
    _, port = smtp_server
    async with (
        WebhookReceiver(status=503) as receiver,
        running(
            mongo_uri, database_name, port, webhook_retry_schedule_seconds=(60, 300)
        ) as service,
    ):
        await service.merchant()
        endpoint_id = await service.endpoint(receiver.url, SECRET)
        await eventually(lambda: _value(service.of(WebhookEndpointChanged)), timeout=10)
        await service.activity("quotes", "approve", "qt_1")

        def changes_now(status: str) -> list[WebhookDeliveryChanged]:
            return [c for c in service.of(WebhookDeliveryChanged) if c.data.status == status]

        [retrying] = await eventually(service.deliveries("retrying"), timeout=10)
        assert retrying.data.attempts == 1
        assert retrying.data.next_attempt_at == START + timedelta(seconds=60)
        assert retrying.data.response_status == 503
        assert retrying.data.endpoint_id == endpoint_id

        service.clock.advance(timedelta(seconds=60))
        await eventually(lambda: _value(len(changes_now("retrying")) == 2), timeout=10)
        service.clock.advance(timedelta(seconds=300))
        [dead] = await eventually(service.deliveries("dead"), timeout=10)
        assert dead.data.attempts == 3
        assert dead.data.last_error == "HTTP 503"
        [alert] = await eventually(lambda: _value(service.notified("webhook.dead")), timeout=10)
        assert alert.data.subject_id == dead.data.delivery_id

        receiver.status = 200
        await service.send(
            NOTIFICATIONS_COMMANDS,
            ReplayWebhookDelivery(
                **service.envelope(), data=DeliveryRef(delivery_id=dead.data.delivery_id)
            ),
        )
        [delivered] = await eventually(service.deliveries("delivered"), timeout=10)

    [approval] = service.notified("quote.approved")
    assert delivered.data.attempts == 4
    [request] = receiver.received
    assert request.event_id == str(approval.event_id)
    assert request.headers["portal-delivery-id"] == dead.data.delivery_id
    assert json.loads(request.body)["data"]["kind"] == "quote.approved"
    now = service.clock.now().timestamp()
    assert verify_signature(SECRET, request.body, request.headers["portal-signature"], now=now)
    assert not verify_signature(
        SECRET, request.body, request.headers["portal-signature"], now=now + 301
    )
    # The dead-webhook alert is for the feed only: it was never posted to the webhook.
    assert receiver.unique_event_ids == {str(approval.event_id)}


async def test_a_review_is_kept_and_the_merchant_is_told(
    mongo_uri: str, database_name: str, smtp_server: tuple[Mailbox, int]
) -> None:
    _, port = smtp_server
    async with running(mongo_uri, database_name, port) as service:
        await service.merchant()
        review = SubmitReview(
            **service.envelope(),
            data=Review(
                review_id="rv_1",
                customer_id="cus_1",
                contact_id="ct_1",
                customer_name="Ana Lima",
                rating=2,
                text="Late again.",
            ),
        )
        await service.send(NOTIFICATIONS_COMMANDS, review)
        [note] = await eventually(lambda: _value(service.notified("review.submitted")), timeout=10)
        stored = await service.db["reviews"].find_one({"_id": "rv_1"})

    [submitted] = service.of(ReviewSubmitted)
    assert submitted.correlation_id == review.correlation_id
    assert submitted.data.rating == 2
    assert note.data.summary == "Ana Lima rated you 2 of 5"
    assert stored["organisation_id"] == service.org


async def test_a_customers_message_reaches_the_merchant_and_can_be_answered(
    mongo_uri: str, database_name: str, smtp_server: tuple[Mailbox, int]
) -> None:
    mailbox, port = smtp_server
    async with running(mongo_uri, database_name, port) as service:
        await service.merchant()
        await service.send(
            NOTIFICATIONS_COMMANDS,
            EmailMerchant(
                **service.envelope(),
                data=MessageToMerchant(
                    customer_id="cus_1",
                    contact_id="ct_1",
                    customer_name="Ana Lima",
                    reply_to="ana.lima@example.com",
                    subject="VAT number",
                    message="Please add DE123456789 to my invoices.",
                ),
            ),
        )
        await eventually(lambda: _value(mailbox.messages), timeout=10)

    [email] = mailbox.messages
    assert email["to"] == ["owner@acme.example"]
    assert email["subject"] == "[Portal] Ana Lima: VAT number"
    assert "DE123456789" in email["text"]
    assert b"Reply-To: ana.lima@example.com" in mailbox.raw[email["id"]]


async def test_an_email_that_cannot_be_delivered_is_shown_to_the_merchant(
    mongo_uri: str, database_name: str
) -> None:
    async with running(
        mongo_uri,
        database_name,
        free_port(),
        mail_attempts=2,
        mail_backoff_seconds=10,
        mail_backoff_cap_seconds=10,
    ) as service:
        await service.merchant()
        await service.send(NOTIFICATIONS_COMMANDS, customer_email(service, "review_request"))
        await eventually(lambda: service.db["outgoing_mail"].find_one({"attempts": 1}), timeout=10)
        service.clock.advance(timedelta(seconds=10))
        [note] = await eventually(
            lambda: _value(service.notified("email.undeliverable")), timeout=10
        )

    assert "ana.lima@example.com" in note.data.summary
    assert note.data.customer_id == "cus_1"
    assert note.data.details["kind"] == "review_request"


def payment(
    service: NotificationsHarness, number: str, *, autocharge: bool = False, failed: bool = False
) -> Any:
    snapshot = PaymentSnapshot(
        customer_id="cus_1",
        payment_id=f"pay_{number}",
        number=number,
        status="failed" if failed else "succeeded",
        amount=Money(amount_minor=123456, currency="EUR"),
        method=MethodSummary(kind="card", brand="visa", last4="4242"),
        allocations=(Allocation(invoice_id="inv_1", invoice_number="INV-1", amount_minor=123456),),
        created_at=START,
        failure=PaymentFailure(
            code="card_declined", reason="the card was declined", remedy="x", customer_message="x"
        )
        if failed
        else None,
        autocharge=autocharge,
    )
    kind = PaymentFailed if failed else PaymentSucceeded
    return kind(**service.envelope(), data=snapshot)


async def test_portal_payments_notify_the_merchant_and_autocharges_do_not(
    mongo_uri: str, database_name: str, smtp_server: tuple[Mailbox, int]
) -> None:
    _, port = smtp_server
    async with running(mongo_uri, database_name, port) as service:
        await service.merchant()
        await service.send(PAYMENT_EVENTS, payment(service, "PAY-1"))
        await service.send(PAYMENT_EVENTS, payment(service, "PAY-2", autocharge=True))
        await service.send(PAYMENT_EVENTS, payment(service, "PAY-3", failed=True))
        # Publishing runs each handler to its end; the feed rows commit with the decision.
        feed = (
            await service.db["merchant_notifications"]
            .find()
            .sort("details.payment_number")
            .to_list()
        )

    assert [(n["kind"], n["details"]["payment_number"]) for n in feed] == [
        ("payment.made", "PAY-1"),
        ("payment.failed", "PAY-3"),
    ]
    assert feed[0]["summary"] == "Customer cus_1 paid EUR 1,234.56 (payment PAY-1)"
    assert feed[1]["summary"].endswith("failed: the card was declined")


async def test_deliveries_to_a_removed_endpoint_stop_without_an_alarm(
    mongo_uri: str, database_name: str, smtp_server: tuple[Mailbox, int]
) -> None:
    _, port = smtp_server
    async with (
        WebhookReceiver(status=503) as receiver,
        running(mongo_uri, database_name, port) as service,
    ):
        await service.merchant()
        endpoint_id = await service.endpoint(receiver.url, SECRET)
        await service.activity("quotes", "approve", "qt_1")
        await eventually(service.deliveries("retrying"), timeout=10)
        await service.send(
            NOTIFICATIONS_COMMANDS,
            RemoveWebhookEndpoint(**service.envelope(), data=EndpointRef(endpoint_id=endpoint_id)),
        )
        service.clock.advance(timedelta(minutes=1))
        [dead] = await eventually(service.deliveries("dead"), timeout=10)
        removed = [c for c in service.of(WebhookEndpointChanged) if c.data.status == "removed"]

    assert dead.data.last_error == "the endpoint was removed"
    assert dead.data.attempts == 2
    assert [r.data.endpoint_id for r in removed] == [endpoint_id]
    assert service.notified("webhook.dead") == []


async def test_removing_or_replaying_what_does_not_exist_is_refused(
    mongo_uri: str, database_name: str, smtp_server: tuple[Mailbox, int]
) -> None:
    _, port = smtp_server
    async with running(mongo_uri, database_name, port) as service:
        removal = RemoveWebhookEndpoint(
            **service.envelope(), data=EndpointRef(endpoint_id="we_nobody")
        )
        replay = ReplayWebhookDelivery(
            **service.envelope(), data=DeliveryRef(delivery_id="wd_nobody")
        )
        await service.send(NOTIFICATIONS_COMMANDS, removal)
        await service.send(NOTIFICATIONS_COMMANDS, replay)
        refusals = await eventually(
            lambda: _value(len(service.of(CommandRejected)) == 2 and service.of(CommandRejected)),
            timeout=10,
        )

    assert {(r.correlation_id, r.data.kind) for r in refusals} == {
        (removal.correlation_id, "not_found"),
        (replay.correlation_id, "not_found"),
    }
