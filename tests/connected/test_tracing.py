"""One trace from the gateway's HTTP request through Kafka into every service and MongoDB.

All five services run in this process (so one in-memory exporter sees every span) against
the real local broker and database; the email goes to a real SMTP server."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from pydantic import SecretStr

from deploy.local.mailbox import Mailbox
from identity.app import build_runtime as identity_runtime
from identity.settings import IdentitySettings
from invoicing.app import build_runtime as invoicing_runtime
from invoicing.settings import InvoicingSettings
from notifications.app import build_runtime as notifications_runtime
from notifications.settings import NotificationsSettings
from portal_gateway.app import create_app as gateway_app
from portal_gateway.settings import GatewaySettings
from portal_runtime.runtime import ServiceRuntime
from subscriptions.app import build_runtime as subscriptions_runtime
from subscriptions.settings import SubscriptionsSettings
from tests.support.waiting import eventually

pytestmark = pytest.mark.connected
TOPIC = "messaging.destination_publish.name"  # what FastStream's consumer spans carry


@pytest.fixture(scope="module")
def spans() -> InMemorySpanExporter:
    exporter = InMemorySpanExporter()
    provider = trace.get_tracer_provider()
    if not isinstance(provider, TracerProvider):
        provider = TracerProvider()
        trace.set_tracer_provider(provider)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return exporter


@pytest.fixture
async def services(
    kafka_bootstrap: str, mongo_uri: str, smtp_server: tuple[Mailbox, int]
) -> AsyncIterator[dict[str, Any]]:
    run = uuid.uuid4().hex[:8]
    common: dict[str, Any] = {"kafka_bootstrap": kafka_bootstrap, "mongo_uri": mongo_uri}
    runtimes: list[ServiceRuntime] = [
        subscriptions_runtime(SubscriptionsSettings(**common, mongo_database=f"subs_{run}")),
        identity_runtime(IdentitySettings(**common, mongo_database=f"identity_{run}")),
        invoicing_runtime(InvoicingSettings(**common, mongo_database=f"invoicing_{run}")),
        notifications_runtime(
            NotificationsSettings(
                **common, mongo_database=f"notifications_{run}", smtp_port=smtp_server[1]
            )
        ),
    ]
    for runtime in runtimes:
        await runtime.start()
    gateway = gateway_app(
        GatewaySettings(
            **common, mongo_database=f"gateway_{run}", operator_token=SecretStr("op-token")
        )
    )
    runtimes.append(gateway.state.runtime)
    await gateway.state.runtime.start()
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=gateway), base_url="http://gateway.test"
        ) as client:
            yield {"client": client, "run": run, "mailbox": smtp_server[0]}
    finally:
        for runtime in runtimes:
            await runtime.stop()


async def test_one_trace_spans_gateway_kafka_every_service_and_mongodb(
    services: dict[str, Any], spans: InMemorySpanExporter
) -> None:
    client, run, mailbox = services["client"], services["run"], services["mailbox"]
    merchant = await client.post(
        "/operator/v1/merchants",
        json={
            "name": "Traced Ltd",
            "portal_slug": f"traced-{run}",
            "contact_email": "ops@traced.example",
        },
        headers={"X-Operator-Token": "op-token"},
    )
    assert merchant.status_code == 201, merchant.text
    email = f"trace.{run}@example.com"
    created = await client.post(
        "/admin/v1/customers",
        json={
            "display_name": "Traced Customer",
            "primary_contact": {"first_name": "Tess", "email": email},
            "enable_portal": True,
        },
        headers={"X-API-Key": merchant.json()["api_key"]},
    )
    assert created.status_code == 201, created.text
    await eventually(lambda: _async([m for m in mailbox.messages if email in m["to"]]))

    request_span = next(
        s
        for s in spans.get_finished_spans()
        if s.kind == trace.SpanKind.SERVER and "/admin/v1/customers" in s.name
    )
    trace_id = request_span.context.trace_id

    def in_trace() -> list[ReadableSpan]:
        return [s for s in spans.get_finished_spans() if s.context.trace_id == trace_id]

    expected_consumed = {
        "subscriptions.commands",
        "subscriptions.customer-events",
        "notifications.commands",
        "invoicing.account-events",
        "identity.access-events",
    }
    expected_databases = {
        f"{name}_{run}" for name in ("subs", "identity", "invoicing", "notifications", "gateway")
    }

    async def whole_trace() -> bool:
        consumed = {
            str(s.attributes.get(TOPIC))
            for s in in_trace()
            if s.kind == trace.SpanKind.CONSUMER and s.attributes
        }
        databases = {str(s.attributes.get("db.name")) for s in in_trace() if s.attributes}
        return expected_consumed <= consumed and expected_databases <= databases

    await eventually(whole_trace, timeout=20)
    consumers = [s for s in in_trace() if s.kind == trace.SpanKind.CONSUMER]
    # The customer event is consumed by identity, invoicing and the gateway, all in this trace.
    assert (
        len(
            [
                s
                for s in consumers
                if s.attributes and s.attributes.get(TOPIC) == "subscriptions.customer-events"
            ]
        )
        >= 3
    )


async def _async(value: Any) -> Any:
    return value
