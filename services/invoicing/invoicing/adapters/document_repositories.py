"""Quotes, sales orders, credit notes and statements in MongoDB, scoped by organisation and
customer; and the invoice/payment history a statement is drawn from."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from dataclasses import asdict
from typing import Any

from pymongo import ASCENDING, ReturnDocument
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase

from invoicing.domain.credit_notes import CreditNote
from invoicing.domain.quotes import ANSWERABLE, Quote
from invoicing.domain.statements import Entry

Document = dict[str, Any]

QUOTES = "quotes"
SALES_ORDERS = "sales_orders"
CREDIT_NOTES = "credit_notes"
STATEMENTS = "statements"
NUMBERS = "document_numbers"
# Written by the invoices and payments part of this service; a statement only reads them.
INVOICES = "invoices"
PAYMENTS = "payments"

PREFIX = {"quote": "QT", "sales_order": "SO", "credit_note": "CN"}


async def ensure_indexes(db: AsyncDatabase[Document]) -> None:
    scope = [("organisation_id", ASCENDING), ("customer_id", ASCENDING)]
    for name, key in ((QUOTES, "quote_id"), (SALES_ORDERS, "sales_order_id")):
        await db[name].create_index([("organisation_id", ASCENDING), (key, ASCENDING)], unique=True)
        await db[name].create_index([*scope, ("created_at", ASCENDING)])
    # The expiry job's scan: open quotes by expiry date, across merchants.
    await db[QUOTES].create_index([("status", ASCENDING), ("expires_on", ASCENDING)])
    await db[CREDIT_NOTES].create_index(
        [("organisation_id", ASCENDING), ("credit_note_id", ASCENDING)], unique=True
    )
    # A statement reads each kind by (organisation, customer, date): these make it one index
    # range scan per kind, however long the customer's history.
    await db[CREDIT_NOTES].create_index([*scope, ("issued_at", ASCENDING)])
    # Invoices (organisation, customer, issued_at) and payments (organisation, customer,
    # created_at) are indexed by their own repositories.
    await db[STATEMENTS].create_index(
        [("organisation_id", ASCENDING), ("statement_id", ASCENDING)], unique=True
    )


async def next_number(
    db: AsyncDatabase[Document], session: AsyncClientSession | None, organisation_id: str, kind: str
) -> str:
    """The merchant's next number for `kind` (QT-00001, SO-00001, CN-00001), in the caller's
    transaction so a rolled-back document gives its number back."""
    counter = await db[NUMBERS].find_one_and_update(
        {"_id": f"{organisation_id}:{kind}"},
        {"$inc": {"next": 1}},
        upsert=True,
        return_document=ReturnDocument.AFTER,
        session=session,
    )
    assert counter is not None  # upserted
    return f"{PREFIX[kind]}-{int(counter['next']):05d}"


class _Repository:
    collection_name = ""
    key = ""

    def __init__(self, db: AsyncDatabase[Document], session: AsyncClientSession | None = None):
        self.db = db
        self.collection = db[self.collection_name]
        self.session = session

    async def _get(
        self, organisation_id: str, customer_id: str, document_id: str
    ) -> Document | None:
        return await self.collection.find_one(
            {"organisation_id": organisation_id, "customer_id": customer_id, self.key: document_id},
            {"_id": 0},
            session=self.session,
        )

    async def _exists(self, organisation_id: str, document_id: str) -> bool:
        found = await self.collection.find_one(
            {"organisation_id": organisation_id, self.key: document_id},
            {"_id": 1},
            session=self.session,
        )
        return found is not None

    async def _put(self, document: Document) -> None:
        await self.collection.replace_one(
            {"organisation_id": document["organisation_id"], self.key: document[self.key]},
            document,
            upsert=True,
            session=self.session,
        )


class QuoteRepository(_Repository):
    collection_name = QUOTES
    key = "quote_id"

    async def get(self, organisation_id: str, customer_id: str, quote_id: str) -> Quote | None:
        doc = await self._get(organisation_id, customer_id, quote_id)
        return _quote(doc) if doc else None

    async def exists(self, organisation_id: str, quote_id: str) -> bool:
        return await self._exists(organisation_id, quote_id)

    async def save(self, quote: Quote) -> None:
        await self._put(_document(quote))

    async def past_expiry(self, today: dt.date, limit: int = 200) -> list[Quote]:
        """Open (sent or viewed) quotes whose expiry date is before `today`, any merchant."""
        cursor = self.collection.find(
            {"status": {"$in": sorted(ANSWERABLE)}, "expires_on": {"$lt": today.isoformat()}},
            {"_id": 0},
            session=self.session,
        ).limit(limit)
        return [_quote(doc) async for doc in cursor]

    async def save_expired(self, quote: Quote) -> bool:
        """Store the expiry only if the quote is still open: of two runs (or an answer racing
        the run) one wins; False for the loser, which then tells nobody."""
        result = await self.collection.update_one(
            {
                "organisation_id": quote.organisation_id,
                "quote_id": quote.quote_id,
                "status": {"$in": sorted(ANSWERABLE)},
            },
            {"$set": {"status": quote.status, "expired_at": quote.expired_at}},
            session=self.session,
        )
        return result.modified_count == 1


def _document(quote: Quote) -> Document:
    # BSON has no date type: the expiry date is stored as its ISO text, which sorts by date.
    doc = asdict(quote)
    doc["expires_on"] = quote.expires_on.isoformat() if quote.expires_on else None
    return doc


def _quote(doc: Document) -> Quote:
    expires_on = doc.get("expires_on")
    if isinstance(expires_on, str):
        doc = {**doc, "expires_on": dt.date.fromisoformat(expires_on)}
    return Quote(**doc)


class SalesOrderRepository(_Repository):
    collection_name = SALES_ORDERS
    key = "sales_order_id"

    async def get(self, organisation_id: str, customer_id: str, order_id: str) -> Document | None:
        return await self._get(organisation_id, customer_id, order_id)

    async def exists(self, organisation_id: str, order_id: str) -> bool:
        return await self._exists(organisation_id, order_id)

    async def save(self, order: Document) -> None:
        await self._put(order)


class CreditNoteRepository(_Repository):
    collection_name = CREDIT_NOTES
    key = "credit_note_id"

    async def get(self, organisation_id: str, customer_id: str, note_id: str) -> CreditNote | None:
        doc = await self._get(organisation_id, customer_id, note_id)
        if doc is None:
            return None
        doc.pop("available_minor", None)
        doc.pop("status", None)
        return CreditNote(**doc)

    async def exists(self, organisation_id: str, note_id: str) -> bool:
        return await self._exists(organisation_id, note_id)

    async def save(self, note: CreditNote) -> None:
        # Stored with what a statement reads without rebuilding the note.
        await self._put(
            {**asdict(note), "available_minor": note.available_minor, "status": note.status}
        )


class StatementRepository(_Repository):
    collection_name = STATEMENTS
    key = "statement_id"

    async def save(self, statement: Document) -> None:
        await self._put(statement)


def _day(value: dt.datetime | dt.date | None) -> dt.date | None:
    if value is None:
        return None
    return value.date() if isinstance(value, dt.datetime) else value


class StatementSource:
    """A customer's history for a statement: one indexed query per kind, streamed (only the
    fields a statement needs), each document turned into an `Entry` as it arrives."""

    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self.db = db

    def _scope(self, organisation_id: str, customer_id: str) -> Document:
        return {"organisation_id": organisation_id, "customer_id": customer_id}

    async def entries(
        self, organisation_id: str, customer_id: str, currency: str, until: dt.date
    ) -> AsyncIterator[Entry]:
        end = dt.datetime.combine(until + dt.timedelta(days=1), dt.time(), dt.UTC)
        scope = self._scope(organisation_id, customer_id)
        async for invoice in self.db[INVOICES].find(
            {
                **scope,
                "currency": currency,
                "issued_at": {"$lt": end},
                "status": {"$nin": ["draft", "void"]},
            },
            {
                "_id": 0,
                "number": 1,
                "issued_at": 1,
                "due_at": 1,
                "total_minor": 1,
                "balance_minor": 1,
            },
            batch_size=2000,
        ):
            issued = _day(invoice["issued_at"])
            assert issued is not None
            yield Entry(
                date=issued,
                kind="invoice",
                reference=str(invoice["number"]),
                amount_minor=int(invoice["total_minor"]),
                due_date=_day(invoice.get("due_at")),
                outstanding_minor=int(invoice.get("balance_minor", 0)),
            )
        async for payment in self.db[PAYMENTS].find(
            {**scope, "currency": currency, "status": "succeeded", "created_at": {"$lt": end}},
            {"_id": 0, "number": 1, "created_at": 1, "settled_at": 1, "amount_minor": 1},
            batch_size=2000,
        ):
            paid = _day(payment.get("settled_at") or payment["created_at"])
            assert paid is not None
            yield Entry(
                date=paid,
                kind="payment",
                reference=str(payment["number"]),
                amount_minor=int(payment["amount_minor"]),
            )
        async for note in self.db[CREDIT_NOTES].find(
            {**scope, "currency": currency, "issued_at": {"$lt": end}},
            {"_id": 0, "number": 1, "issued_at": 1, "total_minor": 1, "refunds": 1},
            batch_size=2000,
        ):
            issued = _day(note["issued_at"])
            assert issued is not None
            yield Entry(issued, "credit_note", str(note["number"]), int(note["total_minor"]))
            for refund in note.get("refunds", []):
                day = _day(refund["at"])
                assert day is not None
                yield Entry(day, "refund", f"{note['number']} refund", int(refund["amount_minor"]))
