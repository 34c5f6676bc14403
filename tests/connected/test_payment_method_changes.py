"""A customer replacing or deleting a saved payment method (invoicing's `PaymentMethodReplaced`
/ `PaymentMethodRemoved`) reaches every subscription of theirs that was linked to it, on the
real database: the next charge uses the new method, or finds none."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from pymongo import AsyncMongoClient

from portal_contracts import Actor
from portal_contracts.invoicing import (
    MethodSummary,
    PaymentMethodRef,
    PaymentMethodRemoved,
    PaymentMethodReplaced,
    Replacement,
)
from portal_contracts.subscriptions import SetAutocharge, SubscriptionSnapshot
from portal_runtime.clock import MovableClock
from portal_runtime.store import Store
from subscriptions.adapters.customers import CustomerRepository
from subscriptions.adapters.subscriptions import SubscriptionRepository
from subscriptions.service_layer.billing_clock import run_due
from subscriptions.service_layer.customers import handle_create_customer
from subscriptions.service_layer.subscriptions import (
    handle_action,
    handle_create_subscription,
    handle_define_catalogue_item,
    handle_payment_method_change,
)
from tests.support.subscriptions import (
    BASIC,
    PRO,
    action,
    define,
    new_customer,
    outbox_bodies,
    subscribe,
)

pytestmark = pytest.mark.connected

ORG = "org_methods"
START = datetime(datetime.now(UTC).year + 1, 1, 1, tzinfo=UTC)
CARD = MethodSummary(kind="card", brand="visa", last4="4242", exp_month=12, exp_year=2031)


@pytest.fixture
async def store(mongo_uri: str, database_name: str) -> AsyncIterator[Store]:
    client: AsyncMongoClient[dict[str, object]] = AsyncMongoClient(mongo_uri, tz_aware=True)
    store = Store(client, database_name, MovableClock(START))
    await store.ensure_indexes()
    await CustomerRepository.ensure_indexes(store.db)
    await SubscriptionRepository.ensure_indexes(store.db)
    for item in (BASIC, PRO):
        await handle_define_catalogue_item(store, define(ORG, START, item))
    yield store
    await client.close()


async def customer_with(store: Store, customer: str, subs: dict[str, dict[str, object]]) -> None:
    await handle_create_customer(store, new_customer(ORG, START, customer))
    for sub_id, terms in subs.items():
        await handle_create_subscription(store, subscribe(ORG, START, customer, sub_id, **terms))


async def current(store: Store, subscription_id: str) -> SubscriptionSnapshot:
    sub = await SubscriptionRepository(store.db).get(ORG, subscription_id)
    assert sub is not None
    return sub


def by_customer(customer: str) -> dict[str, object]:
    return {
        "organisation_id": ORG,
        "correlation_id": uuid.uuid4().hex,
        "occurred_at": START,
        "actor": Actor(kind="contact", id=f"ct_{customer}"),
    }


def replaced(customer: str, old: str, new: str) -> PaymentMethodReplaced:
    return PaymentMethodReplaced(
        **by_customer(customer),
        data=Replacement(
            customer_id=customer,
            old_payment_method_id=old,
            new_payment_method_id=new,
            method=CARD,
        ),
    )


def removed(customer: str, method: str) -> PaymentMethodRemoved:
    return PaymentMethodRemoved(
        **by_customer(customer),
        data=PaymentMethodRef(customer_id=customer, payment_method_id=method),
    )


async def changes(store: Store, name: str) -> list[str]:
    events = await outbox_bodies(store.db, "SubscriptionChanged")
    return sorted(e["subscription_id"] for e in events if e["change"] == name)


async def test_a_replaced_method_moves_every_subscription_of_the_customer_using_it(
    store: Store,
) -> None:
    card = {"autocharge": True, "payment_method_id": "pm_old"}
    await customer_with(
        store,
        "cus_a",
        {
            "sub_a1": card,
            "sub_a2": {**card, "plan_code": "pro"},
            "sub_a3": {"autocharge": True, "payment_method_id": "pm_other"},
        },
    )
    # Another customer whose method happens to carry the same id is not touched.
    await customer_with(store, "cus_b", {"sub_b1": card})

    event = replaced("cus_a", "pm_old", "pm_new")
    await handle_payment_method_change(store, event)
    await handle_payment_method_change(store, event)  # a repeated delivery changes nothing

    assert (await current(store, "sub_a1")).payment_method_id == "pm_new"
    assert (await current(store, "sub_a2")).payment_method_id == "pm_new"
    assert (await current(store, "sub_a3")).payment_method_id == "pm_other"
    assert (await current(store, "sub_b1")).payment_method_id == "pm_old"
    assert await changes(store, "payment_method_replaced") == ["sub_a1", "sub_a2"]

    # The next renewal is charged to the new card.
    clock = store.clock
    assert isinstance(clock, MovableClock)
    clock.advance(timedelta(days=31))
    await run_due(store)
    renewals = [
        c for c in await outbox_bodies(store.db, "ChargeRaised") if c["reason"] == "renewal"
    ]
    methods = {c["subscription_id"]: c["payment_method_id"] for c in renewals}
    assert methods == {
        "sub_a1": "pm_new",
        "sub_a2": "pm_new",
        "sub_a3": "pm_other",
        "sub_b1": "pm_old",
    }


async def test_a_removed_method_leaves_its_subscriptions_without_one(store: Store) -> None:
    card = {"autocharge": True, "payment_method_id": "pm_gone"}
    await customer_with(
        store,
        "cus_c",
        {"sub_live": card, "sub_trial": {**card, "start_with_trial": True}},
    )
    await customer_with(store, "cus_d", {"sub_d1": card})

    await handle_payment_method_change(store, removed("cus_c", "pm_gone"))

    live = await current(store, "sub_live")
    assert (live.payment_method_id, live.autocharge, live.status) == (None, True, "live")
    assert (await current(store, "sub_d1")).payment_method_id == "pm_gone"
    assert await changes(store, "payment_method_removed") == ["sub_live", "sub_trial"]

    # Still autocharging, the live one takes a newly saved card without turning autocharge off.
    await handle_action(
        store,
        action(
            ORG, START, "cus_c", "sub_live", SetAutocharge(enabled=True, payment_method_id="pm_2")
        ),
    )
    live = await current(store, "sub_live")
    assert (live.payment_method_id, live.autocharge) == ("pm_2", True)
    assert await changes(store, "payment_method_linked") == ["sub_live"]

    # With autocharge still on and nothing to charge, the trial expires when it ends.
    clock = store.clock
    assert isinstance(clock, MovableClock)
    clock.advance(timedelta(days=14))
    await run_due(store)
    trial = await current(store, "sub_trial")
    assert (trial.status, trial.expired_from_trial) == ("expired", True)


async def test_a_method_no_subscription_uses_changes_nothing(store: Store) -> None:
    await customer_with(
        store, "cus_e", {"sub_e1": {"autocharge": True, "payment_method_id": "pm_kept"}}
    )
    await handle_payment_method_change(store, replaced("cus_e", "pm_unused", "pm_new"))
    await handle_payment_method_change(store, removed("cus_e", "pm_unused"))
    assert (await current(store, "sub_e1")).payment_method_id == "pm_kept"
    assert await changes(store, "payment_method_replaced") == []
    assert await changes(store, "payment_method_removed") == []
