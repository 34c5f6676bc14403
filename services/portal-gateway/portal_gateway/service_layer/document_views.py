"""Read models of the customer's documents (quotes, sales orders, credit notes, statements),
built from invoicing's quote and credit events; and the queries the routes answer from them.

Every query takes the organisation AND the customer: a document of another customer is simply
not found. Statements arrive as parts (lines and PDF slices) followed by their summary; the
summary settles the command that asked for the statement.
"""

from __future__ import annotations

import base64
import uuid
from collections.abc import Awaitable, Callable
from typing import Any, Literal

from litestar import Response
from pymongo import ASCENDING, DESCENDING
from pymongo.asynchronous.database import AsyncDatabase

from portal_contracts.documents import (
    CreditApplied,
    CreditNoteIssued,
    CreditRefunded,
    DocumentForwarded,
    QuoteAccepted,
    QuoteCommentAdded,
    QuoteCreated,
    QuoteDeclined,
    QuoteExpired,
    QuoteSent,
    QuoteViewed,
    SalesOrderCreated,
    SalesOrderFulfilled,
    StatementGenerated,
    StatementPartGenerated,
)
from portal_contracts.envelope import Actor, Envelope
from portal_contracts.topics import INVOICING_COMMANDS
from portal_gateway.adapters.read_models import CustomerViews
from portal_gateway.service_layer.commands import pending_response, raise_if_rejected, send_command
from portal_gateway.service_layer.context import Gateway
from portal_runtime.errors import NotFound
from portal_runtime.store import Transaction

Document = dict[str, Any]

QUOTES = "quote_views"
SALES_ORDERS = "sales_order_views"
CREDIT_NOTES = "credit_note_views"
STATEMENTS = "statement_views"
STATEMENT_PARTS = "statement_parts"
FORWARDS = "forwarded_documents"
PAGE_LIMIT = 200


async def ensure_indexes(db: AsyncDatabase[Document]) -> None:
    scope = [("organisation_id", ASCENDING), ("customer_id", ASCENDING)]
    for name, key in (
        (QUOTES, "quote_id"),
        (SALES_ORDERS, "sales_order_id"),
        (CREDIT_NOTES, "credit_note_id"),
        (STATEMENTS, "statement_id"),
    ):
        await db[name].create_index([*scope, (key, ASCENDING)], unique=True)
        await db[name].create_index([*scope, ("created_at", DESCENDING)])
    await db[STATEMENT_PARTS].create_index(
        [*scope, ("statement_id", ASCENDING), ("index", ASCENDING)], unique=True
    )


async def _upsert(
    tx: Transaction,
    collection: str,
    key: str,
    event: Envelope,
    customer_id: str,
    doc_id: str,
    changes: Document,
    push: Document | None = None,
) -> None:
    update: Document = {"$set": changes}
    if push:
        update["$push"] = push
    await tx.db[collection].update_one(
        {"organisation_id": event.organisation_id, "customer_id": customer_id, key: doc_id},
        update,
        upsert=True,
        session=tx.session,
    )


async def project_documents(tx: Transaction, event: Envelope) -> None:
    match event:
        case QuoteCreated(data=q):
            view = q.model_dump(mode="json")
            view["comments"] = []
            await _upsert(tx, QUOTES, "quote_id", event, q.customer_id, q.quote_id, view)
        case (
            QuoteSent(data=s) | QuoteViewed(data=s) | QuoteAccepted(data=s) | QuoteDeclined(data=s)
        ):
            changes: Document = {"status": s.status, f"{s.status}_at": s.at.isoformat()}
            if s.reason is not None:
                changes["decline_reason"] = s.reason
            await _upsert(tx, QUOTES, "quote_id", event, s.customer_id, s.quote_id, changes)
        case QuoteExpired(data=e):
            expired = {"status": "expired", "expired_at": event.occurred_at.isoformat()}
            await _upsert(tx, QUOTES, "quote_id", event, e.customer_id, e.quote_id, expired)
        case QuoteCommentAdded(data=c):
            comment = c.model_dump(mode="json", exclude={"quote_id", "customer_id"})
            await _upsert(
                tx,
                QUOTES,
                "quote_id",
                event,
                c.customer_id,
                c.quote_id,
                {},
                push={"comments": comment},
            )
        case SalesOrderCreated(data=o):
            await _upsert(
                tx,
                SALES_ORDERS,
                "sales_order_id",
                event,
                o.customer_id,
                o.sales_order_id,
                o.model_dump(mode="json"),
            )
        case SalesOrderFulfilled(data=f):
            await _upsert(
                tx,
                SALES_ORDERS,
                "sales_order_id",
                event,
                f.customer_id,
                f.sales_order_id,
                {
                    "status": "fulfilled",
                    "fulfilled_at": f.at.isoformat(),
                    "invoice": {"invoice_id": f.invoice_id, "number": f.invoice_number},
                },
            )
        case CreditNoteIssued(data=n):
            view = n.model_dump(mode="json")
            view.update(created_at=view["issued_at"], applications=[], refunds=[])
            await _upsert(
                tx, CREDIT_NOTES, "credit_note_id", event, n.customer_id, n.credit_note_id, view
            )
        case CreditApplied(data=u) | CreditRefunded(data=u):
            applied = isinstance(event, CreditApplied)
            entry = {
                "amount": u.amount.model_dump(),
                "at": u.at.isoformat(),
                **(
                    {"invoice_id": u.invoice_id}
                    if applied
                    else {"refund_id": u.refund_id, "reference": u.reference}
                ),
            }
            await _upsert(
                tx,
                CREDIT_NOTES,
                "credit_note_id",
                event,
                u.customer_id,
                u.credit_note_id,
                {"available": u.available.model_dump(), "status": u.status},
                push={"applications" if applied else "refunds": entry},
            )
        case StatementPartGenerated(data=p):
            await tx.db[STATEMENT_PARTS].update_one(
                {
                    "organisation_id": event.organisation_id,
                    "customer_id": p.customer_id,
                    "statement_id": p.statement_id,
                    "index": p.index,
                },
                {
                    "$set": {
                        "lines": [line.model_dump(mode="json") for line in p.lines],
                        "pdf_base64": p.pdf_base64,
                    }
                },
                upsert=True,
                session=tx.session,
            )
        case StatementGenerated(data=s):
            summary = s.model_dump(mode="json")
            await _upsert(
                tx,
                STATEMENTS,
                "statement_id",
                event,
                s.customer_id,
                s.statement_id,
                {**summary, "status": "ready"},
            )
        case DocumentForwarded(data=f):
            await tx.db[FORWARDS].insert_one(
                {"organisation_id": event.organisation_id, **f.model_dump(mode="json")},
                session=tx.session,
            )


# ---------------------------------------------------------------- queries


def _scope(organisation_id: str, customer_id: str) -> Document:
    return {"organisation_id": organisation_id, "customer_id": customer_id}


def portal_quote(view: Document) -> Document:
    """A quote as the customer sees it: the merchant's comments only when marked for them."""
    shown = dict(view)
    shown["comments"] = [
        c for c in view.get("comments", []) if c["author"] == "contact" or c.get("show_in_portal")
    ]
    return shown


async def quotes_of(
    db: AsyncDatabase[Document],
    organisation_id: str,
    customer_id: str,
    status: str | None = None,
    include_drafts: bool = False,
) -> list[Document]:
    query = _scope(organisation_id, customer_id)
    if status:
        query["status"] = status
    elif not include_drafts:
        query["status"] = {"$ne": "draft"}
    cursor = db[QUOTES].find(query, {"_id": 0, "organisation_id": 0}).sort("created_at", DESCENDING)
    return [doc async for doc in cursor.limit(PAGE_LIMIT)]


async def find_one(
    db: AsyncDatabase[Document],
    collection: str,
    organisation_id: str,
    customer_id: str | None,
    key: str,
    document_id: str,
) -> Document | None:
    """One document by id; `customer_id` None only for the merchant (any of their customers)."""
    query: Document = {"organisation_id": organisation_id, key: document_id}
    if customer_id is not None:
        query["customer_id"] = customer_id
    return await db[collection].find_one(query, {"_id": 0, "organisation_id": 0})


async def list_of(
    db: AsyncDatabase[Document], collection: str, organisation_id: str, customer_id: str
) -> list[Document]:
    cursor = (
        db[collection]
        .find(_scope(organisation_id, customer_id), {"_id": 0, "organisation_id": 0})
        .sort("created_at", DESCENDING)
    )
    return [doc async for doc in cursor.limit(PAGE_LIMIT)]


DocumentSort = Literal["date", "amount", "number"]
Order = Literal["asc", "desc"]
_DOCUMENT_SORT = {"date": "created_at", "amount": "total.amount_minor", "number": "number"}


async def page_of(
    db: AsyncDatabase[Document],
    collection: str,
    organisation_id: str,
    customer_id: str,
    *,
    status: str | None = None,
    sort: DocumentSort = "date",
    order: Order = "desc",
    page: int = 1,
    page_size: int = 20,
    hide_drafts: bool = False,
) -> Document:
    """One page of the customer's documents, in the invoice list's shape: `items`, `page`,
    `page_size`, `total` (drafts never reach the customer when `hide_drafts`)."""
    query = _scope(organisation_id, customer_id)
    if status is not None:
        query["status"] = {"$eq": status, "$ne": "draft"} if hide_drafts else status
    elif hide_drafts:
        query["status"] = {"$ne": "draft"}
    direction = ASCENDING if order == "asc" else DESCENDING
    total = await db[collection].count_documents(query)
    cursor = (
        db[collection]
        .find(query, {"_id": 0, "organisation_id": 0})
        .sort([(_DOCUMENT_SORT[sort], direction), ("_id", direction)])
        .skip((page - 1) * page_size)
        .limit(page_size)
    )
    items = [doc async for doc in cursor]
    return {"items": items, "page": page, "page_size": page_size, "total": total}


async def record_statement_request(
    db: AsyncDatabase[Document],
    organisation_id: str,
    customer_id: str,
    statement_id: str,
    period: Document,
    now: Any,
) -> None:
    await db[STATEMENTS].update_one(
        {**_scope(organisation_id, customer_id), "statement_id": statement_id},
        {"$setOnInsert": {"status": "pending", "created_at": now.isoformat(), **period}},
        upsert=True,
    )


async def statement(
    db: AsyncDatabase[Document], organisation_id: str, customer_id: str, statement_id: str
) -> Document | None:
    """The summary, and once ready every line in order (from its parts)."""
    view = await find_one(
        db, STATEMENTS, organisation_id, customer_id, "statement_id", statement_id
    )
    if view is None or view.get("status") != "ready":
        return view
    lines: list[Document] = []
    async for part in (
        db[STATEMENT_PARTS]
        .find({**_scope(organisation_id, customer_id), "statement_id": statement_id}, {"lines": 1})
        .sort("index", ASCENDING)
    ):
        lines.extend(part.get("lines", []))
    return {**view, "lines": lines}


async def statement_pdf(
    db: AsyncDatabase[Document], organisation_id: str, customer_id: str, statement_id: str
) -> bytes | None:
    view = await find_one(
        db, STATEMENTS, organisation_id, customer_id, "statement_id", statement_id
    )
    if view is None or view.get("status") != "ready":
        return None
    chunks = [
        part.get("pdf_base64", "")
        async for part in db[STATEMENT_PARTS]
        .find(
            {**_scope(organisation_id, customer_id), "statement_id": statement_id},
            {"pdf_base64": 1},
        )
        .sort("index", ASCENDING)
    ]
    return base64.b64decode("".join(chunks))


# ---------------------------------------------------------------- commands


def new_id(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:20]}"


def envelope_fields(organisation_id: str, actor: Actor) -> Document:
    return {
        "organisation_id": organisation_id,
        "correlation_id": uuid.uuid4().hex,
        "actor": actor,
    }


async def send_document_command(
    gateway: Gateway,
    command: Envelope,
    *,
    customer_id: str,
    outcomes: tuple[str, ...],
    idempotency_key: str | None = None,
) -> Document:
    """Send a document command to invoicing and wait for its outcome; a refusal becomes the
    HTTP problem invoicing asked for."""
    done = await send_command(
        gateway,
        INVOICING_COMMANDS,
        command,
        customer_id=customer_id,
        outcomes=outcomes,
        idempotency_key=idempotency_key,
    )
    raise_if_rejected(done)
    return done


async def settled(
    command: Document, status_root: str, view: Callable[[], Awaitable[Document | None]]
) -> Response[Document]:
    """200 with the document as it is now, or 202 while invoicing has not answered yet."""
    if command["status"] == "succeeded":
        return Response(await view() or {}, status_code=200)
    return Response(pending_response(command, status_root), status_code=202)


async def customer_or_404(gateway: Gateway, organisation_id: str, customer_id: str) -> Document:
    customer = await CustomerViews(gateway.store.db).get(organisation_id, customer_id)
    if customer is None:
        raise NotFound(f"there is no customer '{customer_id}'")
    return customer


def primary_contact(customer: Document) -> Document | None:
    contacts = [c for c in customer.get("contacts", []) if c.get("email")]
    return next((c for c in contacts if c.get("is_primary")), contacts[0] if contacts else None)


def contact_named(customer: Document, contact_id: str) -> str:
    for contact in customer.get("contacts", []):
        if contact.get("contact_id") == contact_id:
            return f"{contact.get('first_name', '')} {contact.get('last_name', '')}".strip()
    return ""
