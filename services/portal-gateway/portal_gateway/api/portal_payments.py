"""Paying in the portal: one invoice, several at once, the whole outstanding amount, or part of
an invoice; payments made and their receipts; saved payment methods.

Every pay request needs an `Idempotency-Key`: a repeated request answers the first result. The
invoicing service decides the payment (at most one pending per invoice, enforced by its
database); the gateway checks the merchant's preferences and that every invoice and method
named belongs to the signed-in customer (404 otherwise) before the command leaves.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Any

from litestar import Controller, Response, delete, get, post, put
from litestar.params import Parameter
from pydantic import BaseModel, ConfigDict, Field

from portal_contracts.envelope import Actor, Envelope
from portal_contracts.invoicing import (
    AddPaymentMethod,
    NewPaymentMethod,
    PayInvoices,
    PaymentMethodChange,
    PaymentMethodRef,
    PaymentRequest,
    RemovePaymentMethod,
    UpdatePaymentMethod,
)
from portal_contracts.topics import INVOICING_COMMANDS
from portal_gateway.adapters.read_models import Commands
from portal_gateway.api.portal_invoices import pdf_response
from portal_gateway.api.schemas import SLUG
from portal_gateway.api.security import PORTAL_DEPENDENCIES, PortalPrincipal, portal_guard
from portal_gateway.domain.preferences import require
from portal_gateway.service_layer import invoice_views as views
from portal_gateway.service_layer.commands import raise_if_rejected, send_command
from portal_gateway.service_layer.context import Gateway
from portal_gateway.service_layer.preferences import preferences_of
from portal_runtime.errors import NotFound, ServiceError

Slug = Annotated[str, Parameter(pattern=SLUG, max_length=63)]
IdempotencyKey = Annotated[
    str | None, Parameter(header="Idempotency-Key", max_length=200, required=False)
]
Status = Annotated[
    str | None, Parameter(query="status", required=False, pattern=r"^(pending|succeeded|failed)$")
]
Sort = Annotated[views.PaymentSort, Parameter(query="sort")]
Since = Annotated[datetime | None, Parameter(query="from", required=False)]
Until = Annotated[datetime | None, Parameter(query="to", required=False)]
Order = Annotated[views.Order, Parameter(query="order")]
Page = Annotated[int, Parameter(query="page", ge=1, le=10_000)]
PageSize = Annotated[int, Parameter(query="page_size", ge=1, le=100)]
Document = dict[str, Any]
PAYMENT_OUTCOMES = ("PaymentSucceeded", "PaymentPending", "PaymentFailed")


class PaymentNotMade(ServiceError):
    """The gateway declined or could not take the payment (the body says why, for customers)."""

    status = 402
    code = "payment_failed"


class IdempotencyKeyRequired(ServiceError):
    status = 400
    code = "idempotency_key_required"


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PaymentBody(_Body):
    invoice_ids: list[str] = Field(default_factory=list, max_length=200)
    all_outstanding: bool = False
    amount_minor: int | None = Field(default=None, gt=0)
    payment_method_id: str | None = Field(default=None, max_length=64)
    token: str | None = Field(default=None, min_length=1, max_length=200)
    save_method: bool | None = Field(
        default=None, description="use for future transactions; default: the merchant's choice"
    )


class MethodBody(_Body):
    token: str = Field(min_length=1, max_length=200)


def payment_answer(command: Document, slug: str) -> Response[Document]:
    """201 paid, 202 pending (bank payment, or no outcome yet), 402 failed with the reason."""
    raise_if_rejected(command)
    if command["status"] == "pending":
        return Response(
            {
                "status": "processing",
                "status_url": f"/portal/{slug}/api/payment-requests/{command['_id']}",
            },
            status_code=202,
        )
    payment: Document = command["result"]
    if command["outcome_type"] == "PaymentFailed":
        failure = payment["failure"]
        raise PaymentNotMade(failure["customer_message"], code=failure["code"])
    return Response(payment, status_code=201 if payment["status"] == "succeeded" else 202)


def controllers(gateway: Gateway) -> list[type[Controller]]:
    db = gateway.store.db

    def envelope(principal: PortalPrincipal) -> Document:
        return {
            "organisation_id": principal.organisation_id,
            "correlation_id": f"req_{uuid.uuid4().hex}",
            "occurred_at": gateway.store.clock.now(),
            "actor": Actor(kind="contact", id=principal.contact_id),
        }

    async def send(
        principal: PortalPrincipal,
        command: Envelope,
        outcomes: tuple[str, ...],
        idempotency_key: str | None,
    ) -> Document:
        return await send_command(
            gateway,
            INVOICING_COMMANDS,
            command,
            customer_id=principal.customer_id,
            outcomes=outcomes,
            # Keys are the customer's own: another customer's key never finds their command.
            idempotency_key=f"{principal.customer_id}:{idempotency_key}"
            if idempotency_key
            else None,
        )

    async def own_method(principal: PortalPrincipal, payment_method_id: str) -> Document:
        found = await views.payment_method(
            db, principal.organisation_id, principal.customer_id, payment_method_id
        )
        if found is None:
            raise NotFound(f"there is no payment method '{payment_method_id}'")
        return found

    class PaymentsController(Controller):
        path = "/portal/{slug:str}/api"
        tags = ["portal: payments"]
        guards = [portal_guard(gateway)]
        dependencies = PORTAL_DEPENDENCIES
        security = [{"BearerToken": []}]

        @post("/payments", status_code=201)
        async def pay(
            self,
            slug: Slug,
            data: PaymentBody,
            principal: PortalPrincipal,
            idempotency_key: IdempotencyKey = None,
        ) -> Response[Document]:
            """Pay invoices now with a saved method or a gateway token."""
            if not idempotency_key:
                raise IdempotencyKeyRequired(
                    "send an Idempotency-Key header with every payment, so a retry never pays twice"
                )
            org, customer = principal.organisation_id, principal.customer_id
            prefs = await preferences_of(gateway, org)
            invoice_ids = tuple(dict.fromkeys(data.invoice_ids))
            if data.all_outstanding or len(invoice_ids) > 1:
                require(prefs.portal.bulk_payments, "paying several invoices at once")
            if not data.all_outstanding and not invoice_ids:
                raise ServiceError("name the invoices to pay", code="no_invoices")
            if data.payment_method_id is None and data.token is None:
                raise ServiceError(
                    "choose a saved payment method or enter a card", code="no_method"
                )
            for invoice_id in invoice_ids:
                found = await views.invoice(db, org, customer, invoice_id)
                if found is None or found["status"] == "draft":
                    raise NotFound(f"there is no invoice '{invoice_id}'")
            if data.payment_method_id is not None:
                await own_method(principal, data.payment_method_id)
            wants_saved = (
                prefs.saving_payment_methods.save_by_default
                if data.save_method is None
                else data.save_method
            )
            save = bool(wants_saved and data.token and prefs.portal.add_payment_methods)
            command = PayInvoices(
                **envelope(principal),
                data=PaymentRequest(
                    customer_id=customer,
                    payment_id=f"pay_{uuid.uuid4().hex[:20]}",
                    invoice_ids=invoice_ids,
                    all_outstanding=data.all_outstanding,
                    amount_minor=data.amount_minor,
                    payment_method_id=data.payment_method_id,
                    token=None if data.payment_method_id else data.token,
                    save_method=save,
                    prevent_duplicates=prefs.portal.prevent_duplicate_payments,
                ),
            )
            done = await send(principal, command, PAYMENT_OUTCOMES, idempotency_key)
            return payment_answer(done, slug)

        @get("/payment-requests/{request_id:str}")
        async def payment_request(
            self, slug: Slug, request_id: str, principal: PortalPrincipal
        ) -> Response[Document]:
            """Where a pay request answered with 202 stands now."""
            command = await Commands(db).get(principal.organisation_id, request_id)
            if command is None or command.get("customer_id") != principal.customer_id:
                raise NotFound(f"there is no payment request '{request_id}'")
            return payment_answer(command, slug)

        @get("/payments")
        async def list_payments(
            self,
            slug: Slug,
            principal: PortalPrincipal,
            status: Status = None,
            since: Since = None,
            until: Until = None,
            sort: Sort = "date",
            order: Order = "desc",
            page: Page = 1,
            page_size: PageSize = 20,
        ) -> Document:
            """Payments made: filter by status and date range, sort by date or amount."""
            return await views.list_payments(
                db,
                principal.organisation_id,
                principal.customer_id,
                status=status,
                since=_aware(since),
                until=_aware(until),
                sort=sort,
                order=order,
                page=page,
                page_size=page_size,
            )

        @get("/payments/{payment_id:str}")
        async def one_payment(
            self, slug: Slug, payment_id: str, principal: PortalPrincipal
        ) -> Document:
            found = await views.payment(
                db, principal.organisation_id, principal.customer_id, payment_id
            )
            if found is None:
                raise NotFound(f"there is no payment '{payment_id}'")
            return found

        @get("/payments/{payment_id:str}/receipt", media_type="application/pdf")
        async def receipt(
            self, slug: Slug, payment_id: str, principal: PortalPrincipal
        ) -> Response[bytes]:
            """The payment's receipt (PDF) with the invoices it paid."""
            document = await views.pdf(
                db, principal.organisation_id, principal.customer_id, "receipt", payment_id
            )
            return pdf_response(document, "payment receipt")

        @get("/payment-methods")
        async def methods(self, slug: Slug, principal: PortalPrincipal) -> Document:
            """Saved cards and bank accounts (brand, last four, expiry; never the number)."""
            prefs = await preferences_of(gateway, principal.organisation_id)
            return {
                "items": await views.payment_methods(
                    db, principal.organisation_id, principal.customer_id
                ),
                "save_by_default": prefs.saving_payment_methods.save_by_default,
                "can_add": prefs.portal.add_payment_methods,
                "can_remove": prefs.payments.remove_payment_method,
            }

        @post("/payment-methods", status_code=201)
        async def add_method(
            self,
            slug: Slug,
            data: MethodBody,
            principal: PortalPrincipal,
            idempotency_key: IdempotencyKey = None,
        ) -> Document:
            """Save a card or bank account (a token from the payment gateway)."""
            prefs = await preferences_of(gateway, principal.organisation_id)
            require(prefs.portal.add_payment_methods, "adding payment methods")
            command = AddPaymentMethod(
                **envelope(principal),
                data=NewPaymentMethod(
                    customer_id=principal.customer_id,
                    payment_method_id=f"pm_{uuid.uuid4().hex[:20]}",
                    token=data.token,
                ),
            )
            done = await send(principal, command, ("PaymentMethodAdded",), idempotency_key)
            return _settled(done)

        @put("/payment-methods/{payment_method_id:str}")
        async def update_method(
            self,
            slug: Slug,
            payment_method_id: str,
            data: MethodBody,
            principal: PortalPrincipal,
            idempotency_key: IdempotencyKey = None,
        ) -> Document:
            """Replace a saved method with a new card or account; subscriptions that
            autocharge with it switch to the new one."""
            prefs = await preferences_of(gateway, principal.organisation_id)
            require(prefs.portal.add_payment_methods, "changing payment methods")
            await own_method(principal, payment_method_id)
            command = UpdatePaymentMethod(
                **envelope(principal),
                data=PaymentMethodChange(
                    customer_id=principal.customer_id,
                    payment_method_id=payment_method_id,
                    new_payment_method_id=f"pm_{uuid.uuid4().hex[:20]}",
                    token=data.token,
                ),
            )
            done = await send(principal, command, ("PaymentMethodReplaced",), idempotency_key)
            return _settled(done)

        @delete("/payment-methods/{payment_method_id:str}", status_code=200)
        async def remove_method(
            self, slug: Slug, payment_method_id: str, principal: PortalPrincipal
        ) -> Document:
            prefs = await preferences_of(gateway, principal.organisation_id)
            require(prefs.payments.remove_payment_method, "removing payment methods")
            await own_method(principal, payment_method_id)
            command = RemovePaymentMethod(
                **envelope(principal),
                data=PaymentMethodRef(
                    customer_id=principal.customer_id, payment_method_id=payment_method_id
                ),
            )
            done = await send(principal, command, ("PaymentMethodRemoved",), None)
            return _settled(done)

    return [PaymentsController]


def _aware(moment: datetime | None) -> datetime | None:
    """A date without a zone is taken as UTC."""
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)


def _settled(command: Document) -> Document:
    raise_if_rejected(command)
    if command["status"] == "pending":
        return {"status": "processing"}
    result: Document = command["result"]
    return result
