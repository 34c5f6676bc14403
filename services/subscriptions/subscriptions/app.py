"""Composition root of the subscriptions service."""

from __future__ import annotations

from datetime import timedelta

from faststream import FastStream
from faststream.specification import AsyncAPI
from litestar import Litestar

from portal_runtime.clock import Clock
from portal_runtime.http import service_app
from portal_runtime.runtime import DOCUMENTED_BROKER, ServiceRuntime
from subscriptions.adapters.customers import CustomerRepository
from subscriptions.adapters.subscriptions import SubscriptionRepository
from subscriptions.handlers import commands, payments
from subscriptions.service_layer.billing_clock import clock_job
from subscriptions.settings import SubscriptionsSettings


def build_runtime(
    settings: SubscriptionsSettings | None = None, clock: Clock | None = None
) -> ServiceRuntime:
    runtime = ServiceRuntime(settings or SubscriptionsSettings(), clock)
    runtime.on_start.append(lambda: CustomerRepository.ensure_indexes(runtime.store.db))
    runtime.on_start.append(lambda: SubscriptionRepository.ensure_indexes(runtime.store.db))
    commands.register(runtime)
    payments.register(runtime)
    config = runtime.settings
    if isinstance(config, SubscriptionsSettings) and config.billing_clock_enabled:
        runtime.jobs.append(
            clock_job(
                runtime.store,
                config.billing_clock_poll_seconds,
                config.billing_clock_batch,
                timedelta(seconds=config.billing_clock_lease_seconds),
            )
        )
    return runtime


def create_app(
    settings: SubscriptionsSettings | None = None, clock: Clock | None = None
) -> Litestar:
    return service_app(build_runtime(settings, clock))


def asyncapi_app() -> FastStream:
    """For `faststream docs gen --factory subscriptions.app:asyncapi_app`."""
    runtime = build_runtime(SubscriptionsSettings(kafka_bootstrap=DOCUMENTED_BROKER))
    return FastStream(
        runtime.broker,
        specification=AsyncAPI(title="subscriptions", version="1.0.0"),
    )
