"""The merchant's documents (admin API, X-API-Key): quotes and their comments, sales orders,
credit notes (applied to invoices or refunded) and statements of account."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from litestar import Controller, Response, get, post
from litestar.params import Parameter
from pydantic import BaseModel, ConfigDict, Field

from portal_contracts import documents as d
from portal_contracts.envelope import Actor
from portal_gateway.api.merchant_auth import ADMIN_DEPENDENCIES, Merchant, merchant_guard
from portal_gateway.api.portal_statements import Period, request_statement
from portal_gateway.service_layer import document_views as views
from portal_gateway.service_layer.context import Gateway
from portal_gateway.service_layer.preferences import preferences_of
from portal_runtime.errors import NotFound

DocumentId = Annotated[str, Parameter(min_length=1, max_length=64)]
IdempotencyKey = Annotated[
    str | None, Parameter(header="Idempotency-Key", max_length=200, required=False)
]
ROOT = "/admin/v1"


class _Body(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class PricedDocument(_Body):
    customer_id: str = Field(min_length=1, max_length=64)
    lines: tuple[d.DocumentLine, ...] = Field(min_length=1, max_length=200)
    currency: str | None = Field(default=None, pattern=r"^[A-Z]{3}$")


class QuoteDraft(PricedDocument):
    expires_on: dt.date | None = None
    notes: str = Field(default="", max_length=2000)
    send: bool = True


class MerchantComment(_Body):
    text: str = Field(min_length=1, max_length=4000)
    show_in_portal: bool = False


class SalesOrderDraft(PricedDocument):
    quote_id: str | None = Field(default=None, max_length=64)
    reference: str = Field(default="", max_length=200)


class FulfilmentBody(_Body):
    invoice_id: str = Field(min_length=1, max_length=64)
    invoice_number: str = Field(min_length=1, max_length=64)


class CreditNoteDraft(PricedDocument):
    reason: str = Field(default="", max_length=500)
    invoice_id: str | None = Field(default=None, max_length=64)


class ApplicationBody(_Body):
    invoice_id: str = Field(min_length=1, max_length=64)
    amount_minor: int = Field(gt=0)


class RefundBody(_Body):
    amount_minor: int = Field(gt=0)
    reference: str = Field(default="", max_length=200)


class StatementBody(Period):
    customer_id: str = Field(min_length=1, max_length=64)


def controller(gateway: Gateway) -> type[Controller]:
    db = gateway.store.db

    def envelope(merchant: Merchant) -> dict[str, Any]:
        return views.envelope_fields(
            str(merchant["_id"]), Actor(kind="merchant", id=str(merchant["_id"]))
        )

    def currency(merchant: Merchant, customer: dict[str, Any], asked: str | None) -> str:
        return asked or str(customer.get("currency") or merchant.get("currency") or "USD")

    async def document(
        merchant: Merchant, collection: str, key: str, doc_id: str
    ) -> dict[str, Any]:
        found = await views.find_one(db, collection, str(merchant["_id"]), None, key, doc_id)
        if found is None:
            raise NotFound(f"there is no {key.removesuffix('_id').replace('_', ' ')} '{doc_id}'")
        return found

    def reread(merchant: Merchant, collection: str, key: str, doc_id: str) -> Any:
        return lambda: views.find_one(db, collection, str(merchant["_id"]), None, key, doc_id)

    async def send(
        command: Any,
        customer_id: str,
        outcome: str,
        merchant: Merchant,
        collection: str,
        key: str,
        doc_id: str,
        idempotency_key: str | None = None,
        created: bool = False,
    ) -> Response[dict[str, Any]]:
        done = await views.send_document_command(
            gateway,
            command,
            customer_id=customer_id,
            outcomes=(outcome,),
            idempotency_key=idempotency_key,
        )
        response = await views.settled(done, ROOT, reread(merchant, collection, key, doc_id))
        if created and response.status_code == 200:
            return Response(response.content, status_code=201)
        return response

    class AdminDocumentsController(Controller):
        path = ROOT
        tags = ["admin: documents"]
        guards = [merchant_guard(gateway)]
        dependencies = ADMIN_DEPENDENCIES
        security = [{"ApiKey": []}]

        # ------------------------------------------------------------ quotes

        @post("/quotes", status_code=201)
        async def create_quote(
            self, data: QuoteDraft, merchant: Merchant, idempotency_key: IdempotencyKey = None
        ) -> Response[dict[str, Any]]:
            """Create a quote for a customer; sent at once unless `send` is false."""
            customer = await views.customer_or_404(gateway, str(merchant["_id"]), data.customer_id)
            quote_id = views.new_id("qt")
            command = d.CreateQuote(
                **envelope(merchant),
                occurred_at=gateway.store.clock.now(),
                data=d.NewQuote(
                    quote_id=quote_id,
                    customer_id=data.customer_id,
                    currency=currency(merchant, customer, data.currency),
                    lines=data.lines,
                    expires_on=data.expires_on,
                    notes=data.notes,
                    send=data.send,
                ),
            )
            outcome = "QuoteSent" if data.send else "QuoteCreated"
            return await send(
                command,
                data.customer_id,
                outcome,
                merchant,
                views.QUOTES,
                "quote_id",
                quote_id,
                idempotency_key,
                created=True,
            )

        @get("/quotes")
        async def quotes(self, customer_id: str, merchant: Merchant) -> list[dict[str, Any]]:
            """A customer's quotes (drafts too), newest first."""
            return await views.quotes_of(db, str(merchant["_id"]), customer_id, include_drafts=True)

        @get("/quotes/{quote_id:str}")
        async def quote(self, quote_id: DocumentId, merchant: Merchant) -> dict[str, Any]:
            """One quote with every comment (`show_in_portal` says which the customer sees)."""
            return await document(merchant, views.QUOTES, "quote_id", quote_id)

        @post("/quotes/{quote_id:str}/send", status_code=200)
        async def send_quote(
            self, quote_id: DocumentId, merchant: Merchant
        ) -> Response[dict[str, Any]]:
            """Send a draft quote to the customer."""
            quote = await document(merchant, views.QUOTES, "quote_id", quote_id)
            command = d.SendQuote(
                **envelope(merchant),
                occurred_at=gateway.store.clock.now(),
                data=d.QuoteRef(quote_id=quote_id, customer_id=quote["customer_id"]),
            )
            return await send(
                command,
                quote["customer_id"],
                "QuoteSent",
                merchant,
                views.QUOTES,
                "quote_id",
                quote_id,
            )

        @post("/quotes/{quote_id:str}/comments", status_code=201)
        async def comment(
            self, quote_id: DocumentId, data: MerchantComment, merchant: Merchant
        ) -> Response[dict[str, Any]]:
            """Comment on a quote. The customer sees it only with `show_in_portal`, and is
            emailed about it when the merchant's preference says so."""
            org = str(merchant["_id"])
            quote = await document(merchant, views.QUOTES, "quote_id", quote_id)
            customer = await views.customer_or_404(gateway, org, quote["customer_id"])
            notify: d.Recipient | None = None
            prefs = await preferences_of(gateway, org)
            contact = views.primary_contact(customer)
            if data.show_in_portal and prefs.portal.email_customers_on_comments and contact:
                notify = d.Recipient(
                    email=contact["email"],
                    name=f"{contact.get('first_name', '')} {contact.get('last_name', '')}".strip(),
                    contact_id=contact.get("contact_id"),
                )
            command = d.CommentOnQuote(
                **envelope(merchant),
                occurred_at=gateway.store.clock.now(),
                data=d.NewComment(
                    quote_id=quote_id,
                    customer_id=quote["customer_id"],
                    comment_id=views.new_id("qc"),
                    author="merchant",
                    author_name=str(merchant.get("name", "")),
                    text=data.text,
                    show_in_portal=data.show_in_portal,
                    notify=notify,
                    merchant_name=str(merchant.get("name", "")),
                    language=str(customer.get("portal_language", "en")),
                ),
            )
            return await send(
                command,
                quote["customer_id"],
                "QuoteCommentAdded",
                merchant,
                views.QUOTES,
                "quote_id",
                quote_id,
                created=True,
            )

        # ------------------------------------------------------------ sales orders

        @post("/sales-orders", status_code=201)
        async def create_sales_order(
            self, data: SalesOrderDraft, merchant: Merchant, idempotency_key: IdempotencyKey = None
        ) -> Response[dict[str, Any]]:
            """Confirm a sales order for a customer."""
            customer = await views.customer_or_404(gateway, str(merchant["_id"]), data.customer_id)
            order_id = views.new_id("so")
            command = d.CreateSalesOrder(
                **envelope(merchant),
                occurred_at=gateway.store.clock.now(),
                data=d.NewSalesOrder(
                    sales_order_id=order_id,
                    customer_id=data.customer_id,
                    currency=currency(merchant, customer, data.currency),
                    lines=data.lines,
                    quote_id=data.quote_id,
                    reference=data.reference,
                ),
            )
            return await send(
                command,
                data.customer_id,
                "SalesOrderCreated",
                merchant,
                views.SALES_ORDERS,
                "sales_order_id",
                order_id,
                idempotency_key,
                created=True,
            )

        @get("/sales-orders/{sales_order_id:str}")
        async def sales_order(
            self, sales_order_id: DocumentId, merchant: Merchant
        ) -> dict[str, Any]:
            return await document(merchant, views.SALES_ORDERS, "sales_order_id", sales_order_id)

        @post("/sales-orders/{sales_order_id:str}/fulfil", status_code=200)
        async def fulfil(
            self, sales_order_id: DocumentId, data: FulfilmentBody, merchant: Merchant
        ) -> Response[dict[str, Any]]:
            """The order was delivered and invoiced: link its invoice."""
            order = await document(merchant, views.SALES_ORDERS, "sales_order_id", sales_order_id)
            command = d.FulfilSalesOrder(
                **envelope(merchant),
                occurred_at=gateway.store.clock.now(),
                data=d.Fulfilment(
                    sales_order_id=sales_order_id,
                    customer_id=order["customer_id"],
                    invoice_id=data.invoice_id,
                    invoice_number=data.invoice_number,
                ),
            )
            return await send(
                command,
                order["customer_id"],
                "SalesOrderFulfilled",
                merchant,
                views.SALES_ORDERS,
                "sales_order_id",
                sales_order_id,
            )

        # ------------------------------------------------------------ credit notes

        @post("/credit-notes", status_code=201)
        async def issue_credit_note(
            self, data: CreditNoteDraft, merchant: Merchant, idempotency_key: IdempotencyKey = None
        ) -> Response[dict[str, Any]]:
            """Issue a credit note to a customer (numbered per merchant)."""
            customer = await views.customer_or_404(gateway, str(merchant["_id"]), data.customer_id)
            note_id = views.new_id("cn")
            command = d.IssueCreditNote(
                **envelope(merchant),
                occurred_at=gateway.store.clock.now(),
                data=d.NewCreditNote(
                    credit_note_id=note_id,
                    customer_id=data.customer_id,
                    currency=currency(merchant, customer, data.currency),
                    lines=data.lines,
                    reason=data.reason,
                    invoice_id=data.invoice_id,
                ),
            )
            return await send(
                command,
                data.customer_id,
                "CreditNoteIssued",
                merchant,
                views.CREDIT_NOTES,
                "credit_note_id",
                note_id,
                idempotency_key,
                created=True,
            )

        @get("/credit-notes/{credit_note_id:str}")
        async def credit_note(
            self, credit_note_id: DocumentId, merchant: Merchant
        ) -> dict[str, Any]:
            return await document(merchant, views.CREDIT_NOTES, "credit_note_id", credit_note_id)

        @post("/credit-notes/{credit_note_id:str}/applications", status_code=200)
        async def apply(
            self,
            credit_note_id: DocumentId,
            data: ApplicationBody,
            merchant: Merchant,
            idempotency_key: IdempotencyKey = None,
        ) -> Response[dict[str, Any]]:
            """Apply available credit to one of the customer's open invoices."""
            note = await document(merchant, views.CREDIT_NOTES, "credit_note_id", credit_note_id)
            command = d.ApplyCredit(
                **envelope(merchant),
                occurred_at=gateway.store.clock.now(),
                data=d.CreditApplication(
                    credit_note_id=credit_note_id,
                    customer_id=note["customer_id"],
                    invoice_id=data.invoice_id,
                    amount_minor=data.amount_minor,
                ),
            )
            return await send(
                command,
                note["customer_id"],
                "CreditApplied",
                merchant,
                views.CREDIT_NOTES,
                "credit_note_id",
                credit_note_id,
                idempotency_key,
            )

        @post("/credit-notes/{credit_note_id:str}/refunds", status_code=200)
        async def refund(
            self,
            credit_note_id: DocumentId,
            data: RefundBody,
            merchant: Merchant,
            idempotency_key: IdempotencyKey = None,
        ) -> Response[dict[str, Any]]:
            """Refund available credit to the customer."""
            note = await document(merchant, views.CREDIT_NOTES, "credit_note_id", credit_note_id)
            command = d.RefundCredit(
                **envelope(merchant),
                occurred_at=gateway.store.clock.now(),
                data=d.CreditRefund(
                    credit_note_id=credit_note_id,
                    customer_id=note["customer_id"],
                    refund_id=views.new_id("rf"),
                    amount_minor=data.amount_minor,
                    reference=data.reference,
                ),
            )
            return await send(
                command,
                note["customer_id"],
                "CreditRefunded",
                merchant,
                views.CREDIT_NOTES,
                "credit_note_id",
                credit_note_id,
                idempotency_key,
            )

        # ------------------------------------------------------------ statements

        @post("/statements", status_code=201)
        async def statement(
            self, data: StatementBody, merchant: Merchant
        ) -> Response[dict[str, Any]]:
            """A customer's statement of account for a date range (JSON; the PDF is served to
            the customer in the portal)."""
            org = str(merchant["_id"])
            await views.customer_or_404(gateway, org, data.customer_id)
            period = Period(period_start=data.period_start, period_end=data.period_end)
            return await request_statement(
                gateway,
                org,
                data.customer_id,
                Actor(kind="merchant", id=org),
                period,
                str(merchant.get("name", "")),
                ROOT,
            )

    return AdminDocumentsController
