"""Paying invoices end to end: HTTP pay request -> the invoice shows "paid" in the portal.

Two figures: the latency (p50/p99) of that whole path at a steady arrival rate (open loop,
one payment every 1/RATE seconds whatever the answers), and the payments per second the stack
completes when several customers pay as fast as they can (closed loop). Every payment is a
card payment at the sandbox gateway; amounts differ so the sandbox's repeated-charge check
(CP3005) never fires.
"""

from __future__ import annotations

import asyncio
import itertools
import time
import uuid
from typing import Any

import httpx

from deploy.benchmarks._client import (
    BenchCustomer,
    BenchMerchant,
    answer,
    register_merchant,
    settled,
    signed_in_customer,
)
from deploy.benchmarks._measuring import Run, describe, run_workers
from deploy.local.stack import LocalStack

CUSTOMERS = 4
RATE_PER_S = 2.0
STEADY_PAYMENTS = 20
CONCURRENCY = 4
SECONDS = 10.0
PAID_TIMEOUT_SECONDS = 30.0
POLL_SECONDS = 0.02
_amounts = itertools.count(1_000)


async def _invoice(
    http: httpx.AsyncClient, stack: LocalStack, merchant: BenchMerchant, customer: BenchCustomer
) -> str:
    created = answer(
        await http.post(
            f"{stack.urls.gateway}/admin/v1/customers/{customer.customer_id}/invoices",
            json={
                "lines": [
                    {
                        "description": "Bench item",
                        "quantity": 1,
                        "unit_amount_minor": next(_amounts),
                    }
                ]
            },
            headers=merchant.admin,
        ),
        201,
    )
    return str(created["invoice_id"])


async def _pay_until_paid(
    http: httpx.AsyncClient,
    stack: LocalStack,
    merchant: BenchMerchant,
    customer: BenchCustomer,
    invoice_id: str,
) -> None:
    portal = f"{stack.urls.gateway}/portal/{merchant.slug}/api"
    paid = await http.post(
        f"{portal}/payments",
        json={"invoice_ids": [invoice_id], "token": "tok_visa", "save_method": False},
        headers={**customer.auth, "Idempotency-Key": uuid.uuid4().hex},
    )
    answer(paid, 201, 202)
    deadline = time.monotonic() + PAID_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        view = answer(await http.get(f"{portal}/invoices/{invoice_id}", headers=customer.auth), 200)
        if view["status"] == "paid":
            return
        await asyncio.sleep(POLL_SECONDS)
    raise TimeoutError(f"invoice {invoice_id} not paid within {PAID_TIMEOUT_SECONDS}s")


async def _steady(
    http: httpx.AsyncClient,
    stack: LocalStack,
    merchant: BenchMerchant,
    work: list[tuple[BenchCustomer, str]],
) -> Run:
    run = Run()

    async def one(index: int, customer: BenchCustomer, invoice_id: str) -> None:
        await asyncio.sleep(index / RATE_PER_S)
        started = time.perf_counter()
        try:
            await _pay_until_paid(http, stack, merchant, customer, invoice_id)
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
    steady = await _steady(http, stack, merchant, steady_work)

    # Closed loop: invoices made ahead, so the timed part is paying only.
    backlog = [
        (customer, await _invoice(http, stack, merchant, customer))
        for customer in itertools.islice(
            itertools.cycle(customers), int(CONCURRENCY * SECONDS * 2 * max(1, scale))
        )
    ]
    queue = iter(backlog)

    async def pay(_: int) -> None:
        customer, invoice_id = next(queue)
        await _pay_until_paid(http, stack, merchant, customer, invoice_id)

    flat_out = await run_workers(pay, CONCURRENCY, seconds=SECONDS * max(1, scale))
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
    }
