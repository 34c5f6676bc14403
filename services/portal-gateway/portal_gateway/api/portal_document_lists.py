"""Portal documents that the customer only reads, each behind its own preference: credit notes
(what each was applied to and what was refunded) and sales orders (with the invoice of a
fulfilled order). One list and one single-document route per kind."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

from litestar import Controller, Request, get
from litestar.params import Parameter

from portal_gateway.api.schemas import SLUG
from portal_gateway.api.security import PORTAL_DEPENDENCIES, PortalPrincipal, portal_guard
from portal_gateway.domain.preferences import Preferences, require
from portal_gateway.service_layer import document_views as views
from portal_gateway.service_layer.context import Gateway
from portal_gateway.service_layer.preferences import preferences_of
from portal_runtime.errors import NotFound

Slug = Annotated[str, Parameter(pattern=SLUG, max_length=63)]
Page = Annotated[int, Parameter(query="page", ge=1, le=10_000)]
PageSize = Annotated[int, Parameter(query="page_size", ge=1, le=100)]
Sort = Annotated[views.DocumentSort, Parameter(query="sort")]
Order = Annotated[views.Order, Parameter(query="order")]
Status = Annotated[str | None, Parameter(query="status", max_length=20)]
MAX_ID_LENGTH = 64


@dataclass(frozen=True)
class ReadOnlyDocuments:
    """One kind of document: where it is served, kept and which preference shows it."""

    path: str  # "credit-notes"
    id_field: str  # "credit_note_id", also the path parameter
    collection: str
    noun: str  # "credit note"
    shown: Callable[[Preferences], bool]
    list_description: str
    one_description: str


KINDS = (
    ReadOnlyDocuments(
        path="credit-notes",
        id_field="credit_note_id",
        collection=views.CREDIT_NOTES,
        noun="credit note",
        shown=lambda prefs: prefs.portal.credit_notes,
        list_description="Your credit notes, newest first, with the credit still available "
        "on each.",
        one_description="One credit note: its lines, the invoices it was applied to, its refunds.",
    ),
    ReadOnlyDocuments(
        path="sales-orders",
        id_field="sales_order_id",
        collection=views.SALES_ORDERS,
        noun="sales order",
        shown=lambda prefs: prefs.portal.sales_orders,
        list_description="Your sales orders, newest first.",
        one_description="One sales order; `invoice` names the invoice once it is fulfilled.",
    ),
)


def controllers(gateway: Gateway) -> list[type[Controller]]:
    return [_controller(gateway, kind) for kind in KINDS]


def _controller(gateway: Gateway, kind: ReadOnlyDocuments) -> type[Controller]:
    db = gateway.store.db
    plural = f"{kind.noun}s"

    async def allowed(principal: PortalPrincipal) -> None:
        prefs = await preferences_of(gateway, principal.organisation_id)
        require(kind.shown(prefs), plural)

    class ReadOnlyDocumentsController(Controller):
        path = "/portal/{slug:str}/api"
        tags = [f"portal: {plural}"]
        guards = [portal_guard(gateway)]
        dependencies = PORTAL_DEPENDENCIES
        security = [{"BearerToken": []}]

        @get(f"/{kind.path}", description=kind.list_description)
        async def documents(
            self,
            slug: Slug,
            principal: PortalPrincipal,
            status: Status = None,
            sort: Sort = "date",
            order: Order = "desc",
            page: Page = 1,
            page_size: PageSize = 20,
        ) -> dict[str, Any]:
            await allowed(principal)
            return await views.page_of(
                db,
                kind.collection,
                principal.organisation_id,
                principal.customer_id,
                status=status,
                sort=sort,
                order=order,
                page=page,
                page_size=page_size,
            )

        @get(f"/{kind.path}/{{{kind.id_field}:str}}", description=kind.one_description)
        async def document(
            self, slug: Slug, principal: PortalPrincipal, request: Request[Any, Any, Any]
        ) -> dict[str, Any]:
            await allowed(principal)
            document_id = str(request.path_params[kind.id_field])
            found = (
                await views.find_one(
                    db,
                    kind.collection,
                    principal.organisation_id,
                    principal.customer_id,
                    kind.id_field,
                    document_id,
                )
                if 0 < len(document_id) <= MAX_ID_LENGTH
                else None
            )
            if found is None:
                raise NotFound(f"there is no {kind.noun} '{document_id[:MAX_ID_LENGTH]}'")
            return found

    ReadOnlyDocumentsController.__name__ = f"Portal{kind.path.title().replace('-', '')}Controller"
    return ReadOnlyDocumentsController
