"""The customer's subscriptions in the portal: list, details, every self-service action and the
preview of each action that costs money.

Every route reads the subscription from the gateway's read model scoped to the signed-in
contact's organisation AND customer (another customer's subscription is a 404), checks the
merchant's preference (403), and only then sends the command; the subscriptions service checks
the status and autocharge rules (409 with the reason)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from litestar import Controller, Response, delete, get, post, put
from litestar.params import Parameter
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from portal_contracts.envelope import Actor
from portal_contracts.subscriptions import (
    ActivateTrial,
    AddonChoice,
    Cancel,
    ChangeSubscription,
    ExtendTrial,
    Pause,
    Reactivate,
    RemovePauseSchedule,
    RemoveScheduledCancellation,
    RemoveScheduledChanges,
    Resume,
    SetAutocharge,
    SubscriptionAction,
    UnlinkPaymentMethod,
)
from portal_gateway.adapters.read_models import Commands
from portal_gateway.api.schemas import SLUG
from portal_gateway.api.security import PORTAL_DEPENDENCIES, PortalPrincipal, portal_guard
from portal_gateway.service_layer.commands import pending_response, raise_if_rejected
from portal_gateway.service_layer.context import Gateway
from portal_gateway.service_layer.preferences import preferences_of
from portal_gateway.service_layer.subscription_views import (
    Order,
    SubscriptionSort,
    check_portal_action,
    page_of_subscriptions,
    plan_choices,
    send_action,
    subscription,
)
from portal_runtime.errors import NotFound

Slug = Annotated[str, Parameter(pattern=SLUG, max_length=63)]
IdempotencyKey = Annotated[
    str | None, Parameter(header="Idempotency-Key", max_length=200, required=False)
]
Document = dict[str, Any]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CancelRequest(_Body):
    when: Literal["immediately", "end_of_term"]


class PauseRequest(_Body):
    when: Literal["immediately", "on_date"]
    pause_on: AwareDatetime | None = None
    resume_on: AwareDatetime | None = None


class ResumeRequest(_Body):
    when: Literal["immediately", "on_date"]
    resume_on: AwareDatetime | None = None


class ChangeRequest(_Body):
    when: Literal["immediately", "end_of_term"]
    plan_code: str | None = Field(default=None, max_length=64)
    quantity: int | None = Field(default=None, ge=1, le=100_000)
    addons: tuple[AddonChoice, ...] | None = Field(default=None, max_length=50)
    coupon_code: str | None = Field(default=None, max_length=64)
    remove_coupon: bool = False
    confirm_total_minor: int | None = None

    def action(self) -> ChangeSubscription:
        return ChangeSubscription(**self.model_dump())


class AutochargeRequest(_Body):
    enabled: bool
    payment_method_id: str | None = Field(default=None, max_length=128)


def controller(gateway: Gateway) -> type[Controller]:
    async def view_of(principal: PortalPrincipal, subscription_id: str) -> Document:
        view = await subscription(
            gateway, principal.organisation_id, subscription_id, principal.customer_id
        )
        if view is None:
            raise NotFound(f"there is no subscription '{subscription_id}'")
        return view

    async def perform(
        slug: str,
        principal: PortalPrincipal,
        subscription_id: str,
        action: SubscriptionAction,
        *,
        preview: bool = False,
        idempotency_key: str | None = None,
    ) -> Response[Document]:
        view = await view_of(principal, subscription_id)
        prefs = await preferences_of(gateway, principal.organisation_id)
        check_portal_action(prefs, action, view)
        if isinstance(action, ExtendTrial):
            action = ExtendTrial(max_extensions=prefs.trials.max_trial_extensions)
        command = await send_action(
            gateway,
            principal.organisation_id,
            principal.customer_id,
            subscription_id,
            action,
            actor=Actor(kind="contact", id=principal.contact_id),
            preview=preview,
            idempotency_key=idempotency_key,
        )
        return await answer(slug, principal, command, preview=preview)

    async def answer(
        slug: str, principal: PortalPrincipal, command: Document, *, preview: bool
    ) -> Response[Document]:
        raise_if_rejected(command)
        if command["status"] != "succeeded":
            root = f"/portal/{slug}/api/subscriptions"
            return Response(pending_response(command, root), status_code=202)
        result = command.get("result", {})
        subscription_id = result.get("subscription_id", "")
        body: Document = {"change": result.get("change"), "charge": result.get("charge")}
        if preview:
            body["subscription_after"] = result.get("subscription")
        else:
            fresh = await subscription(
                gateway, principal.organisation_id, subscription_id, principal.customer_id
            )
            body["subscription"] = fresh or result.get("subscription")
        return Response(body, status_code=200)

    class PortalSubscriptionsController(Controller):
        path = "/portal/{slug:str}/api/subscriptions"
        tags = ["portal", "subscriptions"]
        guards = [portal_guard(gateway)]
        dependencies = PORTAL_DEPENDENCIES
        security = [{"BearerToken": []}]

        @get("/")
        async def index(
            self,
            slug: Slug,
            principal: PortalPrincipal,
            status: Annotated[str | None, Parameter(query="status", max_length=20)] = None,
            plan: Annotated[str | None, Parameter(query="plan", max_length=64)] = None,
            sort: Annotated[SubscriptionSort, Parameter(query="sort")] = "date",
            order: Annotated[Order, Parameter(query="order")] = "desc",
            page: Annotated[int, Parameter(query="page", ge=1, le=10_000)] = 1,
            page_size: Annotated[int, Parameter(query="page_size", ge=1, le=100)] = 20,
        ) -> Document:
            """The signed-in customer's subscriptions (filter by status or plan; sort by
            date, next billing, amount or plan), a page at a time."""
            return await page_of_subscriptions(
                gateway,
                principal.organisation_id,
                principal.customer_id,
                status=status,
                plan_code=plan,
                sort=sort,
                order=order,
                page=page,
                page_size=page_size,
            )

        @get("/commands/{command_id:str}")
        async def command_status(
            self, slug: Slug, command_id: str, principal: PortalPrincipal
        ) -> Response[Document]:
            """Where an action answered with 202 stands now (only the customer's own)."""
            command = await Commands(gateway.store.db).get(principal.organisation_id, command_id)
            if command is None or command.get("customer_id") != principal.customer_id:
                raise NotFound(f"there is no command '{command_id}'")
            preview = command.get("type") == "PreviewSubscriptionAction"
            return await answer(slug, principal, command, preview=preview)

        @get("/{subscription_id:str}")
        async def details(
            self, slug: Slug, subscription_id: str, principal: PortalPrincipal
        ) -> Document:
            view = await view_of(principal, subscription_id)
            return {
                **view,
                "choices": await plan_choices(gateway, principal.organisation_id, view),
            }

        @post("/{subscription_id:str}/activate", status_code=200)
        async def activate(
            self,
            slug: Slug,
            subscription_id: str,
            principal: PortalPrincipal,
            idempotency_key: IdempotencyKey = None,
        ) -> Response[Document]:
            """End the trial now; the first term is charged."""
            return await perform(
                slug, principal, subscription_id, ActivateTrial(), idempotency_key=idempotency_key
            )

        @get("/{subscription_id:str}/activate/preview")
        async def activate_preview(
            self, slug: Slug, subscription_id: str, principal: PortalPrincipal
        ) -> Response[Document]:
            return await perform(slug, principal, subscription_id, ActivateTrial(), preview=True)

        @post("/{subscription_id:str}/extend-trial", status_code=200)
        async def extend_trial(
            self, slug: Slug, subscription_id: str, principal: PortalPrincipal
        ) -> Response[Document]:
            """Extend an expired trial by the plan's trial length."""
            return await perform(slug, principal, subscription_id, ExtendTrial(max_extensions=0))

        @post("/{subscription_id:str}/cancel", status_code=200)
        async def cancel(
            self, slug: Slug, subscription_id: str, data: CancelRequest, principal: PortalPrincipal
        ) -> Response[Document]:
            return await perform(slug, principal, subscription_id, Cancel(when=data.when))

        @delete("/{subscription_id:str}/scheduled-cancellation", status_code=200)
        async def remove_cancellation(
            self, slug: Slug, subscription_id: str, principal: PortalPrincipal
        ) -> Response[Document]:
            return await perform(slug, principal, subscription_id, RemoveScheduledCancellation())

        @post("/{subscription_id:str}/reactivate", status_code=200)
        async def reactivate(
            self,
            slug: Slug,
            subscription_id: str,
            principal: PortalPrincipal,
            idempotency_key: IdempotencyKey = None,
        ) -> Response[Document]:
            return await perform(
                slug, principal, subscription_id, Reactivate(), idempotency_key=idempotency_key
            )

        @get("/{subscription_id:str}/reactivate/preview")
        async def reactivate_preview(
            self, slug: Slug, subscription_id: str, principal: PortalPrincipal
        ) -> Response[Document]:
            return await perform(slug, principal, subscription_id, Reactivate(), preview=True)

        @post("/{subscription_id:str}/pause", status_code=200)
        async def pause(
            self, slug: Slug, subscription_id: str, data: PauseRequest, principal: PortalPrincipal
        ) -> Response[Document]:
            """Pause now or on a date (again: changes the schedule)."""
            return await perform(slug, principal, subscription_id, Pause(**data.model_dump()))

        @post("/{subscription_id:str}/resume", status_code=200)
        async def resume(
            self, slug: Slug, subscription_id: str, data: ResumeRequest, principal: PortalPrincipal
        ) -> Response[Document]:
            return await perform(slug, principal, subscription_id, Resume(**data.model_dump()))

        @delete("/{subscription_id:str}/pause-schedule", status_code=200)
        async def remove_pause_schedule(
            self, slug: Slug, subscription_id: str, principal: PortalPrincipal
        ) -> Response[Document]:
            return await perform(slug, principal, subscription_id, RemovePauseSchedule())

        @post("/{subscription_id:str}/changes", status_code=200)
        async def change(
            self,
            slug: Slug,
            subscription_id: str,
            data: ChangeRequest,
            principal: PortalPrincipal,
            idempotency_key: IdempotencyKey = None,
        ) -> Response[Document]:
            """Change plan, quantity, addons or coupon, now (prorated) or at the term end."""
            return await perform(
                slug, principal, subscription_id, data.action(), idempotency_key=idempotency_key
            )

        @post("/{subscription_id:str}/changes/preview", status_code=200)
        async def change_preview(
            self, slug: Slug, subscription_id: str, data: ChangeRequest, principal: PortalPrincipal
        ) -> Response[Document]:
            """The charges summary the change would raise; changes nothing."""
            return await perform(slug, principal, subscription_id, data.action(), preview=True)

        @delete("/{subscription_id:str}/scheduled-changes", status_code=200)
        async def remove_changes(
            self, slug: Slug, subscription_id: str, principal: PortalPrincipal
        ) -> Response[Document]:
            return await perform(slug, principal, subscription_id, RemoveScheduledChanges())

        @put("/{subscription_id:str}/autocharge", status_code=200)
        async def autocharge(
            self,
            slug: Slug,
            subscription_id: str,
            data: AutochargeRequest,
            principal: PortalPrincipal,
        ) -> Response[Document]:
            return await perform(
                slug, principal, subscription_id, SetAutocharge(**data.model_dump())
            )

        @delete("/{subscription_id:str}/payment-method", status_code=200)
        async def remove_payment_method(
            self, slug: Slug, subscription_id: str, principal: PortalPrincipal
        ) -> Response[Document]:
            return await perform(slug, principal, subscription_id, UnlinkPaymentMethod())

    return PortalSubscriptionsController
