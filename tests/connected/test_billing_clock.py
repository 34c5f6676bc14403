"""The billing clock on the real database: renewals, trial ends and scheduled steps happen when
the (movable) clock reaches them, once, however often or concurrently the clock runs, and after
a clock run died holding its lease."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from pymongo import AsyncMongoClient

from portal_contracts.common import Money
from portal_contracts.invoicing import AutochargeFailed, AutochargeFailure, InvoicePaid, PaidInvoice
from portal_contracts.subscriptions import (
    Cancel,
    ChangeSubscription,
    Pause,
    SubscriptionSnapshot,
    UnlinkPaymentMethod,
)
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
    handle_payment_outcome,
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

ORG = "org_clock"
# Start at a real, recent instant (the inbox and outbox expire rows against the database's own
# clock) on the first of a month, so terms are easy to read.
START = datetime(datetime.now(UTC).year + 1, 1, 1, tzinfo=UTC)


def month(n: int) -> datetime:
    return START.replace(year=START.year + (n // 12), month=n % 12 + 1)


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


def move_to(store: Store, when: datetime) -> None:
    clock = store.clock
    assert isinstance(clock, MovableClock)
    clock.advance(when - clock.now())


async def subscribed(store: Store, customer: str, **terms: object) -> SubscriptionSnapshot:
    await handle_create_customer(store, new_customer(ORG, store.clock.now(), customer))
    sub_id = f"sub_{customer}"
    await handle_create_subscription(
        store, subscribe(ORG, store.clock.now(), customer, sub_id, **terms)
    )
    return await current(store, sub_id)


async def current(store: Store, subscription_id: str) -> SubscriptionSnapshot:
    sub = await SubscriptionRepository(store.db).get(ORG, subscription_id)
    assert sub is not None
    return sub


async def renewal_ids(store: Store) -> list[str]:
    charges = await outbox_bodies(store.db, "ChargeRaised")
    return [c["charge_id"] for c in charges if c["reason"] == "renewal"]


async def test_renews_on_time_and_not_before(store: Store) -> None:
    await subscribed(store, "cus_a")
    move_to(store, month(1) - timedelta(seconds=1))
    assert await run_due(store) == 0
    move_to(store, month(1))
    assert await run_due(store) == 1
    sub = await current(store, "sub_cus_a")
    assert (sub.term_start, sub.term_end) == (month(1), month(2))
    charges = await outbox_bodies(store.db, "ChargeRaised")
    assert [(c["reason"], c["total_minor"]) for c in charges] == [
        ("signup", 1000),
        ("renewal", 1000),
    ]


async def test_running_the_clock_twice_or_concurrently_renews_once(store: Store) -> None:
    for customer in ("cus_a", "cus_b", "cus_c"):
        await subscribed(store, customer)
    move_to(store, month(1) + timedelta(hours=1))
    first = await asyncio.gather(run_due(store), run_due(store), run_due(store))
    assert sum(first) == 3
    assert await run_due(store) == 0
    ids = await renewal_ids(store)
    assert sorted(ids) == sorted(
        f"sub_{c}:renewal:{month(1).isoformat()}" for c in ("cus_a", "cus_b", "cus_c")
    )


async def test_a_clock_run_that_died_holding_its_lease_is_taken_over_after_a_restart(
    store: Store, mongo_uri: str, database_name: str
) -> None:
    await subscribed(store, "cus_a")
    move_to(store, month(1))
    # A run leases the subscription, then its process dies before advancing it.
    claimed = await SubscriptionRepository(store.db).claim_due(
        month(1), "dead-run", month(1) + timedelta(seconds=60), 10
    )
    assert claimed == [(ORG, "sub_cus_a")]
    assert await run_due(store) == 0  # still leased

    # A new process (new client, same database) after the lease ran out.
    client: AsyncMongoClient[dict[str, object]] = AsyncMongoClient(mongo_uri, tz_aware=True)
    restarted = Store(client, database_name, MovableClock(month(1) + timedelta(minutes=2)))
    assert await run_due(restarted) == 1
    assert await renewal_ids(restarted) == [f"sub_cus_a:renewal:{month(1).isoformat()}"]
    await client.close()


async def test_a_long_outage_catches_up_every_missed_term_once(store: Store) -> None:
    await subscribed(store, "cus_a")
    move_to(store, month(3) + timedelta(days=2))
    assert await run_due(store) == 1
    assert await run_due(store) == 0
    assert await renewal_ids(store) == [
        f"sub_cus_a:renewal:{month(n).isoformat()}" for n in (1, 2, 3)
    ]


async def test_a_trial_ends_with_a_charge_or_expires_without_a_payment_method(
    store: Store,
) -> None:
    await subscribed(
        store, "cus_card", start_with_trial=True, autocharge=True, payment_method_id="pm_1"
    )
    await subscribed(store, "cus_nocard", start_with_trial=True, autocharge=False)
    trial_end = START + timedelta(days=14)
    move_to(store, trial_end)
    assert await run_due(store) == 2
    card = await current(store, "sub_cus_card")
    assert (card.status, card.term_start) == ("live", trial_end)
    charges = await outbox_bodies(store.db, "ChargeRaised")
    assert {(c["subscription_id"], c["autocharge"]) for c in charges} == {
        ("sub_cus_card", True),
        ("sub_cus_nocard", False),
    }

    # Autocharge on, payment method removed before the trial ends: it expires.
    await subscribed(
        store, "cus_gone", start_with_trial=True, autocharge=True, payment_method_id="pm_2"
    )
    await handle_action(
        store, action(ORG, store.clock.now(), "cus_gone", "sub_cus_gone", UnlinkPaymentMethod())
    )
    gone = await current(store, "sub_cus_gone")
    assert not gone.autocharge
    # Put autocharge back on without a card (as a merchant import could): nothing to charge.
    await SubscriptionRepository(store.db).collection.update_one(
        {"subscription_id": "sub_cus_gone"}, {"$set": {"autocharge": True}}
    )
    move_to(store, trial_end + timedelta(days=14))
    assert await run_due(store) >= 1
    expired = await current(store, "sub_cus_gone")
    assert (expired.status, expired.expired_from_trial) == ("expired", True)
    assert not [
        c
        for c in await outbox_bodies(store.db, "ChargeRaised")
        if c["subscription_id"] == "sub_cus_gone"
    ]


async def test_scheduled_cancellation_pause_resume_and_change_happen_on_their_dates(
    store: Store,
) -> None:
    for customer in ("cus_cancel", "cus_pause", "cus_change"):
        await subscribed(store, customer)
    now = store.clock.now()
    await handle_action(
        store, action(ORG, now, "cus_cancel", "sub_cus_cancel", Cancel(when="end_of_term"))
    )
    await handle_action(
        store,
        action(
            ORG,
            now,
            "cus_pause",
            "sub_cus_pause",
            Pause(
                when="on_date",
                pause_on=START + timedelta(days=10),
                resume_on=START + timedelta(days=20),
            ),
        ),
    )
    await handle_action(
        store,
        action(
            ORG,
            now,
            "cus_change",
            "sub_cus_change",
            ChangeSubscription(when="end_of_term", plan_code="pro"),
        ),
    )

    move_to(store, START + timedelta(days=10))
    assert await run_due(store) == 1
    assert (await current(store, "sub_cus_pause")).status == "paused"

    move_to(store, START + timedelta(days=20))
    assert await run_due(store) == 1
    resumed = await current(store, "sub_cus_pause")
    assert resumed.status == "live"
    assert resumed.term_end == month(1) + timedelta(days=10)  # paid time kept

    move_to(store, month(1))
    assert await run_due(store) == 2
    assert (await current(store, "sub_cus_cancel")).status == "cancelled"
    changed = await current(store, "sub_cus_change")
    assert (changed.plan_code, changed.scheduled_change) == ("pro", None)
    charges = await outbox_bodies(store.db, "ChargeRaised")
    renewal = [c for c in charges if c["subscription_id"] == "sub_cus_change"][-1]
    assert (renewal["reason"], renewal["total_minor"]) == ("renewal", 3000)
    assert not [
        c for c in charges if c["subscription_id"] == "sub_cus_cancel" and c["reason"] == "renewal"
    ]


async def test_invoicings_payment_outcomes_move_past_due_unpaid_and_live(store: Store) -> None:
    await subscribed(store, "cus_pay", autocharge=True, payment_method_id="pm_1")

    def failed(final: bool, attempt: int) -> AutochargeFailed:
        return AutochargeFailed(
            organisation_id=ORG,
            correlation_id=f"pay-{attempt}",
            occurred_at=store.clock.now(),
            data=AutochargeFailure(
                customer_id="cus_pay",
                subscription_id="sub_cus_pay",
                invoice_id="inv_1",
                attempt=attempt,
                final=final,
                code="card_declined",
            ),
        )

    first = failed(final=False, attempt=1)
    await handle_payment_outcome(store, first)
    await handle_payment_outcome(store, first)  # a redelivery changes nothing more
    assert (await current(store, "sub_cus_pay")).status == "past_due"
    await handle_payment_outcome(store, failed(final=True, attempt=3))
    assert (await current(store, "sub_cus_pay")).status == "unpaid"

    move_to(store, month(2))
    assert await run_due(store) == 0  # an unpaid subscription is not renewed

    await handle_payment_outcome(
        store,
        InvoicePaid(
            organisation_id=ORG,
            correlation_id="paid-1",
            occurred_at=store.clock.now(),
            data=PaidInvoice(
                customer_id="cus_pay",
                invoice_id="inv_1",
                subscription_id="sub_cus_pay",
                amount=Money(amount_minor=1000, currency="EUR"),
            ),
        ),
    )
    sub = await current(store, "sub_cus_pay")
    assert sub.status == "live"
    changes = [c["change"] for c in await outbox_bodies(store.db, "SubscriptionChanged")]
    assert changes == ["created", "payment_failed", "unpaid", "paid"]
