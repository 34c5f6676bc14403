"""OpenTelemetry: one tracer provider per process, MongoDB command spans, context carriers
so a trace survives the trip through the outbox."""

from __future__ import annotations

import logging
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter
from pymongo import monitoring

log = logging.getLogger(__name__)


def configure_tracing(service: str, endpoint: str | None = None) -> TracerProvider:
    """Install a provider unless one is already set (tests install their own first)."""
    current = trace.get_tracer_provider()
    if isinstance(current, TracerProvider):
        return current
    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    if endpoint:
        exporter = _otlp_exporter(endpoint)
        if exporter is not None:
            provider.add_span_processor(BatchSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    return provider


def _otlp_exporter(endpoint: str) -> SpanExporter | None:
    try:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import (  # type: ignore[import-not-found,unused-ignore]
            OTLPSpanExporter,
        )
    except ImportError:
        log.warning("OTLP exporter not installed; spans stay in process")
        return None
    exporter: SpanExporter = OTLPSpanExporter(endpoint=endpoint)
    return exporter


def current_carrier() -> dict[str, str]:
    """The current trace context as headers (W3C traceparent), to store beside an outbox row."""
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return carrier


def context_from(carrier: dict[str, str]) -> otel_context.Context:
    return propagate.extract(carrier)


class MongoCommandTracer(monitoring.CommandListener):
    """A span per MongoDB command, child of whatever span is current when it starts."""

    def __init__(self) -> None:
        self._spans: dict[int, Any] = {}
        self._tracer = trace.get_tracer("portal.mongodb")

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        if not trace.get_current_span().get_span_context().is_valid:
            return
        span = self._tracer.start_span(
            f"mongodb {event.command_name}",
            kind=trace.SpanKind.CLIENT,
            attributes={
                "db.system": "mongodb",
                "db.name": event.database_name,
                "db.operation": event.command_name,
            },
        )
        self._spans[event.request_id] = span

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        span = self._spans.pop(event.request_id, None)
        if span is not None:
            span.end()

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        span = self._spans.pop(event.request_id, None)
        if span is not None:
            span.set_status(trace.Status(trace.StatusCode.ERROR, str(event.failure)[:200]))
            span.end()
