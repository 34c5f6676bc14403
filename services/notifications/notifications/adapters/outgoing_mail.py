"""Outgoing mail in MongoDB: queued inside a handler's transaction, claimed by one sender at a
time with a lease, and marked sent, rescheduled or dead.

Statuses: `pending` (waiting for `next_attempt_at`), `sending` (claimed until `lease_until`),
`sent`, `dead`. A row left in `sending` past its lease (its sender crashed) is claimed again.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from bson import ObjectId
from pymongo import ASCENDING, ReturnDocument
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase

from notifications.domain.mail import MailAttachment, OutgoingMail

Document = dict[str, Any]
COLLECTION = "outgoing_mail"


@dataclass(frozen=True)
class ClaimedMail:
    """A row one sender holds: `claim` is the token that proves it still does."""

    row_id: ObjectId
    claim: str
    attempts: int
    mail: OutgoingMail


class OutgoingMailRepository:
    def __init__(
        self, db: AsyncDatabase[Document], session: AsyncClientSession | None = None
    ) -> None:
        self.collection = db[COLLECTION]
        self.session = session

    @staticmethod
    async def ensure_indexes(db: AsyncDatabase[Document]) -> None:
        rows = db[COLLECTION]
        await rows.create_index("message_id", unique=True)
        await rows.create_index([("status", ASCENDING), ("next_attempt_at", ASCENDING)])
        await rows.create_index([("status", ASCENDING), ("lease_until", ASCENDING)])
        await rows.create_index(
            [("organisation_id", ASCENDING), ("customer_id", ASCENDING), ("created_at", ASCENDING)]
        )

    async def add(self, mail: OutgoingMail, now: datetime) -> None:
        await self.collection.insert_one(
            {
                "organisation_id": mail.organisation_id,
                "customer_id": mail.customer_id,
                "kind": mail.kind,
                "to": mail.to,
                "to_name": mail.to_name,
                "subject": mail.subject,
                "text": mail.text,
                "message_id": mail.message_id,
                "attachments": [
                    {"filename": a.filename, "content_type": a.content_type, "content": a.content}
                    for a in mail.attachments
                ],
                "reply_to": mail.reply_to,
                "status": "pending",
                "attempts": 0,
                "next_attempt_at": now,
                "created_at": now,
            },
            session=self.session,
        )

    async def claim_due(self, now: datetime, lease: timedelta) -> ClaimedMail | None:
        """Take the oldest due row, atomically, so no other sender can take it too."""
        claim = uuid.uuid4().hex
        row = await self.collection.find_one_and_update(
            {
                "$or": [
                    {"status": "pending", "next_attempt_at": {"$lte": now}},
                    {"status": "sending", "lease_until": {"$lt": now}},
                ]
            },
            {"$set": {"status": "sending", "lease_until": now + lease, "claim": claim}},
            sort=[("next_attempt_at", ASCENDING)],
            return_document=ReturnDocument.AFTER,
            session=self.session,
        )
        if row is None:
            return None
        return ClaimedMail(
            row_id=row["_id"], claim=claim, attempts=row["attempts"], mail=_mail(row)
        )

    async def mark_sent(self, claimed: ClaimedMail, now: datetime) -> bool:
        return await self._settle(claimed, {"status": "sent", "sent_at": now})

    async def reschedule(
        self, claimed: ClaimedMail, attempts: int, at: datetime, error: str
    ) -> bool:
        return await self._settle(
            claimed,
            {"status": "pending", "attempts": attempts, "next_attempt_at": at, "last_error": error},
        )

    async def give_up(self, claimed: ClaimedMail, attempts: int, now: datetime, error: str) -> bool:
        return await self._settle(
            claimed, {"status": "dead", "attempts": attempts, "dead_at": now, "last_error": error}
        )

    async def _settle(self, claimed: ClaimedMail, changes: Document) -> bool:
        """Apply the outcome only while our claim holds; False if another sender took over."""
        result = await self.collection.update_one(
            {"_id": claimed.row_id, "status": "sending", "claim": claimed.claim},
            {"$set": changes, "$unset": {"lease_until": "", "claim": ""}},
            session=self.session,
        )
        return result.modified_count == 1


def _mail(row: Document) -> OutgoingMail:
    return OutgoingMail(
        organisation_id=row["organisation_id"],
        customer_id=row["customer_id"],
        kind=row["kind"],
        to=row["to"],
        to_name=row.get("to_name", ""),
        subject=row["subject"],
        text=row["text"],
        message_id=row["message_id"],
        attachments=tuple(
            MailAttachment(a["filename"], a["content_type"], bytes(a["content"]))
            for a in row.get("attachments", ())
        ),
        reply_to=row.get("reply_to"),
    )
