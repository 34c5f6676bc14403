"""The merchant's invoicing API: set-up (default tax, payment terms, gateway), raising, sending
and voiding invoices, a customer's invoices and payments, charges that could not be invoiced,
and (sandbox) settling or failing a pending bank payment."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

from litestar import Controller, Response, get, post, put
from litestar.params import Parameter
from pydantic import BaseModel, ConfigDict, Field

from portal_contracts.envelope import Actor, Envelope
from portal_contracts.invoicing import (
    BankPaymentResolution,
    ConfigureInvoicing,
    CreateInvoice,
    InvoiceLine,
    InvoiceRef,
    InvoicingSetup,
    NewInvoice,
    ResolveBankPayment,
    SendInvoice,
    VoidInvoice,
)
from portal_contracts.topics import INVOICING_COMMANDS
from portal_gateway.adapters.read_models import CustomerViews
from portal_gateway.api.merchant_auth import ADMIN_DEPENDENCIES, Merchant, merchant_guard
from portal_gateway.service_layer import invoice_views as views
from portal_gateway.service_layer.commands import (
    pending_response,
    raise_if_rejected,
    send_command,
)
from portal_gateway.service_layer.context import Gateway
from portal_runtime.errors import NotFound
from portal_runtime.store import Transaction

Document = dict[str, Any]
IdempotencyKey = Annotated[
    str | None, Parameter(header="Idempotency-Key", max_length=200, required=False)
]


class LineBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    description: str = Field(min_length=1, max_length=300)
    quantity: int = Field(default=1, ge=1, le=1_000_000)
    unit_amount_minor: int = Field(ge=0)


class InvoiceBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    lines: list[LineBody] = Field(min_length=1, max_length=200)
    currency: str | None = Field(default=None, pattern=r"^[A-Z]{3}$")
    discount_minor: int = Field(default=0, ge=0)
    due_in_days: int | None = Field(default=None, ge=0, le=365)
    allow_partial_payments: bool = False
    as_draft: bool = False
    subscription_id: str | None = Field(default=None, max_length=64)


def controller(gateway: Gateway) -> type[Controller]:
    db = gateway.store.db

    def envelope(merchant: Merchant) -> Document:
        org = str(merchant["_id"])
        return {
            "organisation_id": org,
            "correlation_id": f"req_{uuid.uuid4().hex}",
            "occurred_at": gateway.store.clock.now(),
            "actor": Actor(kind="merchant", id=org),
        }

    async def answer(
        command: Envelope, customer_id: str, outcomes: tuple[str, ...], key: str | None
    ) -> Response[Document]:
        done = await send_command(
            gateway,
            INVOICING_COMMANDS,
            command,
            customer_id=customer_id,
            outcomes=outcomes,
            idempotency_key=key,
        )
        raise_if_rejected(done)
        if done["status"] == "pending":
            return Response(pending_response(done, "/admin/v1"), status_code=202)
        return Response(done["result"], status_code=200)

    async def merchant_invoice(merchant: Merchant, invoice_id: str) -> Document:
        found = await views.invoice_of_merchant(db, str(merchant["_id"]), invoice_id)
        if found is None:
            raise NotFound(f"there is no invoice '{invoice_id}'")
        return found

    async def merchant_customer(merchant: Merchant, customer_id: str) -> None:
        """404 for a customer of another merchant (or none), rather than an empty list."""
        if await CustomerViews(db).get(str(merchant["_id"]), customer_id) is None:
            raise NotFound(f"there is no customer '{customer_id}'")

    class AdminInvoicesController(Controller):
        path = "/admin/v1"
        tags = ["admin: invoicing"]
        guards = [merchant_guard(gateway)]
        dependencies = ADMIN_DEPENDENCIES
        security = [{"ApiKey": []}]

        @put("/invoicing/setup")
        async def configure(self, data: InvoicingSetup, merchant: Merchant) -> Response[Document]:
            """The default tax (required to raise invoices, CP2001), payment terms and how the
            payment gateway account is configured."""
            command = ConfigureInvoicing(**envelope(merchant), data=data)
            return await answer(command, str(merchant["_id"]), ("InvoicingConfigured",), None)

        @get("/invoicing/setup")
        async def current_setup(self, merchant: Merchant) -> Document:
            return await views.setup(db, str(merchant["_id"]))

        @get("/invoicing/failures")
        async def failures(self, merchant: Merchant) -> Document:
            """Charges that could not become invoices, with the code and what to do."""
            return {"items": await views.failures(db, str(merchant["_id"]))}

        @post("/customers/{customer_id:str}/invoices", status_code=201)
        async def create_invoice(
            self,
            customer_id: str,
            data: InvoiceBody,
            merchant: Merchant,
            idempotency_key: IdempotencyKey = None,
        ) -> Response[Document]:
            """Raise an invoice (taxed with the merchant's default tax)."""
            org = str(merchant["_id"])
            customer = await CustomerViews(db).get(org, customer_id)
            if customer is None:
                raise NotFound(f"there is no customer '{customer_id}'")
            command = CreateInvoice(
                **envelope(merchant),
                data=NewInvoice(
                    customer_id=customer_id,
                    invoice_id=f"inv_{uuid.uuid4().hex[:20]}",
                    currency=data.currency or str(customer.get("currency", "USD")),
                    lines=tuple(
                        InvoiceLine(
                            description=line.description,
                            quantity=line.quantity,
                            unit_amount_minor=line.unit_amount_minor,
                            amount_minor=line.quantity * line.unit_amount_minor,
                        )
                        for line in data.lines
                    ),
                    discount_minor=data.discount_minor,
                    due_in_days=data.due_in_days,
                    allow_partial_payments=data.allow_partial_payments,
                    as_draft=data.as_draft,
                    subscription_id=data.subscription_id,
                ),
            )
            response = await answer(command, customer_id, ("InvoiceIssued",), idempotency_key)
            if response.status_code == 200:
                response.status_code = 201
            return response

        @get("/customers/{customer_id:str}/invoices")
        async def customer_invoices(
            self,
            customer_id: str,
            merchant: Merchant,
            status: Annotated[str | None, Parameter(max_length=40)] = None,
            page: Annotated[int, Parameter(ge=1, le=10_000)] = 1,
        ) -> Document:
            await merchant_customer(merchant, customer_id)
            return await views.list_invoices(
                db, str(merchant["_id"]), customer_id, status=status, page=page, include_drafts=True
            )

        @get("/customers/{customer_id:str}/payments")
        async def customer_payments(self, customer_id: str, merchant: Merchant) -> Document:
            await merchant_customer(merchant, customer_id)
            return await views.list_payments(db, str(merchant["_id"]), customer_id)

        @get("/invoices/{invoice_id:str}")
        async def one_invoice(self, invoice_id: str, merchant: Merchant) -> Document:
            return await merchant_invoice(merchant, invoice_id)

        @post("/invoices/{invoice_id:str}/{action:str}", status_code=200)
        async def change_invoice(
            self, invoice_id: str, action: Literal["send", "void"], merchant: Merchant
        ) -> Response[Document]:
            """Send a draft, or void an unpaid invoice."""
            found = await merchant_invoice(merchant, invoice_id)
            ref = InvoiceRef(customer_id=found["customer_id"], invoice_id=invoice_id)
            command: Envelope = (
                SendInvoice(**envelope(merchant), data=ref)
                if action == "send"
                else VoidInvoice(**envelope(merchant), data=ref)
            )
            return await answer(command, found["customer_id"], ("InvoiceUpdated",), None)

        @post("/sandbox/payments/{payment_id:str}/{outcome:str}", status_code=202)
        async def resolve_bank_payment(
            self, payment_id: str, outcome: Literal["settled", "failed"], merchant: Merchant
        ) -> Document:
            """Sandbox gateway only: a pending bank payment settles or fails now."""
            org = str(merchant["_id"])
            found = await db[views.PAYMENTS].find_one(
                {"organisation_id": org, "payment_id": payment_id}
            )
            if found is None:
                raise NotFound(f"there is no payment '{payment_id}'")
            command = ResolveBankPayment(
                **envelope(merchant),
                data=BankPaymentResolution(
                    customer_id=found["customer_id"], payment_id=payment_id, outcome=outcome
                ),
            )

            async def work(tx: Transaction) -> None:
                await tx.emit(INVOICING_COMMANDS, command)

            await gateway.store.transaction(work)
            return {"status": "requested"}

    return AdminInvoicesController
