"""The portal's home dashboard, kept ready in the customer's own view document.

Every event that changes a figure on the dashboard (an invoice, a payment, a quote) recomputes
that figure from the module's read model inside the projection's transaction and stores it under
`dashboard` in `customer_views`. The home page then costs one document read, like the bare
endpoint it is measured against.
"""

from __future__ import annotations

from typing import Any

from pymongo import DESCENDING

from portal_contracts.documents import (
    QuoteAccepted,
    QuoteCreated,
    QuoteDeclined,
    QuoteExpired,
    QuoteSent,
    QuoteViewed,
)
from portal_contracts.envelope import Envelope
from portal_contracts.invoicing import (
    InvoiceIssued,
    InvoiceUpdated,
    PaymentFailed,
    PaymentPending,
    PaymentSucceeded,
)
from portal_contracts.projects import TimesheetApproved, TimesheetRejected, TimesheetSubmitted
from portal_gateway.adapters.read_models import CustomerViews
from portal_gateway.service_layer.document_views import QUOTES
from portal_gateway.service_layer.invoice_views import INVOICES, PAYMENTS
from portal_gateway.service_layer.project_views import TIMESHEETS
from portal_runtime.store import Transaction

Document = dict[str, Any]

OPEN_INVOICES = ("sent", "viewed", "partially_paid", "overdue")
AWAITING_QUOTES = ("sent", "viewed")
INVOICES_SHOWN = 5


async def project_dashboard(tx: Transaction, event: Envelope) -> None:
    """Runs after the module projectors, so their read models already hold this event."""
    org = event.organisation_id
    match event:
        case InvoiceIssued(data=invoice) | InvoiceUpdated(data=invoice):
            await _store(tx, org, invoice.customer_id, await _open_invoices(tx, org, invoice))
        case (
            PaymentSucceeded(data=payment)
            | PaymentPending(data=payment)
            | PaymentFailed(data=payment)
        ):
            await _store(tx, org, payment.customer_id, await _last_payment(tx, org, payment))
        case (
            QuoteCreated(data=quote)
            | QuoteSent(data=quote)
            | QuoteViewed(data=quote)
            | QuoteAccepted(data=quote)
            | QuoteDeclined(data=quote)
            | QuoteExpired(data=quote)
        ):
            await _store(tx, org, quote.customer_id, await _quotes_awaiting(tx, org, quote))
        case (
            TimesheetSubmitted(data=sheet)
            | TimesheetApproved(data=sheet)
            | TimesheetRejected(data=sheet)
        ):
            await _store(tx, org, sheet.customer_id, await _timesheets_awaiting(tx, org, sheet))


async def _store(tx: Transaction, org: str, customer_id: str, figures: Document) -> None:
    await CustomerViews(tx.db, tx.session).update(
        org, customer_id, {f"dashboard.{name}": value for name, value in figures.items()}
    )


async def _open_invoices(tx: Transaction, org: str, invoice: Any) -> Document:
    scope = {
        "organisation_id": org,
        "customer_id": invoice.customer_id,
        "status": {"$in": list(OPEN_INVOICES)},
    }
    fields = {"_id": 0, "invoice_id": 1, "number": 1, "status": 1, "currency": 1, "due_at": 1}
    open_invoices = [
        doc
        async for doc in tx.db[INVOICES]
        .find(scope, {**fields, "balance_minor": 1}, session=tx.session)
        .sort("due_at", 1)
    ]
    owed: dict[str, int] = {}
    for doc in open_invoices:
        currency = str(doc.get("currency", ""))
        owed[currency] = owed.get(currency, 0) + int(doc.get("balance_minor", 0))
    return {
        "open_invoices": {
            "count": len(open_invoices),
            "owed": [{"amount_minor": v, "currency": c} for c, v in sorted(owed.items())],
            "soonest_due": open_invoices[:INVOICES_SHOWN],
        }
    }


async def _last_payment(tx: Transaction, org: str, payment: Any) -> Document:
    latest = await tx.db[PAYMENTS].find_one(
        {"organisation_id": org, "customer_id": payment.customer_id, "status": "succeeded"},
        {"_id": 0, "payment_id": 1, "number": 1, "amount": 1, "created_at": 1, "settled_at": 1},
        sort=[("created_at", DESCENDING)],
        session=tx.session,
    )
    return {"last_payment": latest}


async def _quotes_awaiting(tx: Transaction, org: str, quote: Any) -> Document:
    count = await tx.db[QUOTES].count_documents(
        {
            "organisation_id": org,
            "customer_id": quote.customer_id,
            "status": {"$in": list(AWAITING_QUOTES)},
        },
        session=tx.session,
    )
    return {"quotes_awaiting": count}


async def _timesheets_awaiting(tx: Transaction, org: str, sheet: Any) -> Document:
    count = await tx.db[TIMESHEETS].count_documents(
        {"organisation_id": org, "customer_id": sheet.customer_id, "status": "submitted"},
        session=tx.session,
    )
    return {"timesheets_awaiting": count}
