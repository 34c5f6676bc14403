"""Paying invoices end to end: HTTP pay request -> the invoice shows "paid" in the portal.

Two figures: the latency (p50/p99) of that whole path at a steady arrival rate (open loop,
one payment every 1/RATE seconds whatever the answers), and the payments per second the stack
completes when several customers pay as fast as they can (closed loop). Every payment is a
card payment at the sandbox gateway; amounts differ so the sandbox's repeated-charge check
(CP3005) never fires.

"Shows paid" is seen on a change stream of the gateway's invoice read model (the document the
portal's invoice page reads), then confirmed with one HTTP read of the invoice through the admin
API. Polling the portal's invoice page instead would measure the poller: every portal read of
an invoice records a "viewed" activity (a transaction, an outbox row and a message for two
consumers), about fifty per second per payer at a 20 ms poll.

Invoices are raised before each phase and the phase starts once the platform has worked that
off (`_quiet`), so neither phase pays for the invoices' own emails and projections.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
import uuid
from typing import Any

import httpx
from pymongo import AsyncMongoClient

from deploy.benchmarks._client import (
    BenchCustomer,
    BenchMerchant,
    answer,
    command_result,
    register_merchant,
    settled,
    signed_in_customer,
)
from deploy.benchmarks._measuring import Run, describe, run_workers
from deploy.benchmarks._quiet import database_names, wait_until_quiet
from deploy.local.stack import LocalStack
from portal_gateway.service_layer.invoice_views import INVOICES

CUSTOMERS = 4
RATE_PER_S = 2.0
STEADY_PAYMENTS = 20
CONCURRENCY = 4
SECONDS = 10.0
PAID_TIMEOUT_SECONDS = 30.0
_amounts = itertools.count(1_000)


async def _invoice(
    http: httpx.AsyncClient, stack: LocalStack, merchant: BenchMerchant, customer: BenchCustomer
) -> str:
    created = await command_result(
        stack,
        http,
        f"{stack.urls.gateway}/admin/v1/customers/{customer.customer_id}/invoices",
        {
            "lines": [
                {"description": "Bench item", "quantity": 1, "unit_amount_minor": next(_amounts)}
            ]
        },
        merchant.admin,
        201,
    )
    return str(created["invoice_id"])


class _PaidWatch:
    """Invoices the gateway's read model shows as paid, from a change stream opened before the
    first payment. Only invoices someone waits for are kept (invoice ids are unique)."""

    def __init__(self, stack: LocalStack) -> None:
        self.client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(stack.mongo_uri)
        self.collection = self.client[database_names(stack)["portal-gateway"]][INVOICES]
        self.paid: dict[str, asyncio.Event] = {}
        self.task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        stream = await self.collection.watch(
            [{"$match": {"operationType": {"$in": ["insert", "update", "replace"]}}}],
            full_document="updateLookup",
        )
        self.task = asyncio.create_task(self._follow(stream))

    async def _follow(self, stream: Any) -> None:
        async with stream:
            async for change in stream:
                view = change.get("fullDocument") or {}
                waiting = self.paid.get(str(view.get("invoice_id")))
                if waiting is not None and view.get("status") == "paid":
                    waiting.set()

    def event(self, invoice_id: str) -> asyncio.Event:
        return self.paid.setdefault(invoice_id, asyncio.Event())

    async def wait(self, invoice_id: str, timeout: float) -> None:
        if self.task is not None and self.task.done():
            self.task.result()  # the stream ended: say why
            raise RuntimeError("the change stream of the invoice views ended")
        try:
            await asyncio.wait_for(self.event(invoice_id).wait(), timeout)
        except TimeoutError:
            raise TimeoutError(f"invoice {invoice_id} not paid within {timeout}s") from None

    async def close(self) -> None:
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self.task
        await self.client.close()


async def _pay_until_paid(
    http: httpx.AsyncClient,
    stack: LocalStack,
    merchant: BenchMerchant,
    customer: BenchCustomer,
    invoice_id: str,
    watch: _PaidWatch,
) -> None:
    portal = f"{stack.urls.gateway}/portal/{merchant.slug}/api"
    watch.event(invoice_id)  # listening before the payment is made
    paid = await http.post(
        f"{portal}/payments",
        json={"invoice_ids": [invoice_id], "token": "tok_visa", "save_method": False},
        headers={**customer.auth, "Idempotency-Key": uuid.uuid4().hex},
    )
    answer(paid, 201, 202)
    await watch.wait(invoice_id, PAID_TIMEOUT_SECONDS)
    view = answer(
        await http.get(
            f"{stack.urls.gateway}/admin/v1/invoices/{invoice_id}", headers=merchant.admin
        ),
        200,
    )
    if view["status"] != "paid":
        raise RuntimeError(f"invoice {invoice_id} read back as {view['status']!r}, not paid")


async def _steady(
    http: httpx.AsyncClient,
    stack: LocalStack,
    merchant: BenchMerchant,
    work: list[tuple[BenchCustomer, str]],
    watch: _PaidWatch,
) -> Run:
    run = Run()

    async def one(index: int, customer: BenchCustomer, invoice_id: str) -> None:
        await asyncio.sleep(index / RATE_PER_S)
        started = time.perf_counter()
        try:
            await _pay_until_paid(http, stack, merchant, customer, invoice_id, watch)
        except Exception as error:
            run.errors.append(describe(error))
            return
        run.latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    await asyncio.gather(*(one(i, c, inv) for i, (c, inv) in enumerate(work)))
    run.seconds = time.perf_counter() - started
    return run


async def measure(
    stack: LocalStack, http: httpx.AsyncClient, raw: dict[str, float], scale: int
) -> dict[str, Any]:
    merchant = await register_merchant(stack, http)
    setup = await http.put(
        f"{stack.urls.gateway}/admin/v1/invoicing/setup",
        json={"default_tax": {"name": "VAT", "rate_basis_points": 1000}},
        headers=merchant.admin,
    )
    answer(await settled(stack, http, merchant.admin, setup), 200, 201)
    customers = [await signed_in_customer(stack, http, merchant) for _ in range(CUSTOMERS)]
    steady_count = STEADY_PAYMENTS * max(1, scale)
    steady_work = [
        (customer, await _invoice(http, stack, merchant, customer))
        for customer in itertools.islice(itertools.cycle(customers), steady_count)
    ]
    watch = _PaidWatch(stack)
    await watch.start()
    try:
        before_steady = await wait_until_quiet(stack)
        steady = await _steady(http, stack, merchant, steady_work, watch)

        # Closed loop: invoices made ahead, so the timed part is paying only.
        backlog = [
            (customer, await _invoice(http, stack, merchant, customer))
            for customer in itertools.islice(
                itertools.cycle(customers), int(CONCURRENCY * SECONDS * 2 * max(1, scale))
            )
        ]
        queue = iter(backlog)
        before_flat_out = await wait_until_quiet(stack)

        async def pay(_: int) -> None:
            customer, invoice_id = next(queue)
            await _pay_until_paid(http, stack, merchant, customer, invoice_id, watch)

        flat_out = await run_workers(pay, CONCURRENCY, seconds=SECONDS * max(1, scale))
    finally:
        await watch.close()
    insert_rate = raw.get("mongo_insert_per_s")
    return {
        "customers": CUSTOMERS,
        "steady_rate_per_s": RATE_PER_S,
        "pay_to_paid_visible_at_steady_rate": steady.as_dict(),
        "concurrency": CONCURRENCY,
        "payments_flat_out": flat_out.as_dict(),
        "payments_per_s": round(flat_out.per_second, 2),
        "payments_per_s_over_raw_insert_per_s": round(flat_out.per_second / insert_rate, 4)
        if insert_rate
        else None,
        "quiet_before_steady": before_steady.as_dict(),
        "quiet_before_flat_out": before_flat_out.as_dict(),
        "paid_seen_by": "change stream on the gateway's invoice read model + one admin GET",
    }
