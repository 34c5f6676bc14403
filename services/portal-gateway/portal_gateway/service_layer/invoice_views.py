"""The portal's invoices, payments, saved payment methods and their PDFs, built from the
invoicing service's events; and the queries the invoice and payment routes answer from them.

PDFs reach the gateway as `DocumentRendered` events (the bytes, base64) and are kept in
`rendered_documents`, so a download never calls the invoicing service.
"""

from __future__ import annotations

import base64
from datetime import datetime
from typing import Any, Literal

from pymongo import ASCENDING, DESCENDING
from pymongo.asynchronous.database import AsyncDatabase

from portal_contracts.envelope import Envelope
from portal_contracts.invoicing import (
    AccountBalanceChanged,
    DocumentRendered,
    InvoiceCreationFailed,
    InvoiceIssued,
    InvoiceUpdated,
    InvoiceViewed,
    InvoicingConfigured,
    PaymentFailed,
    PaymentMethodAdded,
    PaymentMethodRemoved,
    PaymentMethodReplaced,
    PaymentPending,
    PaymentSucceeded,
)
from portal_gateway.adapters.read_models import CustomerViews
from portal_runtime.store import Transaction

Document = dict[str, Any]
INVOICES = "invoice_views"
PAYMENTS = "payment_views"
METHODS = "payment_method_views"
DOCUMENTS = "rendered_documents"
SETUPS = "invoicing_setup_views"
FAILURES = "invoicing_failure_views"

_HIDDEN = {"_id": 0, "organisation_id": 0, "view_requested": 0}


async def ensure_indexes(db: AsyncDatabase[Document]) -> None:
    scope = [("organisation_id", ASCENDING), ("customer_id", ASCENDING)]
    await db[INVOICES].create_index([*scope, ("invoice_id", ASCENDING)], unique=True)
    await db[INVOICES].create_index([*scope, ("issued_at", DESCENDING)])
    await db[INVOICES].create_index([("organisation_id", ASCENDING), ("invoice_id", ASCENDING)])
    await db[PAYMENTS].create_index([*scope, ("payment_id", ASCENDING)], unique=True)
    await db[PAYMENTS].create_index([*scope, ("created_at", DESCENDING)])
    await db[METHODS].create_index([*scope, ("payment_method_id", ASCENDING)], unique=True)
    await db[DOCUMENTS].create_index(
        [*scope, ("kind", ASCENDING), ("document_id", ASCENDING)], unique=True
    )
    await db[FAILURES].create_index([("organisation_id", ASCENDING), ("occurred_at", DESCENDING)])


def _key(org: str, customer_id: str, **more: str) -> Document:
    return {"organisation_id": org, "customer_id": customer_id, **more}


async def _upsert(tx: Transaction, collection: str, key: Document, values: Document) -> None:
    await tx.db[collection].update_one(key, {"$set": values}, upsert=True, session=tx.session)


async def project_invoicing(tx: Transaction, event: Envelope) -> None:
    org = event.organisation_id
    match event:
        case InvoiceIssued(data=invoice) | InvoiceUpdated(data=invoice):
            await _upsert(
                tx,
                INVOICES,
                _key(org, invoice.customer_id, invoice_id=invoice.invoice_id),
                invoice.model_dump(),
            )
        case InvoiceViewed(data=viewed):
            await _upsert(
                tx,
                INVOICES,
                _key(org, viewed.customer_id, invoice_id=viewed.invoice_id),
                {"viewed_at": viewed.viewed_at},
            )
        case DocumentRendered(data=document):
            await _upsert(
                tx,
                DOCUMENTS,
                _key(
                    org, document.customer_id, kind=document.kind, document_id=document.document_id
                ),
                {
                    "number": document.number,
                    "filename": document.filename,
                    "content_base64": document.content_base64,
                    "rendered_at": event.occurred_at,
                },
            )
        case (
            PaymentSucceeded(data=payment)
            | PaymentPending(data=payment)
            | PaymentFailed(data=payment)
        ):
            await _upsert(
                tx,
                PAYMENTS,
                _key(org, payment.customer_id, payment_id=payment.payment_id),
                {**payment.model_dump(), "amount_minor": payment.amount.amount_minor},
            )
        case PaymentMethodAdded(data=saved):
            await _upsert(
                tx,
                METHODS,
                _key(org, saved.customer_id, payment_method_id=saved.payment_method_id),
                {**saved.method.model_dump(), "status": "active", "added_at": event.occurred_at},
            )
        case PaymentMethodReplaced(data=change):
            await _upsert(
                tx,
                METHODS,
                _key(org, change.customer_id, payment_method_id=change.old_payment_method_id),
                {"status": "replaced", "replaced_by": change.new_payment_method_id},
            )
            await _upsert(
                tx,
                METHODS,
                _key(org, change.customer_id, payment_method_id=change.new_payment_method_id),
                {**change.method.model_dump(), "status": "active", "added_at": event.occurred_at},
            )
        case PaymentMethodRemoved(data=ref):
            await _upsert(
                tx,
                METHODS,
                _key(org, ref.customer_id, payment_method_id=ref.payment_method_id),
                {"status": "removed"},
            )
        case AccountBalanceChanged(data=balance):
            await CustomerViews(tx.db, tx.session).update(
                org,
                balance.customer_id,
                {
                    "outstanding": balance.outstanding.model_dump(),
                    "unused_credits": balance.unused_credits.model_dump(),
                },
            )
        case InvoicingConfigured(data=setup):
            await tx.db[SETUPS].update_one(
                {"_id": org},
                {"$set": {"setup": setup.model_dump(mode="json")}},
                upsert=True,
                session=tx.session,
            )
        case InvoiceCreationFailed(data=failure):
            await tx.db[FAILURES].update_one(
                {"_id": f"{org}:{failure.charge_id}"},
                {
                    "$set": {
                        "organisation_id": org,
                        "occurred_at": event.occurred_at,
                        **failure.model_dump(),
                    }
                },
                upsert=True,
                session=tx.session,
            )


# --- queries ---------------------------------------------------------------------------------

InvoiceSort = Literal["date", "amount", "due_date"]
PaymentSort = Literal["date", "amount"]
Order = Literal["asc", "desc"]
_INVOICE_SORT = {"date": "issued_at", "amount": "total_minor", "due_date": "due_at"}
_PAYMENT_SORT = {"date": "created_at", "amount": "amount_minor"}


async def _page(
    db: AsyncDatabase[Document],
    collection: str,
    query: Document,
    field: str,
    order: Order,
    page: int,
    page_size: int,
) -> Document:
    direction = ASCENDING if order == "asc" else DESCENDING
    total = await db[collection].count_documents(query)
    cursor = (
        db[collection]
        .find(query, _HIDDEN)
        .sort([(field, direction), ("_id", direction)])
        .skip((page - 1) * page_size)
        .limit(page_size)
    )
    return {
        "items": [doc async for doc in cursor],
        "page": page,
        "page_size": page_size,
        "total": total,
    }


async def list_invoices(
    db: AsyncDatabase[Document],
    org: str,
    customer_id: str,
    *,
    status: str | None = None,
    subscription_id: str | None = None,
    sort: InvoiceSort = "date",
    order: Order = "desc",
    page: int = 1,
    page_size: int = 20,
    include_drafts: bool = False,
) -> Document:
    query: Document = _key(org, customer_id)
    # Customers never see drafts; the merchant does.
    if status is None:
        if not include_drafts:
            query["status"] = {"$ne": "draft"}
    else:
        query["status"] = status if include_drafts else {"$eq": status, "$ne": "draft"}
    if subscription_id is not None:
        query["subscription_id"] = subscription_id
    return await _page(db, INVOICES, query, _INVOICE_SORT[sort], order, page, page_size)


async def invoice(
    db: AsyncDatabase[Document], org: str, customer_id: str, invoice_id: str
) -> Document | None:
    return await db[INVOICES].find_one(_key(org, customer_id, invoice_id=invoice_id), _HIDDEN)


async def invoice_of_merchant(
    db: AsyncDatabase[Document], org: str, invoice_id: str
) -> Document | None:
    return await db[INVOICES].find_one({"organisation_id": org, "invoice_id": invoice_id}, _HIDDEN)


async def claim_first_view(tx: Transaction, org: str, customer_id: str, invoice_id: str) -> bool:
    """True once per invoice: the request that should tell invoicing it was viewed."""
    result = await tx.db[INVOICES].update_one(
        {
            **_key(org, customer_id, invoice_id=invoice_id),
            "viewed_at": None,
            "view_requested": {"$ne": True},
            "status": {"$ne": "draft"},
        },
        {"$set": {"view_requested": True}},
        session=tx.session,
    )
    return result.modified_count == 1


async def list_payments(
    db: AsyncDatabase[Document],
    org: str,
    customer_id: str,
    *,
    status: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    sort: PaymentSort = "date",
    order: Order = "desc",
    page: int = 1,
    page_size: int = 20,
) -> Document:
    query: Document = _key(org, customer_id)
    if status is not None:
        query["status"] = status
    made: Document = {}
    if since is not None:
        made["$gte"] = since
    if until is not None:
        made["$lt"] = until
    if made:
        query["created_at"] = made
    return await _page(db, PAYMENTS, query, _PAYMENT_SORT[sort], order, page, page_size)


async def payment(
    db: AsyncDatabase[Document], org: str, customer_id: str, payment_id: str
) -> Document | None:
    return await db[PAYMENTS].find_one(_key(org, customer_id, payment_id=payment_id), _HIDDEN)


async def payment_methods(
    db: AsyncDatabase[Document], org: str, customer_id: str
) -> list[Document]:
    cursor = (
        db[METHODS]
        .find({**_key(org, customer_id), "status": "active"}, _HIDDEN)
        .sort("added_at", ASCENDING)
    )
    return [doc async for doc in cursor]


async def payment_method(
    db: AsyncDatabase[Document], org: str, customer_id: str, payment_method_id: str
) -> Document | None:
    return await db[METHODS].find_one(
        {**_key(org, customer_id, payment_method_id=payment_method_id), "status": "active"}, _HIDDEN
    )


async def pdf(
    db: AsyncDatabase[Document], org: str, customer_id: str, kind: str, document_id: str
) -> tuple[str, bytes] | None:
    doc = await db[DOCUMENTS].find_one(_key(org, customer_id, kind=kind, document_id=document_id))
    if doc is None:
        return None
    return str(doc["filename"]), base64.b64decode(doc["content_base64"])


async def setup(db: AsyncDatabase[Document], org: str) -> Document:
    doc = await db[SETUPS].find_one({"_id": org})
    return dict(doc["setup"]) if doc else {}


async def failures(db: AsyncDatabase[Document], org: str) -> list[Document]:
    cursor = (
        db[FAILURES]
        .find({"organisation_id": org}, {"_id": 0, "organisation_id": 0})
        .sort("occurred_at", DESCENDING)
    )
    return [doc async for doc in cursor.limit(200)]
