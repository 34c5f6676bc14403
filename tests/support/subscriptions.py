"""Building subscription commands and catalogue items in tests, and reading what the
subscriptions service wrote (its outbox) or the gateway answered."""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from portal_contracts import Actor
from portal_contracts.catalogue import (
    AddonTerms,
    CatalogueEntry,
    CatalogueItem,
    DefineCatalogueItem,
    PlanTerms,
)
from portal_contracts.common import Contact, Money
from portal_contracts.customers import CreateCustomer, NewCustomer
from portal_contracts.subscriptions import (
    ActionRequest,
    ActOnSubscription,
    CreateSubscription,
    NewSubscription,
    SubscriptionAction,
)

MERCHANT = Actor(kind="merchant", id="key_test")


def eur(amount_minor: int) -> Money:
    return Money(amount_minor=amount_minor, currency="EUR")


BASIC = PlanTerms(
    code="basic", name="Basic", price=eur(1000), trial_days=14, switchable_to=("pro",)
)
PRO = PlanTerms(code="pro", name="Pro", price=eur(3000), trial_days=14)
TOWELS = AddonTerms(code="towels", name="Towels", price=eur(500), portal_manageable=True)


def envelope(org: str, at: datetime) -> dict[str, Any]:
    return {
        "organisation_id": org,
        "correlation_id": uuid.uuid4().hex,
        "occurred_at": at,
        "actor": MERCHANT,
    }


def define(org: str, at: datetime, item: CatalogueItem) -> DefineCatalogueItem:
    return DefineCatalogueItem(**envelope(org, at), data=CatalogueEntry(item=item))


def new_customer(org: str, at: datetime, customer_id: str) -> CreateCustomer:
    return CreateCustomer(
        **envelope(org, at),
        data=NewCustomer(
            customer_id=customer_id,
            display_name=f"Customer {customer_id}",
            currency="EUR",
            primary_contact=Contact(contact_id=f"ct_{customer_id}", first_name="Ada"),
        ),
    )


def subscribe(
    org: str, at: datetime, customer_id: str, subscription_id: str, **terms: Any
) -> CreateSubscription:
    return CreateSubscription(
        **envelope(org, at),
        data=NewSubscription(
            customer_id=customer_id,
            subscription_id=subscription_id,
            plan_code=terms.pop("plan_code", "basic"),
            start_with_trial=terms.pop("start_with_trial", False),
            **terms,
        ),
    )


def action(
    org: str, at: datetime, customer_id: str, subscription_id: str, what: SubscriptionAction
) -> ActOnSubscription:
    return ActOnSubscription(
        **envelope(org, at),
        data=ActionRequest(customer_id=customer_id, subscription_id=subscription_id, action=what),
    )


async def outbox_bodies(db: AsyncDatabase[dict[str, Any]], message_type: str) -> list[Any]:
    """The `data` of every message of this type the service wrote, in write order."""
    cursor = db["outbox"].find({"type": message_type}).sort([("key", 1), ("seq", 1)])
    return [json.loads(row["body"])["data"] async for row in cursor]
