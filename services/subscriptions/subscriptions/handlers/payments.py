"""Invoicing's payment outcomes that move a subscription between live, past due and unpaid."""

from __future__ import annotations

from portal_contracts.invoicing import (
    AutochargeFailed,
    InvoiceMessage,
    InvoicePaid,
    PaymentMessage,
    PaymentMethodRemoved,
    PaymentMethodReplaced,
)
from portal_contracts.topics import INVOICE_EVENTS, PAYMENT_EVENTS
from portal_runtime.messaging import subscriber
from portal_runtime.runtime import ServiceRuntime
from subscriptions.service_layer.subscriptions import (
    handle_payment_method_change,
    handle_payment_outcome,
)


def register(runtime: ServiceRuntime) -> None:
    broker = runtime.broker

    @subscriber(
        broker,
        runtime.settings,
        INVOICE_EVENTS,
        group="subscriptions.invoice-events",
        title="invoicing.invoice-events:subscriptions",
        description="A paid invoice brings a past-due or unpaid subscription back to live.",
    )
    async def on_invoice_event(message: InvoiceMessage) -> None:
        if isinstance(message, InvoicePaid):
            await handle_payment_outcome(runtime.store, message)

    @subscriber(
        broker,
        runtime.settings,
        PAYMENT_EVENTS,
        group="subscriptions.payment-events",
        title="invoicing.payment-events:subscriptions",
        description=(
            "A failed autocharge makes a subscription past due (unpaid when final); a replaced"
            " or removed payment method is replaced on (or unlinked from) every subscription"
            " that autocharges with it."
        ),
    )
    async def on_payment_event(message: PaymentMessage) -> None:
        if isinstance(message, AutochargeFailed):
            await handle_payment_outcome(runtime.store, message)
        elif isinstance(message, PaymentMethodReplaced | PaymentMethodRemoved):
            await handle_payment_method_change(runtime.store, message)
