"""Invoicing's invoice and payment events for the portal's views; command outcomes."""

from __future__ import annotations

from portal_contracts.envelope import Envelope
from portal_contracts.invoicing import InvoiceMessage, InvoicingCommand, PaymentMessage
from portal_contracts.topics import INVOICE_EVENTS, INVOICING_COMMANDS, PAYMENT_EVENTS
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
        INVOICE_EVENTS,
        group="portal-gateway.invoice-events",
        title="invoicing.invoice-events:portal-gateway",
        description="Invoices, their PDFs and the merchant's invoicing set-up; outcomes.",
    )
    async def on_invoice_event(message: InvoiceMessage) -> None:
        if isinstance(message, Envelope):
            await project(gateway, message)

    @subscriber(
        broker,
        settings,
        PAYMENT_EVENTS,
        group="portal-gateway.payment-events",
        title="invoicing.payment-events:portal-gateway",
        description="Payments and saved payment methods for the portal; outcomes.",
    )
    async def on_payment_event(message: PaymentMessage) -> None:
        if isinstance(message, Envelope):
            await project(gateway, message)

    broker.publisher(
        INVOICING_COMMANDS,
        title="invoicing.commands:portal-gateway",
        description="Invoice and payment commands from the portal and the admin API (outbox).",
        schema=InvoicingCommand,
    )
