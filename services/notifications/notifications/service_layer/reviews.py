"""Reviews customers write about the merchant, and messages they send the merchant."""

from __future__ import annotations

from pymongo.errors import DuplicateKeyError

from notifications.adapters.outgoing_mail import OutgoingMailRepository
from notifications.domain.invitations import single_line
from notifications.domain.mail import CUSTOMER_MESSAGE, OutgoingMail, message_id_for
from notifications.service_layer.merchant_notifications import (
    NOTIFICATIONS_ACTOR,
    merchant_of,
    notify_merchant,
)
from notifications.service_layer.once import handle_once
from portal_contracts.notifications import EmailMerchant, ReviewSubmitted, SubmitReview
from portal_contracts.topics import MERCHANT_NOTIFICATIONS
from portal_runtime.errors import PermanentFailure
from portal_runtime.store import Store, Transaction

CONSUMER = "notifications"
REVIEWS = "reviews"


async def submit_review(store: Store, sender: str, command: SubmitReview) -> bool:
    review = command.data

    async def work(tx: Transaction) -> None:
        now = store.clock.now()
        await tx.db[REVIEWS].insert_one(
            {
                "_id": review.review_id,
                "organisation_id": command.organisation_id,
                **review.model_dump(mode="json"),
                "submitted_at": now,
            },
            session=tx.session,
        )
        submitted = ReviewSubmitted(
            occurred_at=now, actor=NOTIFICATIONS_ACTOR, **command.follow_up(), data=review
        )
        await tx.emit(MERCHANT_NOTIFICATIONS, submitted)
        who = review.customer_name or f"Customer {review.customer_id}"
        await notify_merchant(
            tx,
            now,
            sender,
            submitted,
            "review.submitted",
            f"{who} rated you {review.rating} of 5",
            customer_id=review.customer_id,
            contact_id=review.contact_id,
            subject_id=review.review_id,
            details={"rating": str(review.rating)},
        )

    try:
        return await handle_once(store, command, work)
    except DuplicateKeyError as repeated:
        raise PermanentFailure(f"review {review.review_id} exists already") from repeated


async def email_merchant(store: Store, sender: str, command: EmailMerchant) -> bool:
    """The customer's message goes to the merchant's contact address, answerable directly."""
    message = command.data

    async def work(tx: Transaction) -> None:
        merchant = await merchant_of(tx, command.organisation_id)
        if not merchant.get("contact_email"):
            raise PermanentFailure(f"no contact address known for {command.organisation_id}")
        who = single_line(message.customer_name) or f"Customer {message.customer_id}"
        await OutgoingMailRepository(tx.db, tx.session).add(
            OutgoingMail(
                organisation_id=command.organisation_id,
                customer_id=message.customer_id,
                kind=CUSTOMER_MESSAGE,
                to=merchant["contact_email"],
                to_name=merchant.get("name", ""),
                subject=single_line(f"[Portal] {who}: {message.subject}")[:250],
                text=f"{who} wrote from the customer portal:\n\n{message.message}\n",
                message_id=message_id_for(CUSTOMER_MESSAGE, command.event_id, sender),
                reply_to=str(message.reply_to) if message.reply_to else None,
            ),
            store.clock.now(),
        )

    return await handle_once(store, command, work)
