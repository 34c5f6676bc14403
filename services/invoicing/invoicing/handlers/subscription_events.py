"""Subscription charges become invoices (and are collected when the subscription autocharges);
merchant names for documents and emails."""

from __future__ import annotations

from invoicing.adapters.invoices import MerchantNames
from invoicing.service_layer import invoices, payments
from invoicing.service_layer.payments import Payments
from portal_contracts.merchants import MerchantRegistered
from portal_contracts.registry import MerchantMessage
from portal_contracts.subscriptions import ChargeRaised, SubscriptionMessage
from portal_contracts.topics import MERCHANT_EVENTS, SUBSCRIPTION_EVENTS
from portal_runtime.messaging import subscriber
from portal_runtime.runtime import ServiceRuntime


def register(runtime: ServiceRuntime, ctx: Payments) -> None:
    broker = runtime.broker

    @subscriber(
        broker,
        runtime.settings,
        SUBSCRIPTION_EVENTS,
        group="invoicing.subscription-events",
        title="subscriptions.subscription-events:invoicing",
        description="Charges raised by subscriptions: one invoice per charge id.",
    )
    async def on_subscription_event(message: SubscriptionMessage) -> None:
        if isinstance(message, ChargeRaised):
            raised = await invoices.raise_for_charge(runtime.store, message)
            if raised is not None:
                await payments.autocharge(ctx, raised.invoice, raised.cause)

    @subscriber(
        broker,
        runtime.settings,
        MERCHANT_EVENTS,
        group="invoicing.merchant-events",
        title="gateway.merchant-events:invoicing",
        description="Merchant names for invoice PDFs, receipts and emails.",
    )
    async def on_merchant_event(message: MerchantMessage) -> None:
        if isinstance(message, MerchantRegistered):
            await MerchantNames(runtime.store.db).save(message.organisation_id, message.data.name)
