"""The customer's quotes in the portal: list, open (marks it viewed), accept, decline with a
reason, comment; and forwarding a quote or an invoice to another person by email."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from litestar import Controller, Response, get, post
from litestar.params import Parameter
from pydantic import BaseModel, ConfigDict, EmailStr, Field

from portal_contracts import documents as d
from portal_contracts.envelope import Actor
from portal_contracts.topics import INVOICING_COMMANDS
from portal_gateway.adapters.read_models import CustomerViews
from portal_gateway.api.schemas import SLUG
from portal_gateway.api.security import PORTAL_DEPENDENCIES, PortalPrincipal, portal_guard
from portal_gateway.domain.preferences import require
from portal_gateway.service_layer import document_views as views
from portal_gateway.service_layer import invoice_views
from portal_gateway.service_layer.commands import sending_lock
from portal_gateway.service_layer.context import Gateway
from portal_gateway.service_layer.preferences import preferences_of
from portal_runtime.errors import NotFound
from portal_runtime.store import Transaction

Slug = Annotated[str, Parameter(pattern=SLUG, max_length=63)]
DocumentId = Annotated[str, Parameter(min_length=1, max_length=64)]
Page = Annotated[int, Parameter(query="page", ge=1, le=10_000)]
PageSize = Annotated[int, Parameter(query="page_size", ge=1, le=100)]
Sort = Annotated[views.DocumentSort, Parameter(query="sort")]
Order = Annotated[views.Order, Parameter(query="order")]
IdempotencyKey = Annotated[
    str | None, Parameter(header="Idempotency-Key", max_length=200, required=False)
]


class Decline(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    reason: str = Field(min_length=1, max_length=1000)


class NewComment(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    text: str = Field(min_length=1, max_length=4000)


class Forward(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    email: EmailStr
    first_name: str = Field(min_length=1, max_length=100)
    last_name: str = Field(default="", max_length=100)


def controllers(gateway: Gateway) -> list[type[Controller]]:
    db = gateway.store.db

    async def quote_of(principal: PortalPrincipal, quote_id: str) -> dict[str, Any]:
        quote = await views.find_one(
            db, views.QUOTES, principal.organisation_id, principal.customer_id, "quote_id", quote_id
        )
        if quote is None or quote.get("status") == "draft":
            raise NotFound(f"there is no quote '{quote_id}'")
        return views.portal_quote(quote)

    def envelope(principal: PortalPrincipal) -> dict[str, Any]:
        actor = Actor(kind="contact", id=principal.contact_id)
        return views.envelope_fields(principal.organisation_id, actor)

    async def forward(
        slug: str,
        principal: PortalPrincipal,
        merchant: dict[str, Any],
        kind: Literal["invoice", "quote"],
        doc_id: str,
        data: Forward,
    ) -> Response[dict[str, Any]]:
        org = principal.organisation_id
        require(
            (await preferences_of(gateway, org)).portal.forward_documents, "forwarding documents"
        )
        customer = await views.customer_or_404(gateway, org, principal.customer_id)
        command = d.ForwardDocument(
            **envelope(principal),
            occurred_at=gateway.store.clock.now(),
            data=d.Forwarding(
                customer_id=principal.customer_id,
                document_kind=kind,
                document_id=doc_id,
                to=d.Recipient(
                    email=data.email, name=f"{data.first_name} {data.last_name}".strip()
                ),
                first_name=data.first_name,
                last_name=data.last_name,
                sender_name=views.contact_named(customer, principal.contact_id),
                merchant_name=str(merchant.get("name", "")),
                language=str(customer.get("portal_language", "en")),
            ),
        )
        done = await views.send_document_command(
            gateway, command, customer_id=principal.customer_id, outcomes=("DocumentForwarded",)
        )

        async def result() -> dict[str, Any]:
            forwarded: dict[str, Any] = done.get("result", {})
            return {"status": "forwarded", **forwarded}

        return await views.settled(done, f"/portal/{slug}/api", result)

    class PortalQuotesController(Controller):
        path = "/portal/{slug:str}/api"
        tags = ["portal: quotes"]
        guards = [portal_guard(gateway)]
        dependencies = PORTAL_DEPENDENCIES
        security = [{"BearerToken": []}]

        @get("/quotes")
        async def quotes(
            self,
            slug: Slug,
            principal: PortalPrincipal,
            status: Annotated[str | None, Parameter(query="status", max_length=20)] = None,
            sort: Sort = "date",
            order: Order = "desc",
            page: Page = 1,
            page_size: PageSize = 20,
        ) -> dict[str, Any]:
            """Your quotes, newest first unless sorted otherwise (optionally of one status)."""
            found = await views.page_of(
                db,
                views.QUOTES,
                principal.organisation_id,
                principal.customer_id,
                status=status,
                sort=sort,
                order=order,
                page=page,
                page_size=page_size,
                hide_drafts=True,
            )
            return {**found, "items": [views.portal_quote(q) for q in found["items"]]}

        @get("/quotes/{quote_id:str}")
        async def quote(
            self, slug: Slug, quote_id: DocumentId, principal: PortalPrincipal
        ) -> dict[str, Any]:
            """One quote with the comments you can see. The first opening marks it viewed."""
            quote = await quote_of(principal, quote_id)
            if quote["status"] == "sent":
                command = d.RecordQuoteView(
                    **envelope(principal),
                    occurred_at=gateway.store.clock.now(),
                    data=d.QuoteRef(quote_id=quote_id, customer_id=principal.customer_id),
                )

                async def tell(tx: Transaction) -> None:
                    await tx.emit(INVOICING_COMMANDS, command)

                # Nobody waits for this one: the view is answered from the read model now.
                async with sending_lock(principal.customer_id):
                    await gateway.store.transaction(tell)
            return quote

        @get("/quotes/{quote_id:str}/pdf", media_type="application/pdf")
        async def quote_pdf(
            self, slug: Slug, quote_id: DocumentId, principal: PortalPrincipal
        ) -> Response[bytes]:
            """The quote as a PDF (drawn by invoicing when it was sent or answered)."""
            await quote_of(principal, quote_id)
            found = await invoice_views.pdf(
                db, principal.organisation_id, principal.customer_id, "quote", quote_id
            )
            if found is None:
                raise NotFound(f"the PDF of quote '{quote_id}' is not ready yet")
            filename, content = found
            return Response(
                content,
                media_type="application/pdf",
                headers={"Content-Disposition": f'attachment; filename="{filename}"'},
            )

        @post("/quotes/{quote_id:str}/accept", status_code=200)
        async def accept(
            self,
            slug: Slug,
            quote_id: DocumentId,
            principal: PortalPrincipal,
            idempotency_key: IdempotencyKey = None,
        ) -> Response[dict[str, Any]]:
            """Accept a quote you received (only while it is sent or viewed; 409 otherwise)."""
            await quote_of(principal, quote_id)
            command = d.AcceptQuote(
                **envelope(principal),
                occurred_at=gateway.store.clock.now(),
                data=d.QuoteAcceptance(
                    quote_id=quote_id,
                    customer_id=principal.customer_id,
                    contact_id=principal.contact_id,
                ),
            )
            done = await views.send_document_command(
                gateway,
                command,
                customer_id=principal.customer_id,
                outcomes=("QuoteAccepted",),
                idempotency_key=idempotency_key,
            )
            return await views.settled(
                done, f"/portal/{slug}/api", lambda: quote_of(principal, quote_id)
            )

        @post("/quotes/{quote_id:str}/decline", status_code=200)
        async def decline(
            self,
            slug: Slug,
            quote_id: DocumentId,
            data: Decline,
            principal: PortalPrincipal,
            idempotency_key: IdempotencyKey = None,
        ) -> Response[dict[str, Any]]:
            """Decline a quote, saying why (only while it is sent or viewed; 409 otherwise)."""
            await quote_of(principal, quote_id)
            command = d.DeclineQuote(
                **envelope(principal),
                occurred_at=gateway.store.clock.now(),
                data=d.QuoteRefusal(
                    quote_id=quote_id,
                    customer_id=principal.customer_id,
                    contact_id=principal.contact_id,
                    reason=data.reason,
                ),
            )
            done = await views.send_document_command(
                gateway,
                command,
                customer_id=principal.customer_id,
                outcomes=("QuoteDeclined",),
                idempotency_key=idempotency_key,
            )
            return await views.settled(
                done, f"/portal/{slug}/api", lambda: quote_of(principal, quote_id)
            )

        @post("/quotes/{quote_id:str}/comments", status_code=201)
        async def comment(
            self, slug: Slug, quote_id: DocumentId, data: NewComment, principal: PortalPrincipal
        ) -> Response[dict[str, Any]]:
            """Comment on a quote; the merchant sees it."""
            await quote_of(principal, quote_id)
            customer = await CustomerViews(db).get(principal.organisation_id, principal.customer_id)
            command = d.CommentOnQuote(
                **envelope(principal),
                occurred_at=gateway.store.clock.now(),
                data=d.NewComment(
                    quote_id=quote_id,
                    customer_id=principal.customer_id,
                    comment_id=views.new_id("qc"),
                    author="contact",
                    author_name=views.contact_named(customer or {}, principal.contact_id),
                    text=data.text,
                    show_in_portal=True,
                ),
            )
            done = await views.send_document_command(
                gateway, command, customer_id=principal.customer_id, outcomes=("QuoteCommentAdded",)
            )
            response = await views.settled(
                done, f"/portal/{slug}/api", lambda: quote_of(principal, quote_id)
            )
            return Response(
                response.content, status_code=201 if response.status_code == 200 else 202
            )

        @post("/quotes/{quote_id:str}/forward", status_code=200)
        async def forward_quote(
            self,
            slug: Slug,
            quote_id: DocumentId,
            data: Forward,
            principal: PortalPrincipal,
            merchant: dict[str, Any],
        ) -> Response[dict[str, Any]]:
            """Email the quote's PDF to another person, who becomes a contact of yours."""
            require(
                (await preferences_of(gateway, principal.organisation_id)).portal.forward_documents,
                "forwarding documents",
            )
            await quote_of(principal, quote_id)
            return await forward(slug, principal, merchant, "quote", quote_id, data)

        @post("/invoices/{invoice_id:str}/forward", status_code=200)
        async def forward_invoice(
            self,
            slug: Slug,
            invoice_id: DocumentId,
            data: Forward,
            principal: PortalPrincipal,
            merchant: dict[str, Any],
        ) -> Response[dict[str, Any]]:
            """Email the invoice's PDF to another person, who becomes a contact of yours
            (invoicing answers 404 for an invoice that is not yours)."""
            return await forward(slug, principal, merchant, "invoice", invoice_id, data)

    return [PortalQuotesController]
