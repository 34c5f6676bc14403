"""Composition root of the invoicing service."""

from __future__ import annotations

from faststream import FastStream
from faststream.specification import AsyncAPI
from litestar import Litestar

from invoicing.adapters.accounts import AccountRepository
from invoicing.handlers import customer_events
from invoicing.settings import InvoicingSettings
from portal_runtime.clock import Clock
from portal_runtime.http import service_app
from portal_runtime.runtime import DOCUMENTED_BROKER, ServiceRuntime


def build_runtime(
    settings: InvoicingSettings | None = None, clock: Clock | None = None
) -> ServiceRuntime:
    runtime = ServiceRuntime(settings or InvoicingSettings(), clock)
    runtime.on_start.append(lambda: AccountRepository.ensure_indexes(runtime.store.db))
    customer_events.register(runtime)
    return runtime


def create_app(settings: InvoicingSettings | None = None, clock: Clock | None = None) -> Litestar:
    return service_app(build_runtime(settings, clock))


def asyncapi_app() -> FastStream:
    """For `faststream docs gen --factory invoicing.app:asyncapi_app`."""
    runtime = build_runtime(InvoicingSettings(kafka_bootstrap=DOCUMENTED_BROKER))
    return FastStream(runtime.broker, specification=AsyncAPI(title="invoicing", version="1.0.0"))
