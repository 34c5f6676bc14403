"""The customer's sales orders (when the merchant shows them), with the invoice of a
fulfilled order."""

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
        require(prefs.portal.sales_orders, "sales orders")

    class PortalSalesOrdersController(Controller):
        path = "/portal/{slug:str}/api"
        tags = ["portal: sales orders"]
        guards = [portal_guard(gateway)]
        dependencies = PORTAL_DEPENDENCIES
        security = [{"BearerToken": []}]

        @get("/sales-orders")
        async def sales_orders(
            self,
            slug: Slug,
            principal: PortalPrincipal,
            status: Annotated[str | None, Parameter(query="status", max_length=20)] = None,
            sort: Sort = "date",
            order: Order = "desc",
            page: Page = 1,
            page_size: PageSize = 20,
        ) -> dict[str, Any]:
            """Your sales orders, newest first."""
            await allowed(principal)
            return await views.page_of(
                db,
                views.SALES_ORDERS,
                principal.organisation_id,
                principal.customer_id,
                status=status,
                sort=sort,
                order=order,
                page=page,
                page_size=page_size,
            )

        @get("/sales-orders/{sales_order_id:str}")
        async def sales_order(
            self, slug: Slug, sales_order_id: DocumentId, principal: PortalPrincipal
        ) -> dict[str, Any]:
            """One sales order; `invoice` names the invoice once it is fulfilled."""
            await allowed(principal)
            order = await views.find_one(
                db,
                views.SALES_ORDERS,
                principal.organisation_id,
                principal.customer_id,
                "sales_order_id",
                sales_order_id,
            )
            if order is None:
                raise NotFound(f"there is no sales order '{sales_order_id}'")
            return order

    return [PortalSalesOrdersController]
