"""The customer's credit notes (when the merchant shows them): what each was applied to and
what was refunded."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, get
from litestar.params import Parameter

from portal_gateway.api.schemas import SLUG
from portal_gateway.api.security import PORTAL_DEPENDENCIES, PortalPrincipal, portal_guard
from portal_gateway.domain.preferences import require
from portal_gateway.service_layer import document_views as views
from portal_gateway.service_layer.context import Gateway
from portal_gateway.service_layer.preferences import preferences_of
from portal_runtime.errors import NotFound

Slug = Annotated[str, Parameter(pattern=SLUG, max_length=63)]
DocumentId = Annotated[str, Parameter(min_length=1, max_length=64)]
Page = Annotated[int, Parameter(query="page", ge=1, le=10_000)]
PageSize = Annotated[int, Parameter(query="page_size", ge=1, le=100)]
Sort = Annotated[views.DocumentSort, Parameter(query="sort")]
Order = Annotated[views.Order, Parameter(query="order")]


def controllers(gateway: Gateway) -> list[type[Controller]]:
    db = gateway.store.db

    async def allowed(principal: PortalPrincipal) -> None:
        prefs = await preferences_of(gateway, principal.organisation_id)
        require(prefs.portal.credit_notes, "credit notes")

    class PortalCreditsController(Controller):
        path = "/portal/{slug:str}/api"
        tags = ["portal: credit notes"]
        guards = [portal_guard(gateway)]
        dependencies = PORTAL_DEPENDENCIES
        security = [{"BearerToken": []}]

        @get("/credit-notes")
        async def credit_notes(
            self,
            slug: Slug,
            principal: PortalPrincipal,
            status: Annotated[str | None, Parameter(query="status", max_length=20)] = None,
            sort: Sort = "date",
            order: Order = "desc",
            page: Page = 1,
            page_size: PageSize = 20,
        ) -> dict[str, Any]:
            """Your credit notes, newest first, with the credit still available on each."""
            await allowed(principal)
            return await views.page_of(
                db,
                views.CREDIT_NOTES,
                principal.organisation_id,
                principal.customer_id,
                status=status,
                sort=sort,
                order=order,
                page=page,
                page_size=page_size,
            )

        @get("/credit-notes/{credit_note_id:str}")
        async def credit_note(
            self, slug: Slug, credit_note_id: DocumentId, principal: PortalPrincipal
        ) -> dict[str, Any]:
            """One credit note: its lines, the invoices it was applied to, its refunds."""
            await allowed(principal)
            note = await views.find_one(
                db,
                views.CREDIT_NOTES,
                principal.organisation_id,
                principal.customer_id,
                "credit_note_id",
                credit_note_id,
            )
            if note is None:
                raise NotFound(f"there is no credit note '{credit_note_id}'")
            return note

    return [PortalCreditsController]
