"""Telling the merchant: the feed, the notification stream (topic and webhooks) and email.

`notify_merchant` runs inside the caller's transaction, so the notification, its webhook
deliveries and its email commit together with whatever caused them, once.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from notifications.adapters.outgoing_mail import OutgoingMailRepository
from notifications.adapters.webhooks import WebhookRepository
from notifications.domain.mail import MERCHANT_NOTIFICATION, OutgoingMail, message_id_for
from portal_contracts.envelope import Actor
from portal_contracts.notifications import MerchantNotification, MerchantNotified
from portal_contracts.topics import MERCHANT_NOTIFICATIONS
from portal_runtime.store import Transaction

Document = dict[str, Any]
MERCHANTS = "merchants"
FEED = "merchant_notifications"
NOTIFICATIONS_ACTOR = Actor(kind="system", id="notifications")
# What the merchant hears about whatever its preferences say: its own deliveries failing.
OPERATIONAL = frozenset({"email.undeliverable", "webhook.dead"})
# Not sent to webhooks: a dead webhook announced to webhooks could only die again.
NOT_FOR_WEBHOOKS = frozenset({"webhook.dead"})
# Not emailed: an undeliverable email announced by email could only fail again.
NOT_BY_EMAIL = frozenset({"email.undeliverable"})


class Cause(Protocol):
    """What a notification follows from: an incoming message, or an outcome of our own."""

    @property
    def event_id(self) -> uuid.UUID: ...

    @property
    def organisation_id(self) -> str: ...

    def follow_up(self) -> dict[str, Any]: ...


@dataclass(frozen=True)
class Origin:
    """A cause that is not a message (a delivery that ran out of attempts)."""

    event_id: uuid.UUID
    organisation_id: str
    correlation_id: str

    def follow_up(self) -> dict[str, Any]:
        return {
            "organisation_id": self.organisation_id,
            "correlation_id": self.correlation_id,
            "causation_id": str(self.event_id),
        }


async def merchant_of(tx: Transaction, organisation_id: str) -> Document:
    """What notifications knows of the merchant, with the gateway's defaults (notify on, by
    email off) until a `PortalSettingsChanged` says otherwise."""
    known = await tx.db[MERCHANTS].find_one({"_id": organisation_id}, session=tx.session)
    return {"notify_me_of_activity": True, "notify_me_by_email": False, **(known or {})}


async def notify_merchant(
    tx: Transaction,
    now: datetime,
    sender: str,
    cause: Cause,
    kind: str,
    summary: str,
    *,
    customer_id: str | None = None,
    contact_id: str | None = None,
    subject_id: str | None = None,
    details: dict[str, str] | None = None,
) -> MerchantNotified | None:
    """Raise one notification; None when the merchant turned notifications off."""
    org = cause.organisation_id
    merchant = await merchant_of(tx, org)
    if kind not in OPERATIONAL and not merchant["notify_me_of_activity"]:
        return None
    # Derived from the cause, so a notification is the same one however often it is derived.
    notification_id = f"nt_{uuid.uuid5(cause.event_id, kind).hex[:24]}"
    event = MerchantNotified(
        event_id=uuid.uuid5(cause.event_id, f"notified:{kind}"),
        occurred_at=now,
        actor=NOTIFICATIONS_ACTOR,
        **cause.follow_up(),
        data=MerchantNotification(
            notification_id=notification_id,
            kind=kind,
            customer_id=customer_id,
            contact_id=contact_id,
            subject_id=subject_id,
            summary=summary[:500],
            details=details or {},
        ),
    )
    await tx.emit(MERCHANT_NOTIFICATIONS, event)
    await tx.db[FEED].insert_one(
        {
            "_id": notification_id,
            "organisation_id": org,
            "event_id": str(event.event_id),
            **event.data.model_dump(mode="json"),
            "created_at": now,
        },
        session=tx.session,
    )
    if kind not in NOT_FOR_WEBHOOKS:
        await _queue_webhooks(tx, now, event)
    emailed = kind not in NOT_BY_EMAIL and merchant["notify_me_by_email"]
    if emailed and merchant.get("contact_email"):
        await OutgoingMailRepository(tx.db, tx.session).add(
            OutgoingMail(
                organisation_id=org,
                customer_id=customer_id or "",
                kind=MERCHANT_NOTIFICATION,
                to=merchant["contact_email"],
                to_name=merchant.get("name", ""),
                subject=f"Portal activity: {summary[:150]}",
                text=f"{summary}\n\nSee every notification in your portal's activity feed.\n",
                message_id=message_id_for(MERCHANT_NOTIFICATION, event.event_id, sender),
            ),
            now,
        )
    return event


async def _queue_webhooks(tx: Transaction, now: datetime, event: MerchantNotified) -> None:
    repository = WebhookRepository(tx.db, tx.session)
    body = event.model_dump_json().encode()
    for endpoint in await repository.active_endpoints(event.organisation_id):
        await repository.add_delivery(
            {
                "_id": f"wd_{uuid.uuid5(event.event_id, endpoint['_id']).hex[:24]}",
                "organisation_id": event.organisation_id,
                "endpoint_id": endpoint["_id"],
                "event_id": str(event.event_id),
                "kind": event.data.kind,
                "body": body,
                "status": "pending",
                "attempts": 0,
                "next_attempt_at": now,
                "created_at": now,
            }
        )
