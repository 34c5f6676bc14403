"""The customer's invoices in the portal: list, open (the first view is recorded), PDF, and the
invoices of one subscription. Every read is scoped to the signed-in contact's organisation AND
customer: another customer's invoice is a 404."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from litestar import Controller, Response, get
from litestar.params import Parameter

from portal_contracts.envelope import Actor
from portal_contracts.invoicing import InvoiceView, MarkInvoiceViewed
from portal_contracts.topics import INVOICING_COMMANDS
from portal_gateway.api.schemas import SLUG
from portal_gateway.api.security import PORTAL_DEPENDENCIES, PortalPrincipal, portal_guard
from portal_gateway.service_layer import invoice_views as views
from portal_gateway.service_layer.commands import sending_lock
from portal_gateway.service_layer.context import Gateway
from portal_gateway.service_layer.subscription_views import subscription
from portal_runtime.errors import NotFound
from portal_runtime.store import Transaction

Slug = Annotated[str, Parameter(pattern=SLUG, max_length=63)]
Status = Annotated[
    str | None,
    Parameter(
        query="status",
        required=False,
        pattern=r"^(sent|viewed|partially_paid|paid|overdue|void)$",
    ),
]
Sort = Annotated[views.InvoiceSort, Parameter(query="sort")]
Order = Annotated[views.Order, Parameter(query="order")]
Page = Annotated[int, Parameter(query="page", ge=1, le=10_000)]
PageSize = Annotated[int, Parameter(query="page_size", ge=1, le=100)]
Document = dict[str, Any]


def pdf_response(found: tuple[str, bytes] | None, what: str) -> Response[bytes]:
    if found is None:
        raise NotFound(f"the PDF of this {what} is not ready yet; try again in a moment")
    filename, content = found
    return Response(
        content,
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="{filename}"'},
    )


def controllers(gateway: Gateway) -> list[type[Controller]]:
    db = gateway.store.db

    async def record_first_view(principal: PortalPrincipal, invoice_id: str) -> None:
        """Tell invoicing once that the customer opened the invoice (it records InvoiceViewed)."""

        async def work(tx: Transaction) -> None:
            org, customer = principal.organisation_id, principal.customer_id
            if not await views.claim_first_view(tx, org, customer, invoice_id):
                return
            await tx.emit(
                INVOICING_COMMANDS,
                MarkInvoiceViewed(
                    organisation_id=org,
                    correlation_id=f"view_{uuid.uuid4().hex}",
                    occurred_at=gateway.store.clock.now(),
                    actor=Actor(kind="contact", id=principal.contact_id),
                    data=InvoiceView(
                        customer_id=customer, invoice_id=invoice_id, contact_id=principal.contact_id
                    ),
                ),
            )

        async with sending_lock(principal.customer_id):
            await gateway.store.transaction(work)

    class InvoicesController(Controller):
        path = "/portal/{slug:str}/api"
        tags = ["portal: invoices"]
        guards = [portal_guard(gateway)]
        dependencies = PORTAL_DEPENDENCIES
        security = [{"BearerToken": []}]

        @get("/invoices")
        async def list_invoices(
            self,
            slug: Slug,
            principal: PortalPrincipal,
            status: Status = None,
            sort: Sort = "date",
            order: Order = "desc",
            page: Page = 1,
            page_size: PageSize = 20,
        ) -> Document:
            """The customer's invoices: filter by status, sort by date, amount or due date."""
            return await views.list_invoices(
                db,
                principal.organisation_id,
                principal.customer_id,
                status=status,
                sort=sort,
                order=order,
                page=page,
                page_size=page_size,
            )

        @get("/invoices/{invoice_id:str}")
        async def open_invoice(
            self, slug: Slug, invoice_id: str, principal: PortalPrincipal
        ) -> Document:
            """One invoice; the first time the customer opens it, it is marked viewed."""
            found = await views.invoice(
                db, principal.organisation_id, principal.customer_id, invoice_id
            )
            if found is None or found["status"] == "draft":
                raise NotFound(f"there is no invoice '{invoice_id}'")
            if found.get("viewed_at") is None:
                await record_first_view(principal, invoice_id)
            return found

        @get("/invoices/{invoice_id:str}/pdf", media_type="application/pdf")
        async def invoice_pdf(
            self, slug: Slug, invoice_id: str, principal: PortalPrincipal
        ) -> Response[bytes]:
            """The invoice as a printable PDF."""
            found = await views.invoice(
                db, principal.organisation_id, principal.customer_id, invoice_id
            )
            if found is None or found["status"] == "draft":
                raise NotFound(f"there is no invoice '{invoice_id}'")
            document = await views.pdf(
                db, principal.organisation_id, principal.customer_id, "invoice", invoice_id
            )
            return pdf_response(document, "invoice")

        @get("/subscriptions/{subscription_id:str}/invoices")
        async def invoices_of_subscription(
            self,
            slug: Slug,
            subscription_id: str,
            principal: PortalPrincipal,
            page: Page = 1,
            page_size: PageSize = 20,
        ) -> Document:
            """The invoices raised for one of the customer's subscriptions."""
            org, customer = principal.organisation_id, principal.customer_id
            if await subscription(gateway, org, subscription_id, customer) is None:
                raise NotFound(f"there is no subscription '{subscription_id}'")
            return await views.list_invoices(
                db,
                principal.organisation_id,
                principal.customer_id,
                subscription_id=subscription_id,
                page=page,
                page_size=page_size,
            )

    return [InvoicesController]
