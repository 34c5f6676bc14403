"""The merchant's catalogue and its customers' subscriptions (admin API, X-API-Key).

The merchant may take every action a customer can, without the portal preferences (the
subscriptions service still applies its status and autocharge rules)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from litestar import Controller, Response, get, post
from litestar.params import Parameter
from pydantic import BaseModel, ConfigDict, Field

from portal_contracts.catalogue import (
    AddonTerms,
    CatalogueEntry,
    CatalogueItem,
    CouponTerms,
    DefineCatalogueItem,
    PlanTerms,
)
from portal_contracts.envelope import Actor
from portal_contracts.subscriptions import AddonChoice, NewSubscription, SubscriptionAction
from portal_gateway.api.merchant_auth import ADMIN_DEPENDENCIES, Merchant, merchant_guard
from portal_gateway.service_layer.commands import pending_response, raise_if_rejected
from portal_gateway.service_layer.context import Gateway
from portal_gateway.service_layer.subscription_views import (
    Order,
    SubscriptionSort,
    catalogue,
    page_of_subscriptions,
    send_action,
    send_catalogue_item,
    send_create_subscription,
    subscription,
)
from portal_runtime.errors import NotFound

IdempotencyKey = Annotated[
    str | None, Parameter(header="Idempotency-Key", max_length=200, required=False)
]
Document = dict[str, Any]


class SubscriptionRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    customer_id: str = Field(min_length=1, max_length=64)
    plan_code: str = Field(min_length=1, max_length=64)
    quantity: int = Field(default=1, ge=1, le=100_000)
    addons: tuple[AddonChoice, ...] = Field(default=(), max_length=50)
    coupon_code: str | None = Field(default=None, max_length=64)
    autocharge: bool = False
    payment_method_id: str | None = Field(default=None, max_length=128)
    start_with_trial: bool = True


class ActionBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    action: SubscriptionAction


def controller(gateway: Gateway) -> type[Controller]:
    async def define(merchant: Merchant, item: CatalogueItem) -> Response[Document]:
        org = str(merchant["_id"])
        command = DefineCatalogueItem(
            organisation_id=org,
            correlation_id=uuid.uuid4().hex,
            occurred_at=gateway.store.clock.now(),
            actor=Actor(kind="merchant", id=org),
            data=CatalogueEntry(item=item),
        )
        done = await send_catalogue_item(gateway, org, command)
        raise_if_rejected(done)
        if done["status"] != "succeeded":
            return Response(pending_response(done, "/admin/v1"), status_code=202)
        return Response(item.model_dump(mode="json"), status_code=201)

    async def act(
        merchant: Merchant,
        subscription_id: str,
        action: SubscriptionAction,
        preview: bool,
        idempotency_key: str | None,
    ) -> Response[Document]:
        org = str(merchant["_id"])
        view = await subscription(gateway, org, subscription_id, None)
        if view is None:
            raise NotFound(f"there is no subscription '{subscription_id}'")
        done = await send_action(
            gateway,
            org,
            view["customer_id"],
            subscription_id,
            action,
            actor=Actor(kind="merchant", id=org),
            preview=preview,
            idempotency_key=idempotency_key,
        )
        raise_if_rejected(done)
        if done["status"] != "succeeded":
            return Response(pending_response(done, "/admin/v1"), status_code=202)
        result = done.get("result", {})
        key = "subscription_after" if preview else "subscription"
        return Response(
            {
                "change": result.get("change"),
                "charge": result.get("charge"),
                key: result.get("subscription"),
            },
            status_code=200,
        )

    class AdminSubscriptionsController(Controller):
        path = "/admin/v1"
        tags = ["admin", "subscriptions"]
        guards = [merchant_guard(gateway)]
        dependencies = ADMIN_DEPENDENCIES
        security = [{"ApiKey": []}]

        @get("/catalogue")
        async def show_catalogue(self, merchant: Merchant) -> Document:
            return await catalogue(gateway, str(merchant["_id"]))

        @post("/catalogue/plans", status_code=201)
        async def define_plan(self, data: PlanTerms, merchant: Merchant) -> Response[Document]:
            """Create or replace a plan (by code)."""
            return await define(merchant, data)

        @post("/catalogue/addons", status_code=201)
        async def define_addon(self, data: AddonTerms, merchant: Merchant) -> Response[Document]:
            return await define(merchant, data)

        @post("/catalogue/coupons", status_code=201)
        async def define_coupon(self, data: CouponTerms, merchant: Merchant) -> Response[Document]:
            return await define(merchant, data)

        @post("/subscriptions", status_code=201)
        async def create(
            self,
            data: SubscriptionRequest,
            merchant: Merchant,
            idempotency_key: IdempotencyKey = None,
        ) -> Response[Document]:
            """Subscribe a customer to a plan (with its trial, or live and charged now)."""
            org = str(merchant["_id"])
            new = NewSubscription(
                subscription_id=f"sub_{uuid.uuid4().hex[:20]}", **data.model_dump()
            )
            done = await send_create_subscription(gateway, org, new, idempotency_key)
            raise_if_rejected(done)
            if done["status"] != "succeeded":
                return Response(pending_response(done, "/admin/v1"), status_code=202)
            result = done.get("result", {})
            created = result.get("subscription", {})
            view = await subscription(gateway, org, created.get("subscription_id", ""), None)
            return Response({**(view or created), "charge": result.get("charge")}, status_code=201)

        @get("/subscriptions")
        async def index(
            self,
            merchant: Merchant,
            customer_id: Annotated[
                str | None, Parameter(query="customer_id", max_length=64)
            ] = None,
            status: Annotated[str | None, Parameter(query="status", max_length=20)] = None,
            plan: Annotated[str | None, Parameter(query="plan", max_length=64)] = None,
            sort: Annotated[SubscriptionSort, Parameter(query="sort")] = "date",
            order: Annotated[Order, Parameter(query="order")] = "desc",
            page: Annotated[int, Parameter(query="page", ge=1, le=10_000)] = 1,
            page_size: Annotated[int, Parameter(query="page_size", ge=1, le=100)] = 50,
        ) -> Document:
            """The merchant's subscriptions, newest first, a page at a time (`total` counts
            them all)."""
            return await page_of_subscriptions(
                gateway,
                str(merchant["_id"]),
                customer_id,
                status=status,
                plan_code=plan,
                sort=sort,
                order=order,
                page=page,
                page_size=page_size,
            )

        @get("/subscriptions/{subscription_id:str}")
        async def details(self, subscription_id: str, merchant: Merchant) -> Document:
            view = await subscription(gateway, str(merchant["_id"]), subscription_id, None)
            if view is None:
                raise NotFound(f"there is no subscription '{subscription_id}'")
            return view

        @post("/subscriptions/{subscription_id:str}/actions", status_code=200)
        async def apply(
            self,
            subscription_id: str,
            data: ActionBody,
            merchant: Merchant,
            idempotency_key: IdempotencyKey = None,
        ) -> Response[Document]:
            """Any subscription action on the merchant's behalf."""
            return await act(merchant, subscription_id, data.action, False, idempotency_key)

        @post("/subscriptions/{subscription_id:str}/actions/preview", status_code=200)
        async def preview(
            self, subscription_id: str, data: ActionBody, merchant: Merchant
        ) -> Response[Document]:
            return await act(merchant, subscription_id, data.action, True, None)

    return AdminSubscriptionsController
