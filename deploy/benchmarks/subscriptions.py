"""Renewals through the billing clock of the running subscriptions service.

N thousand live subscriptions (scale = N) are written straight into the service's database with
their term already over but nothing due yet; one update then makes them all due at once, and
the service's own clock (its background job: lease a batch, one transaction per subscription
with the new term, `SubscriptionChanged` + `ChargeRaised` in the outbox) renews them. Measured:
from that update until every one has its next term, and until the outbox relay has published
every charge. Before that, the same clock code alone, in this process, on a scratch database of
the same server. Both are stated against the raw `insert_one` rate of the same database.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from pymongo import AsyncMongoClient

from deploy.local.stack import LocalStack
from portal_contracts.catalogue import PlanTerms
from portal_contracts.common import Money
from portal_contracts.subscriptions import NewSubscription
from portal_runtime.clock import MovableClock
from portal_runtime.store import Store
from subscriptions.adapters.subscriptions import SubscriptionRepository, to_document
from subscriptions.domain.subscriptions import Catalogue, create
from subscriptions.service_layer.billing_clock import run_due

DATABASE = "subscriptions"
POLL_SECONDS = 0.05
TIMEOUT_SECONDS = 600.0
PLAN = PlanTerms(code="bench", name="Bench", price=Money(amount_minor=1200, currency="EUR"))


def _documents(org: str, count: int, term_end: datetime) -> list[dict[str, Any]]:
    catalogue = Catalogue(plans={PLAN.code: PLAN})
    start = term_end - timedelta(days=31)
    documents = []
    for i in range(count):
        new = NewSubscription(
            customer_id=f"cus_bench_{i}",
            subscription_id=f"sub_bench_{i}",
            plan_code=PLAN.code,
            start_with_trial=False,
        )
        sub = create(new, "EUR", catalogue, start).subscription
        sub = sub.model_copy(update={"term_start": start, "term_end": term_end})
        document = to_document(org, sub)
        document["due_at"] = None  # released all at once below
        documents.append(document)
    return documents


async def _clock_alone(uri: str, count: int) -> float:
    """The same clock code in this process on a scratch database of the same server, while no
    consumer reacts to its events: the cost of renewing itself. Returns renewals per second."""
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(uri, tz_aware=True)
    name = f"bench_clock_{uuid.uuid4().hex[:8]}"
    now = datetime.now(UTC)
    try:
        store = Store(client, name, MovableClock(now))
        await store.ensure_indexes()
        await SubscriptionRepository.ensure_indexes(store.db)
        documents = _documents("org_bench", count, now - timedelta(minutes=1))
        for document in documents:
            document["due_at"] = now - timedelta(minutes=1)
        for offset in range(0, count, 1000):
            await store.db["subscriptions"].insert_many(documents[offset : offset + 1000])
        began = time.perf_counter()
        renewed = 0
        while advanced := await run_due(store):
            renewed += advanced
        elapsed = time.perf_counter() - began
        await client.drop_database(name)
    finally:
        await client.close()
    return renewed / elapsed if elapsed else 0.0


async def measure(
    stack: LocalStack, http: httpx.AsyncClient, raw: dict[str, float], scale: int
) -> dict[str, Any]:
    count = max(1, scale) * 1000
    # First, before the services have anything of this run to consume.
    alone_rate = await _clock_alone(stack.mongo_uri, count)
    org = f"org_bench_{uuid.uuid4().hex[:8]}"
    term_end = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=1)
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(stack.mongo_uri, tz_aware=True)
    try:
        db = client[DATABASE]
        subscriptions, outbox = db["subscriptions"], db["outbox"]
        documents = _documents(org, count, term_end)
        for offset in range(0, count, 1000):
            await subscriptions.insert_many(documents[offset : offset + 1000], ordered=False)

        began = time.perf_counter()
        await subscriptions.update_many({"organisation_id": org}, {"$set": {"due_at": term_end}})
        renewed_query = {"organisation_id": org, "term_start": {"$gte": term_end}}
        charges_query = {"organisation_id": org, "type": "ChargeRaised", "published": True}
        renewed_s = published_s = None
        deadline = began + TIMEOUT_SECONDS
        while time.perf_counter() < deadline and published_s is None:
            if renewed_s is None and await subscriptions.count_documents(renewed_query) >= count:
                renewed_s = time.perf_counter() - began
            if renewed_s is not None and await outbox.count_documents(charges_query) >= count:
                published_s = time.perf_counter() - began
            await asyncio.sleep(POLL_SECONDS)
        renewed = await subscriptions.count_documents(renewed_query)
        await subscriptions.delete_many({"organisation_id": org})
    finally:
        await client.close()

    insert_rate = raw.get("mongo_insert_per_s") or 0.0
    renew_rate = count / renewed_s if renewed_s else 0.0
    publish_rate = count / published_s if published_s else 0.0
    return {
        "subscriptions": count,
        "renewed": renewed,
        "renew_seconds": round(renewed_s, 3) if renewed_s else None,
        "renewals_per_s": round(renew_rate, 1),
        "charges_published_seconds": round(published_s, 3) if published_s else None,
        "charges_published_per_s": round(publish_rate, 1),
        "ratio_renewals_to_mongo_insert": round(renew_rate / insert_rate, 4)
        if insert_rate
        else None,
        "clock_alone_renewals_per_s": round(alone_rate, 1),
        "ratio_clock_alone_to_mongo_insert": round(alone_rate / insert_rate, 4)
        if insert_rate
        else None,
        "definition": "renewals_per_s: subscriptions given their next term by the running "
        "service's billing clock per second, from the moment all became due, while invoicing, "
        "the gateway and notifications consume its events on the same database server; "
        "clock_alone: the same code in-process on a scratch database with no consumers; each "
        "renewal is the subscription's new state plus SubscriptionChanged and ChargeRaised in "
        "the outbox, 50 subscriptions per transaction; ratios to raw insert_one/s",
    }
