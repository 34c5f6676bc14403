"""Quotes expire by the clock on the real database: a sent or viewed quote left unanswered past
its expiry date becomes expired once (however often or concurrently the job runs), drafts and
answered quotes stay as they are, and the portal's read model and home dashboard follow the
event."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
from pydantic import TypeAdapter
from pymongo import AsyncMongoClient

from invoicing.adapters import document_repositories
from invoicing.adapters.payments import Leases
from invoicing.service_layer.document_commands import handle_document_command
from invoicing.service_layer.quotes import EXPIRY_LEASE, expire_quotes
from portal_contracts import documents as d
from portal_contracts.topics import QUOTE_EVENTS
from portal_gateway.service_layer import document_views
from portal_gateway.service_layer.projections import CONSUMER, PROJECTORS
from portal_runtime.clock import MovableClock
from portal_runtime.store import Store, Transaction
from tests.support.invoicing import CONTACT, fields

pytestmark = pytest.mark.connected

LINES = (d.DocumentLine(description="Kitchen refit", quantity=1, unit_amount_minor=480_000),)
QUOTE_MESSAGE: TypeAdapter[Any] = TypeAdapter(d.QuoteMessage)
# A real, recent start (the inbox and outbox expire rows against the database's own clock).
START = dt.datetime.now(dt.UTC).replace(hour=9, minute=0, second=0, microsecond=0)
VALID_THROUGH = START.date() + dt.timedelta(days=2)
LAST_VALID_MOMENT = dt.datetime.combine(VALID_THROUGH, dt.time(23, 59, 59), dt.UTC)
NEXT_DAY = dt.datetime.combine(VALID_THROUGH + dt.timedelta(days=1), dt.time(0, 0), dt.UTC)


@dataclass
class World:
    invoicing: Store
    gateway: Store
    clock: MovableClock
    org: str
    customer: str


@pytest.fixture
async def world(mongo_uri: str, database_name: str) -> AsyncIterator[World]:
    clock = MovableClock(START)
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongo_uri, tz_aware=True)
    invoicing = Store(client, database_name, clock)
    gateway = Store(client, f"{database_name}_gw", clock)
    for store in (invoicing, gateway):
        await store.ensure_indexes()
    await document_repositories.ensure_indexes(invoicing.db)
    await document_views.ensure_indexes(gateway.db)
    suffix = uuid.uuid4().hex[:8]
    try:
        yield World(invoicing, gateway, clock, f"org_{suffix}", f"cus_{suffix}")
    finally:
        await client.close()


def move_to(world: World, when: dt.datetime) -> None:
    world.clock.advance(when - world.clock.now())


async def quote(world: World, expires_on: dt.date | None = VALID_THROUGH, send: bool = True) -> str:
    quote_id = f"qt_{uuid.uuid4().hex[:10]}"
    new = d.NewQuote(
        quote_id=quote_id,
        customer_id=world.customer,
        currency="EUR",
        lines=LINES,
        expires_on=expires_on,
        send=send,
    )
    await handle_document_command(world.invoicing, d.CreateQuote(**fields(world.org), data=new))
    return quote_id


async def view(world: World, quote_id: str) -> None:
    ref = d.QuoteRef(quote_id=quote_id, customer_id=world.customer)
    command = d.RecordQuoteView(**fields(world.org, CONTACT), data=ref)
    await handle_document_command(world.invoicing, command)


async def accept(world: World, quote_id: str) -> str:
    """Accept as the customer; the correlation id of the command, to find its outcome."""
    answer = d.QuoteAcceptance(quote_id=quote_id, customer_id=world.customer, contact_id="ct_1")
    command = d.AcceptQuote(**fields(world.org, CONTACT), data=answer)
    await handle_document_command(world.invoicing, command)
    return command.correlation_id


async def decline(world: World, quote_id: str) -> None:
    answer = d.QuoteRefusal(
        quote_id=quote_id, customer_id=world.customer, contact_id="ct_1", reason="Over budget"
    )
    await handle_document_command(
        world.invoicing, d.DeclineQuote(**fields(world.org, CONTACT), data=answer)
    )


async def statuses(world: World) -> dict[str, str]:
    rows = world.invoicing.db["quotes"].find({"organisation_id": world.org})
    return {row["quote_id"]: row["status"] async for row in rows}


async def written(world: World, message_type: str) -> list[dict[str, Any]]:
    """Every message of this type invoicing wrote (its outbox), in write order."""
    rows = world.invoicing.db["outbox"].find({"type": message_type}).sort([("key", 1), ("seq", 1)])
    return [json.loads(row["body"]) async for row in rows]


async def deliver_to_gateway(world: World) -> None:
    """Hand every quote event invoicing wrote, in order, to the gateway's projectors (the inbox
    makes a repeated event a no-op, as it is when the broker redelivers)."""
    rows = world.invoicing.db["outbox"].find({"topic": QUOTE_EVENTS}).sort([("key", 1), ("seq", 1)])
    async for row in rows:
        event = QUOTE_MESSAGE.validate_json(row["body"])

        async def work(tx: Transaction, event: Any = event) -> None:
            for projector in PROJECTORS:
                await projector(tx, event)

        await world.gateway.transaction(work, handling=(CONSUMER, event))


async def portal_statuses(world: World, status: str | None = None) -> dict[str, str]:
    shown = await document_views.quotes_of(world.gateway.db, world.org, world.customer, status)
    return {q["quote_id"]: q["status"] for q in shown}


async def quotes_awaiting(world: World) -> int:
    # The customer's view document (no `CustomerCreated` here, so not through `get`).
    view = await world.gateway.db["customer_views"].find_one(
        {"organisation_id": world.org, "customer_id": world.customer}
    )
    assert view is not None
    return int(view["dashboard"]["quotes_awaiting"])


async def test_open_quotes_expire_once_the_day_after_their_expiry_date(world: World) -> None:
    sent, viewed = await quote(world), await quote(world)
    await view(world, viewed)
    draft = await quote(world, send=False)
    accepted, declined = await quote(world), await quote(world)
    await accept(world, accepted)
    await decline(world, declined)
    undated, later = (
        await quote(world, expires_on=None),
        await quote(world, expires_on=VALID_THROUGH + dt.timedelta(days=10)),
    )
    await deliver_to_gateway(world)
    assert await quotes_awaiting(world) == 4  # sent, viewed, undated, later

    # Valid through its expiry date: nothing happens on that day, however late.
    move_to(world, LAST_VALID_MOMENT)
    assert await expire_quotes(world.invoicing) == 0

    move_to(world, NEXT_DAY)
    assert await expire_quotes(world.invoicing) == 2
    assert await statuses(world) == {
        sent: "expired",
        viewed: "expired",
        draft: "draft",
        accepted: "accepted",
        declined: "declined",
        undated: "sent",
        later: "sent",
    }
    expired = await written(world, "QuoteExpired")
    assert sorted((e["data"]["quote_id"], e["data"]["expires_on"]) for e in expired) == sorted(
        [(sent, VALID_THROUGH.isoformat()), (viewed, VALID_THROUGH.isoformat())]
    )
    assert {e["correlation_id"] for e in expired} == {f"expiry:{sent}", f"expiry:{viewed}"}
    # The PDF the portal downloads is redrawn with the new status.
    redrawn = [
        r["data"]["document_id"]
        for r in await written(world, "DocumentRendered")
        if r["correlation_id"].startswith("expiry:")
    ]
    assert sorted(redrawn) == sorted([sent, viewed])

    # A second run (and a later one) changes nothing and tells nobody again.
    assert await expire_quotes(world.invoicing) == 0
    move_to(world, NEXT_DAY + dt.timedelta(days=3))
    assert await expire_quotes(world.invoicing) == 0
    assert len(await written(world, "QuoteExpired")) == 2

    # The customer can no longer answer it, and is told why.
    too_late = await accept(world, sent)
    refusals = [
        r for r in await written(world, "CommandRejected") if r["correlation_id"] == too_late
    ]
    assert [r["data"]["code"] for r in refusals] == ["quote_expired"]
    assert (await statuses(world))[sent] == "expired"

    # The portal lists them as expired, and the home page no longer counts them as awaiting.
    await deliver_to_gateway(world)
    assert await portal_statuses(world, "expired") == {sent: "expired", viewed: "expired"}
    assert (await portal_statuses(world))[viewed] == "expired"
    assert await quotes_awaiting(world) == 2  # undated, later


async def test_concurrent_runs_expire_each_quote_once(world: World) -> None:
    opened = [await quote(world) for _ in range(6)]
    move_to(world, NEXT_DAY)

    runs = await asyncio.gather(*(expire_quotes(world.invoicing) for _ in range(3)))

    assert sum(runs) == 6
    assert set((await statuses(world)).values()) == {"expired"}
    expired = await written(world, "QuoteExpired")
    assert sorted(e["data"]["quote_id"] for e in expired) == sorted(opened)
    assert await expire_quotes(world.invoicing) == 0


async def test_one_instance_at_a_time_runs_the_job(world: World) -> None:
    opened = await quote(world)
    move_to(world, NEXT_DAY)
    assert await Leases(world.invoicing.db).take("quote-expiry", "other", NEXT_DAY, EXPIRY_LEASE)

    assert await expire_quotes(world.invoicing, instance="mine") == 0
    assert (await statuses(world))[opened] == "sent"

    # The other instance stopped renewing its lease: this one takes over when it runs out.
    move_to(world, NEXT_DAY + EXPIRY_LEASE)
    assert await expire_quotes(world.invoicing, instance="mine") == 1
    assert (await statuses(world))[opened] == "expired"
