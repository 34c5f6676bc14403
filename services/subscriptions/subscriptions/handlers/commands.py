"""Commands addressed to the subscriptions service."""

from __future__ import annotations

import logging

from portal_contracts.catalogue import CatalogueMessage, DefineCatalogueItem
from portal_contracts.customers import CreateCustomer
from portal_contracts.registry import CustomerMessage, SubscriptionsCommand
from portal_contracts.subscriptions import (
    ActOnSubscription,
    CreateSubscription,
    PreviewSubscriptionAction,
    SubscriptionMessage,
)
from portal_contracts.topics import (
    CATALOGUE_EVENTS,
    CUSTOMER_EVENTS,
    SUBSCRIPTION_EVENTS,
    SUBSCRIPTIONS_COMMANDS,
)
from portal_runtime.messaging import subscriber
from portal_runtime.runtime import ServiceRuntime
from subscriptions.service_layer.customers import (
    CUSTOMER_COMMANDS,
    handle_create_customer,
    handle_customer_command,
)
from subscriptions.service_layer.subscriptions import (
    handle_action,
    handle_create_subscription,
    handle_define_catalogue_item,
)

log = logging.getLogger(__name__)


def register(runtime: ServiceRuntime) -> None:
    broker = runtime.broker

    @subscriber(
        broker,
        runtime.settings,
        SUBSCRIPTIONS_COMMANDS,
        group="subscriptions.commands",
        title="subscriptions.commands:consume",
        description="Commands to the subscriptions service: customers, catalogue, "
        "subscriptions and their actions (and previews of them).",
    )
    async def on_command(message: SubscriptionsCommand) -> None:
        if isinstance(message, CreateCustomer):
            await handle_create_customer(runtime.store, message)
        elif isinstance(message, CUSTOMER_COMMANDS):
            await handle_customer_command(runtime.store, message)
        elif isinstance(message, DefineCatalogueItem):
            await handle_define_catalogue_item(runtime.store, message)
        elif isinstance(message, CreateSubscription):
            await handle_create_subscription(runtime.store, message)
        elif isinstance(message, ActOnSubscription | PreviewSubscriptionAction):
            await handle_action(runtime.store, message)
        else:
            log.debug("ignoring %s", message.type)

    broker.publisher(
        CUSTOMER_EVENTS,
        title="subscriptions.customer-events:publish",
        description="Customer events (published through the outbox; key = customer id).",
        schema=CustomerMessage,
    )
    broker.publisher(
        CATALOGUE_EVENTS,
        title="subscriptions.catalogue-events:publish",
        description="Plans, addons and coupons defined (outbox; key = organisation id).",
        schema=CatalogueMessage,
    )
    broker.publisher(
        SUBSCRIPTION_EVENTS,
        title="subscriptions.subscription-events:publish",
        description="Subscription changes, previews and the charges they raise for invoicing "
        "(outbox; key = customer id).",
        schema=SubscriptionMessage,
    )
