"""Commands addressed to the subscriptions service."""

from __future__ import annotations

import logging

from portal_contracts.customers import CreateCustomer
from portal_contracts.registry import CustomerMessage, SubscriptionsCommand
from portal_contracts.topics import CUSTOMER_EVENTS, SUBSCRIPTIONS_COMMANDS
from portal_runtime.messaging import subscriber
from portal_runtime.runtime import ServiceRuntime
from subscriptions.service_layer.customers import handle_create_customer

log = logging.getLogger(__name__)


def register(runtime: ServiceRuntime) -> None:
    broker = runtime.broker

    @subscriber(
        broker,
        runtime.settings,
        SUBSCRIPTIONS_COMMANDS,
        group="subscriptions.commands",
        title="subscriptions.commands:consume",
        description="Commands to the subscriptions service (create customer, ...).",
    )
    async def on_command(message: SubscriptionsCommand) -> None:
        if isinstance(message, CreateCustomer):
            await handle_create_customer(runtime.store, message)
        else:
            log.debug("ignoring %s", message.type)

    broker.publisher(
        CUSTOMER_EVENTS,
        title="subscriptions.customer-events:publish",
        description="Customer events (published through the outbox; key = customer id).",
        schema=CustomerMessage,
    )
