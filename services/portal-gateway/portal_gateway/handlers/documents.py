"""Invoicing's quote and credit events for the portal's document views; command outcomes."""

from __future__ import annotations

from portal_contracts.documents import CreditMessage, QuoteMessage
from portal_contracts.envelope import Envelope
from portal_contracts.topics import CREDIT_EVENTS, QUOTE_EVENTS
from portal_gateway.service_layer.context import Gateway
from portal_gateway.service_layer.projections import project
from portal_runtime.messaging import subscriber
from portal_runtime.runtime import ServiceRuntime


def register(runtime: ServiceRuntime, gateway: Gateway) -> None:
    broker = runtime.broker
    settings = runtime.settings

    @subscriber(
        broker,
        settings,
        QUOTE_EVENTS,
        group="portal-gateway.quote-events",
        title="invoicing.quote-events:portal-gateway",
        description="Quotes, sales orders and forwarded documents for the portal; outcomes.",
    )
    async def on_quote_event(message: QuoteMessage) -> None:
        if isinstance(message, Envelope):
            await project(gateway, message)

    @subscriber(
        broker,
        settings,
        CREDIT_EVENTS,
        group="portal-gateway.credit-events",
        title="invoicing.credit-events:portal-gateway",
        description="Credit notes and generated statements (parts, then summary); outcomes.",
    )
    async def on_credit_event(message: CreditMessage) -> None:
        if isinstance(message, Envelope):
            await project(gateway, message)
