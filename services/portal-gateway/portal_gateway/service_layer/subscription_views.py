"""Subscriptions and the catalogue as the portal and the admin API read them, built only from
the subscriptions service's events; and sending subscription commands.

`subscription_views`: one document per subscription (its latest snapshot, by version, so an
old event arriving late never overwrites a newer state). `catalogue_views`: one per plan,
addon and coupon. Both are keyed by organisation first; the portal's reads add the customer.
"""

from __future__ import annotations

import uuid
from typing import Any, Literal

from pymongo import ASCENDING, DESCENDING
from pymongo.asynchronous.database import AsyncDatabase

from portal_contracts.catalogue import CatalogueItemDefined, DefineCatalogueItem
from portal_contracts.envelope import Actor, Envelope
from portal_contracts.subscriptions import (
    ActionRequest,
    ActOnSubscription,
    ChangeSubscription,
    CreateSubscription,
    NewSubscription,
    PreviewSubscriptionAction,
    SubscriptionAction,
    SubscriptionChanged,
)
from portal_contracts.topics import SUBSCRIPTIONS_COMMANDS
from portal_gateway.domain.preferences import Preferences, allows_timing, require
from portal_gateway.service_layer.commands import send_command
from portal_gateway.service_layer.context import Gateway
from portal_runtime.errors import Forbidden
from portal_runtime.store import Transaction

Document = dict[str, Any]
SUBSCRIPTIONS = "subscription_views"
CATALOGUE = "catalogue_views"
HIDDEN = {"_id": 0, "organisation_id": 0}


async def ensure_indexes(db: AsyncDatabase[Document]) -> None:
    await db[SUBSCRIPTIONS].create_index(
        [("organisation_id", ASCENDING), ("subscription_id", ASCENDING)], unique=True
    )
    await db[SUBSCRIPTIONS].create_index(
        [("organisation_id", ASCENDING), ("customer_id", ASCENDING), ("status", ASCENDING)]
    )
    await db[CATALOGUE].create_index(
        [("organisation_id", ASCENDING), ("item_type", ASCENDING), ("code", ASCENDING)],
        unique=True,
    )


async def project_subscription_views(tx: Transaction, event: Envelope) -> None:
    org = event.organisation_id
    match event:
        case SubscriptionChanged(data=change):
            snapshot = change.subscription
            views = tx.db[SUBSCRIPTIONS]
            key = {"organisation_id": org, "subscription_id": snapshot.subscription_id}
            current = await views.find_one(key, {"version": 1}, session=tx.session)
            if current is not None and current.get("version", 0) >= snapshot.version:
                return
            await views.replace_one(
                key,
                {
                    **key,
                    **snapshot.model_dump(mode="json"),
                    "last_change": change.change,
                    "last_charge": change.charge.model_dump(mode="json") if change.charge else None,
                },
                upsert=True,
                session=tx.session,
            )
        case CatalogueItemDefined(data=entry):
            item = entry.item
            key = {"organisation_id": org, "item_type": item.item_type, "code": item.code}
            await tx.db[CATALOGUE].replace_one(
                key,
                {**key, "terms": item.model_dump(mode="json")},
                upsert=True,
                session=tx.session,
            )


# --- reads --------------------------------------------------------------------------------


SubscriptionSort = Literal["date", "next_billing", "amount", "plan"]
Order = Literal["asc", "desc"]
_SUBSCRIPTION_SORT = {
    "date": "created_at",
    "next_billing": "term_end",
    "amount": "unit_amount_minor",
    "plan": "plan_name",
}


async def page_of_subscriptions(
    gateway: Gateway,
    organisation_id: str,
    customer_id: str | None,
    *,
    status: str | None = None,
    plan_code: str | None = None,
    sort: SubscriptionSort = "date",
    order: Order = "desc",
    page: int = 1,
    page_size: int = 20,
) -> Document:
    """One page of the customer's subscriptions (every customer's with `customer_id=None`, for
    the merchant) in the invoice list's shape (`items`, `page`, `page_size`, `total`);
    `subscriptions` repeats the items for clients of the first shape."""
    query: Document = {"organisation_id": organisation_id}
    if customer_id is not None:
        query["customer_id"] = customer_id
    if status:
        query["status"] = status
    if plan_code:
        query["plan_code"] = plan_code
    direction = ASCENDING if order == "asc" else DESCENDING
    views = gateway.store.db[SUBSCRIPTIONS]
    total = await views.count_documents(query)
    cursor = (
        views.find(query, HIDDEN)
        .sort([(_SUBSCRIPTION_SORT[sort], direction), ("_id", direction)])
        .skip((page - 1) * page_size)
        .limit(page_size)
    )
    items = [doc async for doc in cursor]
    return {
        "items": items,
        "subscriptions": items,
        "page": page,
        "page_size": page_size,
        "total": total,
    }


async def subscription(
    gateway: Gateway, organisation_id: str, subscription_id: str, customer_id: str | None
) -> Document | None:
    """One subscription; with `customer_id` only if it is that customer's."""
    query: Document = {"organisation_id": organisation_id, "subscription_id": subscription_id}
    if customer_id is not None:
        query["customer_id"] = customer_id
    return await gateway.store.db[SUBSCRIPTIONS].find_one(query, HIDDEN)


async def catalogue(gateway: Gateway, organisation_id: str) -> dict[str, list[Document]]:
    items: dict[str, list[Document]] = {"plans": [], "addons": [], "coupons": []}
    async for doc in gateway.store.db[CATALOGUE].find({"organisation_id": organisation_id}):
        items[f"{doc['item_type']}s"].append(doc["terms"])
    return items


async def plan_choices(gateway: Gateway, organisation_id: str, view: Document) -> Document:
    """What the customer may pick from in the portal for this subscription."""
    items = await catalogue(gateway, organisation_id)
    plans = {p["code"]: p for p in items["plans"] if p.get("active", True)}
    current = plans.get(view["plan_code"])
    switchable = (
        current.get("switchable_to", []) if current and current["portal_changes_allowed"] else []
    )
    public = (
        "code",
        "name",
        "price",
        "interval_unit",
        "interval_count",
        "min_quantity",
        "max_quantity",
    )
    return {
        "plans": [{k: plans[c].get(k) for k in public} for c in switchable if c in plans],
        "addons": [
            {k: a.get(k) for k in ("code", "name", "price", "charge", "quantity_allowed")}
            for a in items["addons"]
            if a.get("active", True) and a.get("portal_manageable")
        ],
    }


# --- what the merchant lets customers do --------------------------------------------------


def check_portal_action(prefs: Preferences, action: SubscriptionAction, view: Document) -> None:
    """403 unless the merchant's preferences allow this action for this subscription."""
    match action.action:
        case "activate_trial":
            require(prefs.trials.activate_trials, "activating a trial")
            allowed = (
                prefs.trials.activate_when_autocharge_on
                if view.get("autocharge")
                else prefs.trials.activate_when_autocharge_off
            )
            require(allowed, "activating a trial with this autocharge setting")
        case "extend_trial":
            require(prefs.trials.extend_trials, "extending a trial")
        case "cancel":
            require(prefs.cancellations.cancel, "cancelling a subscription")
            when = getattr(action, "when", "")
            require(allows_timing(prefs.cancellations.cancel_when, when), f"cancelling {when}")
        case "remove_scheduled_cancellation":
            require(
                prefs.cancellations.remove_scheduled_cancellation,
                "removing a scheduled cancellation",
            )
        case "reactivate":
            require(prefs.cancellations.reactivate, "reactivating a subscription")
        case "pause":
            when = getattr(action, "when", "")
            require(prefs.pause_and_resume.pause, "pausing a subscription")
            require(allows_timing(prefs.pause_and_resume.pause_when, when), f"pausing {when}")
        case "resume":
            when = getattr(action, "when", "")
            require(prefs.pause_and_resume.resume, "resuming a subscription")
            require(allows_timing(prefs.pause_and_resume.resume_when, when), f"resuming {when}")
        case "remove_pause_schedule":
            paused = view.get("status") == "paused"
            require(
                prefs.pause_and_resume.resume if paused else prefs.pause_and_resume.pause,
                "changing the pause schedule",
            )
        case "change":
            assert isinstance(action, ChangeSubscription)
            _check_change(prefs, action, view)
        case "remove_scheduled_changes":
            require(prefs.advanced.remove_end_of_term_changes, "removing scheduled changes")
        case "set_autocharge":
            require(prefs.payments.toggle_autocharge, "turning autocharge on or off")
        case "remove_payment_method":
            require(prefs.payments.remove_payment_method, "removing the payment method")


def _check_change(prefs: Preferences, action: ChangeSubscription, view: Document) -> None:
    advanced = prefs.advanced
    require(allows_timing(advanced.apply_changes, action.when), f"changes {action.when}")
    if action.plan_code is not None and action.plan_code != view.get("plan_code"):
        require(advanced.change_plan, "changing the plan")
    if action.quantity is not None and action.quantity != view.get("quantity"):
        require(advanced.change_plan_quantity, "changing the quantity")
    if action.addons is not None:
        require(advanced.manage_addons, "adding or removing addons")
        if any(choice.quantity != 1 for choice in action.addons):
            require(advanced.addon_quantities, "choosing addon quantities")
    if action.coupon_code is not None or action.remove_coupon:
        require(advanced.coupons, "applying coupons")
    if view.get("status") not in advanced.allowed_statuses:
        raise Forbidden(
            f"subscriptions that are {view.get('status')} cannot be changed in this portal",
            code="not_enabled",
        )
    autocharge = "on" if view.get("autocharge") else "off"
    if advanced.allowed_autocharge not in ("both", autocharge):
        raise Forbidden(
            f"subscriptions with autocharge {autocharge} cannot be changed in this portal",
            code="not_enabled",
        )


# --- commands -----------------------------------------------------------------------------


async def send_action(
    gateway: Gateway,
    organisation_id: str,
    customer_id: str,
    subscription_id: str,
    action: SubscriptionAction,
    *,
    actor: Actor,
    preview: bool,
    idempotency_key: str | None,
) -> Document:
    """Send the action (or its preview) and return the command document with its outcome."""
    request = ActionRequest(customer_id=customer_id, subscription_id=subscription_id, action=action)
    fields: Document = {
        "organisation_id": organisation_id,
        "correlation_id": uuid.uuid4().hex,
        "occurred_at": gateway.store.clock.now(),
        "actor": actor,
        "data": request,
    }
    command: Envelope
    if preview:
        command, outcome = PreviewSubscriptionAction(**fields), "SubscriptionActionPreviewed"
    else:
        command, outcome = ActOnSubscription(**fields), "SubscriptionChanged"
    return await send_command(
        gateway,
        SUBSCRIPTIONS_COMMANDS,
        command,
        customer_id=customer_id,
        outcomes=(outcome,),
        # A preview changes nothing, so repeating one needs no key.
        idempotency_key=None if preview else idempotency_key,
    )


async def send_create_subscription(
    gateway: Gateway, organisation_id: str, new: NewSubscription, idempotency_key: str | None
) -> Document:
    command = CreateSubscription(
        organisation_id=organisation_id,
        correlation_id=uuid.uuid4().hex,
        occurred_at=gateway.store.clock.now(),
        actor=Actor(kind="merchant", id=organisation_id),
        data=new,
    )
    return await send_command(
        gateway,
        SUBSCRIPTIONS_COMMANDS,
        command,
        customer_id=new.customer_id,
        outcomes=("SubscriptionChanged",),
        idempotency_key=idempotency_key,
    )


async def send_catalogue_item(
    gateway: Gateway, organisation_id: str, command: DefineCatalogueItem
) -> Document:
    return await send_command(
        gateway,
        SUBSCRIPTIONS_COMMANDS,
        command,
        customer_id="",
        outcomes=("CatalogueItemDefined",),
    )
