"""Composition root of the invoicing service."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import timedelta

from faststream import FastStream
from faststream.specification import AsyncAPI
from litestar import Litestar

from invoicing.adapters import invoices as invoice_store
from invoicing.adapters import payments as payment_store
from invoicing.adapters.accounts import AccountRepository
from invoicing.adapters.payment_gateway import MongoChargeBook, SandboxGateway
from invoicing.handlers import commands, customer_events, documents, subscription_events
from invoicing.service_layer import invoices, payments, quotes
from invoicing.service_layer.payments import Payments
from invoicing.settings import InvoicingSettings
from portal_runtime.clock import Clock
from portal_runtime.http import service_app
from portal_runtime.runtime import DOCUMENTED_BROKER, ServiceRuntime


def build_runtime(
    settings: InvoicingSettings | None = None, clock: Clock | None = None
) -> ServiceRuntime:
    settings = settings or InvoicingSettings()
    runtime = ServiceRuntime(settings, clock)
    db = runtime.store.db
    charges = MongoChargeBook(db)
    gateway = SandboxGateway(
        charges,
        runtime.clock,
        settle_after=timedelta(seconds=settings.sandbox_settle_after_seconds),
    )
    ctx = Payments(runtime.store, gateway)
    runtime.on_start.append(lambda: AccountRepository.ensure_indexes(db))
    runtime.on_start.append(lambda: invoice_store.ensure_indexes(db))
    runtime.on_start.append(lambda: payment_store.ensure_indexes(db))
    runtime.on_start.append(charges.ensure_indexes)
    customer_events.register(runtime)
    subscription_events.register(runtime, ctx)
    commands.register(runtime, ctx)
    documents.register(runtime)
    poll = settings.jobs_poll_seconds
    runtime.jobs.append(every(poll, lambda: invoices.mark_overdue(runtime.store)))
    runtime.jobs.append(every(poll, lambda: quotes.expire_quotes(runtime.store, ctx.instance)))
    runtime.jobs.append(every(poll, lambda: payments.run_autocharge_retries(ctx)))
    runtime.jobs.append(every(poll, lambda: payments.resolve_payments(ctx)))
    return runtime


def every(seconds: float, job: Callable[[], Awaitable[object]]) -> Callable[[], Awaitable[None]]:
    """A background loop: run the job, wait, again (the runtime restarts it if it fails)."""

    async def loop() -> None:
        while True:
            await job()
            await asyncio.sleep(seconds)

    return loop


def create_app(settings: InvoicingSettings | None = None, clock: Clock | None = None) -> Litestar:
    return service_app(build_runtime(settings, clock))


def asyncapi_app() -> FastStream:
    """For `faststream docs gen --factory invoicing.app:asyncapi_app`."""
    runtime = build_runtime(InvoicingSettings(kafka_bootstrap=DOCUMENTED_BROKER))
    return FastStream(runtime.broker, specification=AsyncAPI(title="invoicing", version="1.0.0"))
