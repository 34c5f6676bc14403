"""Invoices, numbering counters, the merchant's invoicing set-up and failed charges in MongoDB.

Every query is scoped by organisation (and customer where it reads a customer's documents).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pymongo import ASCENDING, ReturnDocument
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase

from invoicing.domain.invoices import Invoice
from portal_contracts.invoicing import InvoiceLine, InvoicingSetup, Tax

Document = dict[str, Any]


async def ensure_indexes(db: AsyncDatabase[Document]) -> None:
    await db["invoices"].create_index(
        [("organisation_id", ASCENDING), ("customer_id", ASCENDING), ("issued_at", ASCENDING)]
    )
    await db["invoices"].create_index(
        [("organisation_id", ASCENDING), ("invoice_id", ASCENDING)], unique=True
    )
    # One invoice per subscription charge, whatever the redeliveries.
    await db["invoices"].create_index(
        [("organisation_id", ASCENDING), ("charge_id", ASCENDING)],
        unique=True,
        partialFilterExpression={"charge_id": {"$type": "string"}},
    )
    await db["invoices"].create_index([("next_autocharge_at", ASCENDING)], sparse=True)
    await db["invoices"].create_index([("status", ASCENDING), ("due_at", ASCENDING)])
    await db["failed_charges"].create_index([("organisation_id", ASCENDING)])


def invoice_to_document(invoice: Invoice) -> Document:
    return {
        "_id": f"{invoice.organisation_id}:{invoice.invoice_id}",
        "organisation_id": invoice.organisation_id,
        "customer_id": invoice.customer_id,
        "invoice_id": invoice.invoice_id,
        "number": invoice.number,
        "status": invoice.status,
        "currency": invoice.currency,
        "lines": [line.model_dump() for line in invoice.lines],
        "discount_minor": invoice.discount_minor,
        "tax": invoice.tax.model_dump(),
        "issued_at": invoice.issued_at,
        "due_at": invoice.due_at,
        "allow_partial_payments": invoice.allow_partial_payments,
        "subscription_id": invoice.subscription_id,
        "charge_id": invoice.charge_id,
        "autocharge": invoice.autocharge,
        "payment_method_id": invoice.payment_method_id,
        "amount_paid_minor": invoice.amount_paid_minor,
        "viewed_at": invoice.viewed_at,
        "autocharge_attempts": invoice.autocharge_attempts,
        "next_autocharge_at": invoice.next_autocharge_at,
        "total_minor": invoice.total_minor,
        "balance_minor": invoice.balance_minor,
    }


def invoice_from_document(doc: Document) -> Invoice:
    return Invoice(
        organisation_id=doc["organisation_id"],
        customer_id=doc["customer_id"],
        invoice_id=doc["invoice_id"],
        number=doc["number"],
        status=doc["status"],
        currency=doc["currency"],
        lines=tuple(InvoiceLine.model_validate(line) for line in doc["lines"]),
        discount_minor=doc["discount_minor"],
        tax=Tax.model_validate(doc["tax"]),
        issued_at=doc["issued_at"],
        due_at=doc["due_at"],
        allow_partial_payments=doc["allow_partial_payments"],
        subscription_id=doc.get("subscription_id"),
        charge_id=doc.get("charge_id"),
        autocharge=doc.get("autocharge", False),
        payment_method_id=doc.get("payment_method_id"),
        amount_paid_minor=doc["amount_paid_minor"],
        viewed_at=doc.get("viewed_at"),
        autocharge_attempts=doc.get("autocharge_attempts", 0),
        next_autocharge_at=doc.get("next_autocharge_at"),
    )


class InvoiceRepository:
    def __init__(self, db: AsyncDatabase[Document], session: AsyncClientSession | None = None):
        self.db = db
        self.collection = db["invoices"]
        self.session = session

    async def add(self, invoice: Invoice) -> None:
        await self.collection.insert_one(invoice_to_document(invoice), session=self.session)

    async def save(self, invoice: Invoice) -> None:
        document = invoice_to_document(invoice)
        await self.collection.replace_one({"_id": document["_id"]}, document, session=self.session)

    async def get(self, organisation_id: str, customer_id: str, invoice_id: str) -> Invoice | None:
        doc = await self.collection.find_one(
            {
                "organisation_id": organisation_id,
                "customer_id": customer_id,
                "invoice_id": invoice_id,
            },
            session=self.session,
        )
        return invoice_from_document(doc) if doc else None

    async def by_charge(self, organisation_id: str, charge_id: str) -> Invoice | None:
        doc = await self.collection.find_one(
            {"organisation_id": organisation_id, "charge_id": charge_id}, session=self.session
        )
        return invoice_from_document(doc) if doc else None

    async def of_customer(
        self, organisation_id: str, customer_id: str, invoice_ids: tuple[str, ...] | None = None
    ) -> list[Invoice]:
        query: Document = {"organisation_id": organisation_id, "customer_id": customer_id}
        if invoice_ids is not None:
            query["invoice_id"] = {"$in": list(invoice_ids)}
        cursor = self.collection.find(query, session=self.session).sort("issued_at", ASCENDING)
        return [invoice_from_document(doc) async for doc in cursor]

    async def due_for_autocharge(self, now: datetime, limit: int = 50) -> list[Invoice]:
        cursor = self.collection.find(
            {"next_autocharge_at": {"$lte": now}}, session=self.session
        ).limit(limit)
        return [invoice_from_document(doc) async for doc in cursor]

    async def past_due(self, now: datetime, limit: int = 200) -> list[Invoice]:
        cursor = self.collection.find(
            {
                "status": {"$in": ["sent", "viewed", "partially_paid"]},
                "due_at": {"$lt": now},
            },
            session=self.session,
        ).limit(limit)
        return [invoice_from_document(doc) async for doc in cursor]

    async def next_number(self, organisation_id: str, series: str) -> int:
        """The next number of a merchant's series; inside the caller's transaction, so a
        rolled-back invoice leaves no gap."""
        counter = await self.db["counters"].find_one_and_update(
            {"_id": f"{organisation_id}:{series}"},
            {"$inc": {"value": 1}},
            upsert=True,
            return_document=ReturnDocument.AFTER,
            session=self.session,
        )
        assert counter is not None  # upserted
        return int(counter["value"])


class SetupRepository:
    def __init__(self, db: AsyncDatabase[Document], session: AsyncClientSession | None = None):
        self.collection = db["invoicing_setup"]
        self.session = session

    async def get(self, organisation_id: str) -> InvoicingSetup:
        doc = await self.collection.find_one({"_id": organisation_id}, session=self.session)
        return InvoicingSetup.model_validate(doc["setup"]) if doc else InvoicingSetup()

    async def save(self, organisation_id: str, setup: InvoicingSetup) -> None:
        await self.collection.update_one(
            {"_id": organisation_id},
            {"$set": {"setup": setup.model_dump(mode="json")}},
            upsert=True,
            session=self.session,
        )


class FailedCharges:
    """Charges that could not become invoices (e.g. CP2001), kept to raise again later."""

    def __init__(self, db: AsyncDatabase[Document], session: AsyncClientSession | None = None):
        self.collection = db["failed_charges"]
        self.session = session

    async def record(
        self, organisation_id: str, charge_id: str, event: Document, code: str
    ) -> None:
        await self.collection.update_one(
            {"_id": f"{organisation_id}:{charge_id}"},
            {"$set": {"organisation_id": organisation_id, "event": event, "code": code}},
            upsert=True,
            session=self.session,
        )

    async def of_organisation(self, organisation_id: str) -> list[Document]:
        cursor = self.collection.find({"organisation_id": organisation_id}, session=self.session)
        return [doc async for doc in cursor]

    async def forget(self, organisation_id: str, charge_id: str) -> None:
        await self.collection.delete_one(
            {"_id": f"{organisation_id}:{charge_id}"}, session=self.session
        )


class MerchantNames:
    def __init__(self, db: AsyncDatabase[Document], session: AsyncClientSession | None = None):
        self.collection = db["merchants"]
        self.session = session

    async def save(self, organisation_id: str, name: str) -> None:
        await self.collection.update_one(
            {"_id": organisation_id}, {"$set": {"name": name}}, upsert=True, session=self.session
        )

    async def name(self, organisation_id: str) -> str:
        doc = await self.collection.find_one({"_id": organisation_id}, session=self.session)
        return str(doc["name"]) if doc else "Your merchant"
