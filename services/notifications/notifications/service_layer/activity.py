"""The portal activity log, and the merchant notifications portal activity deserves."""

from __future__ import annotations

from typing import Any

from pymongo import ASCENDING, DESCENDING
from pymongo.asynchronous.database import AsyncDatabase

from notifications.domain.activity import amount_text, noteworthy
from notifications.service_layer.merchant_notifications import MERCHANTS, notify_merchant
from notifications.service_layer.once import handle_once
from portal_contracts.customers import CustomerCreated
from portal_contracts.envelope import Envelope
from portal_contracts.identity import ContactSignedIn, SignInFailed
from portal_contracts.invoicing import PaymentFailed, PaymentSucceeded
from portal_contracts.merchants import MerchantRegistered, PortalSettingsChanged
from portal_contracts.portal import PortalActivityRecorded
from portal_runtime.store import Store, Transaction

Document = dict[str, Any]
CONSUMER = "notifications"
ACTIVITY = "portal_activity"
FIRST_VIEWS = "first_views"
CUSTOMERS = "customers"


async def ensure_indexes(db: AsyncDatabase[Document]) -> None:
    await db[ACTIVITY].create_index(
        [("organisation_id", ASCENDING), ("customer_id", ASCENDING), ("at", DESCENDING)]
    )
    await db[ACTIVITY].create_index([("organisation_id", ASCENDING), ("at", DESCENDING)])


async def record_activity(store: Store, sender: str, event: Envelope) -> bool:
    """Keep one portal action (or sign-in) in the log, and notify the merchant when it is
    noteworthy. False if this event was handled before."""

    async def work(tx: Transaction) -> None:
        match event:
            case PortalActivityRecorded(data=activity):
                row = {
                    **activity.model_dump(mode="json"),
                    "_id": str(event.event_id),
                    "organisation_id": event.organisation_id,
                    "at": event.occurred_at,
                }
                await tx.db[ACTIVITY].insert_one(row, session=tx.session)
                await _notify(tx, store, sender, event)
            case ContactSignedIn(data=facts) | SignInFailed(data=facts):
                await tx.db[ACTIVITY].insert_one(
                    {
                        "_id": str(event.event_id),
                        "organisation_id": event.organisation_id,
                        "customer_id": facts.customer_id,
                        "contact_id": facts.contact_id,
                        "module": "sign_in",
                        "action": facts.outcome,
                        "subject_id": None,
                        "reason": facts.reason,
                        "ip": facts.ip,
                        "user_agent": facts.user_agent,
                        "session_id": facts.session_id,
                        "at": event.occurred_at,
                    },
                    session=tx.session,
                )

    return await handle_once(store, event, work)


async def _notify(
    tx: Transaction, store: Store, sender: str, event: PortalActivityRecorded
) -> None:
    activity = event.data
    known = await tx.db[CUSTOMERS].find_one(
        {"_id": f"{event.organisation_id}:{activity.customer_id}"}, session=tx.session
    )
    who = (known or {}).get("display_name") or f"Customer {activity.customer_id}"
    found = noteworthy(activity.module, activity.action, activity.subject_id, who)
    if found is None:
        return
    if found.first_time_only:
        # A unique _id decides the first view; a repeat is caught before the insert so the
        # transaction is not aborted by a duplicate key.
        marker = f"{event.organisation_id}:{activity.module}:{activity.subject_id}"
        if await tx.db[FIRST_VIEWS].find_one({"_id": marker}, session=tx.session):
            return
        await tx.db[FIRST_VIEWS].insert_one(
            {"_id": marker, "at": event.occurred_at}, session=tx.session
        )
    await notify_merchant(
        tx,
        store.clock.now(),
        sender,
        event,
        found.kind,
        found.summary,
        customer_id=activity.customer_id,
        contact_id=activity.contact_id,
        subject_id=activity.subject_id,
        details={"module": activity.module, "action": activity.action},
    )


async def remember_merchant(store: Store, event: Envelope) -> None:
    """The merchant's name, address and notification preferences, from the gateway."""

    async def work(tx: Transaction) -> None:
        merchants = tx.db[MERCHANTS]
        match event:
            case MerchantRegistered(data=profile):
                await merchants.update_one(
                    {"_id": event.organisation_id},
                    {"$set": {"name": profile.name, "contact_email": str(profile.contact_email)}},
                    upsert=True,
                    session=tx.session,
                )
            case PortalSettingsChanged(data=settings):
                flags = settings.notifications
                await merchants.update_one(
                    {"_id": event.organisation_id},
                    {
                        "$set": {
                            "notify_me_of_activity": flags.notify_me_of_activity,
                            "notify_me_by_email": flags.notify_me_by_email,
                        }
                    },
                    upsert=True,
                    session=tx.session,
                )

    await store.transaction(work, handling=(CONSUMER, event))


async def remember_customer(store: Store, event: CustomerCreated) -> None:
    """Customer names, so notifications say who did something."""

    async def work(tx: Transaction) -> None:
        customer = event.data
        await tx.db[CUSTOMERS].update_one(
            {"_id": f"{event.organisation_id}:{customer.customer_id}"},
            {"$set": {"display_name": customer.display_name}},
            upsert=True,
            session=tx.session,
        )

    await store.transaction(work, handling=(CONSUMER, event))


async def tell_payment(store: Store, sender: str, event: PaymentSucceeded | PaymentFailed) -> bool:
    """A payment the customer made in the portal succeeded or failed (autocharges are the
    merchant's own doing and are not announced)."""
    payment = event.data

    async def work(tx: Transaction) -> None:
        if payment.autocharge:
            return
        known = await tx.db[CUSTOMERS].find_one(
            {"_id": f"{event.organisation_id}:{payment.customer_id}"}, session=tx.session
        )
        who = (known or {}).get("display_name") or f"Customer {payment.customer_id}"
        amount = amount_text(payment.amount.amount_minor, payment.amount.currency)
        invoices = ", ".join(a.invoice_number for a in payment.allocations)
        succeeded = isinstance(event, PaymentSucceeded)
        summary = (
            f"{who} paid {amount} (payment {payment.number})"
            if succeeded
            else f"{who}'s payment of {amount} failed"
            + (f": {payment.failure.reason}" if payment.failure else "")
        )
        await notify_merchant(
            tx,
            store.clock.now(),
            sender,
            event,
            "payment.made" if succeeded else "payment.failed",
            summary,
            customer_id=payment.customer_id,
            subject_id=payment.payment_id,
            details={
                "payment_number": payment.number,
                "amount_minor": str(payment.amount.amount_minor),
                "currency": payment.amount.currency,
                "invoice_numbers": invoices,
            },
        )

    return await handle_once(store, event, work)
