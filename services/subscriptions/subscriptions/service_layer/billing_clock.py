"""The billing clock: renewals, trial ends and scheduled steps, when they fall due.

Each subscription's next due time is stored with it (`due_at`). A run leases a batch of due
subscriptions (so two clock instances never work on the same one), then advances each in its
own transaction: new state, events and the lease release commit together. Running it twice
does nothing the second time (nothing is due any more), and charge ids are deterministic per
subscription and period, so even a repeated step could not bill twice. A crash leaves the
lease to expire; the next run picks the subscription up again.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from portal_contracts.subscriptions import SubscriptionSnapshot
from portal_runtime.store import Store, Transaction
from subscriptions.adapters.subscriptions import StaleSubscription, SubscriptionRepository
from subscriptions.domain.subscriptions import Catalogue, Outcome, advance
from subscriptions.service_layer.subscriptions import emit_outcome, load_catalogue_for

log = logging.getLogger(__name__)


async def run_due(
    store: Store,
    *,
    batch: int = 200,
    lease: timedelta = timedelta(seconds=60),
    group: int = 50,
) -> int:
    """Advance every subscription due now (up to `batch`); returns how many were advanced.

    The leased subscriptions are advanced `group` at a time, each group in one transaction
    (the database's cost is mostly per transaction, not per document); a group that meets a
    concurrent change is redone one subscription at a time."""
    now = store.clock.now()
    owner = uuid.uuid4().hex
    claimed = await SubscriptionRepository(store.db).claim_due(now, owner, now + lease, batch)
    advanced = 0
    for start in range(0, len(claimed), group):
        keys = claimed[start : start + group]
        try:
            advanced += await advance_group(store, keys, owner, now)
        except StaleSubscription:
            for org, sub_id in keys:
                advanced += await advance_subscription(store, org, sub_id, owner, now)
    return advanced


async def advance_group(
    store: Store, keys: list[tuple[str, str]], owner: str, now: datetime
) -> int:
    async def work(tx: Transaction) -> int:
        subscriptions = SubscriptionRepository(tx.db, tx.session)
        catalogues: dict[str, Catalogue] = {}
        saved: list[tuple[str, SubscriptionSnapshot, int]] = []
        released: list[tuple[str, str]] = []
        emitted: list[tuple[str, Outcome]] = []
        for org, sub in await subscriptions.leased(keys, owner):
            catalogue = Catalogue()
            if sub.scheduled_change is not None:
                if org not in catalogues:
                    catalogues[org] = await load_catalogue_for(tx, org, needed=True)
                catalogue = catalogues[org]
            outcomes = advance(sub, catalogue, now)
            if not outcomes:
                released.append((org, sub.subscription_id))
                continue
            saved.append((org, outcomes[-1].subscription, sub.version))
            emitted += [(org, outcome) for outcome in outcomes]
        await subscriptions.save_all(saved, released)
        for org, outcome in emitted:
            await emit_outcome(tx, None, org, outcome)
        return len(saved)

    return await store.transaction(work) or 0


async def advance_subscription(
    store: Store, organisation_id: str, subscription_id: str, owner: str, now: datetime
) -> int:
    async def work(tx: Transaction) -> int:
        subscriptions = SubscriptionRepository(tx.db, tx.session)
        sub = await subscriptions.get_leased(organisation_id, subscription_id, owner)
        if sub is None:
            return 0  # the lease ran out and another run took it
        catalogue = await load_catalogue_for(
            tx, organisation_id, needed=sub.scheduled_change is not None
        )
        outcomes = advance(sub, catalogue, now)
        if not outcomes:
            await subscriptions.release(organisation_id, subscription_id, owner)
            return 0
        await subscriptions.save(organisation_id, outcomes[-1].subscription, sub.version)
        for outcome in outcomes:
            await emit_outcome(tx, None, organisation_id, outcome)
        return 1

    try:
        advanced = await store.transaction(work)
    except StaleSubscription:
        return 0  # a command changed it meanwhile; the next run sees its new due time
    if advanced:
        log.info("billing clock advanced %s", subscription_id)
    return advanced or 0


def clock_job(
    store: Store, poll_seconds: float, batch: int, lease: timedelta
) -> Callable[[], Awaitable[None]]:
    """A background job for `ServiceRuntime.jobs`: run whenever something is due."""

    async def job() -> None:
        while True:
            advanced = await run_due(store, batch=batch, lease=lease)
            if advanced < batch:
                await asyncio.sleep(poll_seconds)

    return job
