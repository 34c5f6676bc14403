"""Payment attempts, the per-invoice payment claims, saved payment methods and job leases.

At most one pending payment per invoice is a database rule: a claim document per (payment,
invoice) with a partial unique index on (organisation, invoice) over the claims still pending.
Two payments racing for the same invoice cannot both commit their claim.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from pymongo import ASCENDING, DESCENDING, ReturnDocument
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

Document = dict[str, Any]


async def ensure_indexes(db: AsyncDatabase[Document]) -> None:
    await db["payment_claims"].create_index(
        [("organisation_id", ASCENDING), ("invoice_id", ASCENDING)],
        unique=True,
        partialFilterExpression={"state": "pending"},
        name="one_pending_payment_per_invoice",
    )
    await db["payment_claims"].create_index(
        [("organisation_id", ASCENDING), ("payment_id", ASCENDING)]
    )
    await db["payments"].create_index(
        [("organisation_id", ASCENDING), ("customer_id", ASCENDING), ("created_at", DESCENDING)]
    )
    await db["payments"].create_index([("status", ASCENDING), ("created_at", ASCENDING)])
    await db["payment_methods"].create_index(
        [("organisation_id", ASCENDING), ("customer_id", ASCENDING)]
    )


class PaymentRepository:
    def __init__(self, db: AsyncDatabase[Document], session: AsyncClientSession | None = None):
        self.db = db
        self.payments = db["payments"]
        self.claims = db["payment_claims"]
        self.session = session

    async def pending_claims(self, organisation_id: str, invoice_ids: list[str]) -> list[Document]:
        cursor = self.claims.find(
            {
                "organisation_id": organisation_id,
                "invoice_id": {"$in": invoice_ids},
                "state": "pending",
            },
            session=self.session,
        )
        return [doc async for doc in cursor]

    async def add(self, payment: Document) -> None:
        """The attempt and its claims; DuplicateKeyError when an invoice already has a pending
        payment (the transaction then aborts)."""
        await self.payments.insert_one(payment, session=self.session)
        for allocation in payment["allocations"]:
            await self.claims.insert_one(
                {
                    "_id": f"{payment['_id']}:{allocation['invoice_id']}",
                    "organisation_id": payment["organisation_id"],
                    "invoice_id": allocation["invoice_id"],
                    "payment_id": payment["payment_id"],
                    "state": "pending",
                },
                session=self.session,
            )

    async def get(self, organisation_id: str, payment_id: str) -> Document | None:
        return await self.payments.find_one(
            {"_id": f"{organisation_id}:{payment_id}"}, session=self.session
        )

    async def settle(self, payment: Document, changes: Document) -> None:
        """Record the outcome; the claims are released (failed) or closed (succeeded)."""
        await self.payments.update_one(
            {"_id": payment["_id"]}, {"$set": changes}, session=self.session
        )
        if changes["status"] in ("succeeded", "failed"):
            state = "done" if changes["status"] == "succeeded" else "released"
            await self.claims.update_many(
                {
                    "organisation_id": payment["organisation_id"],
                    "payment_id": payment["payment_id"],
                },
                {"$set": {"state": state}},
                session=self.session,
            )

    async def unresolved(self, older_than: datetime, limit: int = 50) -> list[Document]:
        """Attempts whose gateway call has no recorded answer yet, or bank payments pending."""
        cursor = self.payments.find(
            {"status": {"$in": ["charging", "pending"]}, "created_at": {"$lte": older_than}},
            session=self.session,
        ).limit(limit)
        return [doc async for doc in cursor]


class PaymentMethods:
    def __init__(self, db: AsyncDatabase[Document], session: AsyncClientSession | None = None):
        self.collection = db["payment_methods"]
        self.session = session

    async def add(self, method: Document) -> None:
        await self.collection.insert_one(method, session=self.session)

    async def get(
        self, organisation_id: str, customer_id: str, payment_method_id: str
    ) -> Document | None:
        return await self.collection.find_one(
            {
                "_id": f"{organisation_id}:{payment_method_id}",
                "customer_id": customer_id,
                "status": "active",
            },
            session=self.session,
        )

    async def retire(self, organisation_id: str, payment_method_id: str, status: str) -> None:
        await self.collection.update_one(
            {"_id": f"{organisation_id}:{payment_method_id}"},
            {"$set": {"status": status}},
            session=self.session,
        )


class Leases:
    """A background job runs on one instance at a time: whoever holds the lease."""

    def __init__(self, db: AsyncDatabase[Document]):
        self.collection = db["job_leases"]

    async def take(self, job: str, holder: str, now: datetime, duration: timedelta) -> bool:
        try:
            taken = await self.collection.find_one_and_update(
                {"_id": job, "$or": [{"until": {"$lte": now}}, {"holder": holder}]},
                {"$set": {"holder": holder, "until": now + duration}},
                upsert=True,
                return_document=ReturnDocument.AFTER,
            )
        except DuplicateKeyError:
            return False  # someone else holds it (the upsert met their document)
        return taken is not None and taken["holder"] == holder
