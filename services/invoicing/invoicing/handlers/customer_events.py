"""Customer events: invoicing keeps an account per customer."""

from __future__ import annotations

from invoicing.service_layer.accounts import handle_customer_created
from portal_contracts.customers import CustomerCreated
from portal_contracts.registry import AccountMessage, CustomerMessage
from portal_contracts.topics import CUSTOMER_EVENTS, INVOICING_ACCOUNT_EVENTS
from portal_runtime.messaging import subscriber
from portal_runtime.runtime import ServiceRuntime


def register(runtime: ServiceRuntime) -> None:
    broker = runtime.broker

    @subscriber(
        broker,
        runtime.settings,
        CUSTOMER_EVENTS,
        group="invoicing.customer-events",
        title="subscriptions.customer-events:invoicing",
        description="Customer facts invoicing keeps a copy of (names, currency).",
    )
    async def on_customer_event(message: CustomerMessage) -> None:
        if isinstance(message, CustomerCreated):
            await handle_customer_created(runtime.store, message)

    broker.publisher(
        INVOICING_ACCOUNT_EVENTS,
        title="invoicing.account-events:publish",
        description="Customer account balances (outbox; key = customer id).",
        schema=AccountMessage,
    )
