"""Every event the portal's views need."""

from __future__ import annotations

from portal_contracts.envelope import Envelope
from portal_contracts.registry import (
    AccessMessage,
    AccountMessage,
    CustomerMessage,
    MerchantMessage,
    SubscriptionsCommand,
)
from portal_contracts.topics import (
    CUSTOMER_EVENTS,
    IDENTITY_ACCESS_EVENTS,
    INVOICING_ACCOUNT_EVENTS,
    MERCHANT_EVENTS,
    SUBSCRIPTIONS_COMMANDS,
)
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
        CUSTOMER_EVENTS,
        group="portal-gateway.customer-events",
        title="subscriptions.customer-events:portal-gateway",
        description="Customers for the portal views; command outcomes.",
    )
    async def on_customer_event(message: CustomerMessage) -> None:
        if isinstance(message, Envelope):
            await project(gateway, message)

    @subscriber(
        broker,
        settings,
        IDENTITY_ACCESS_EVENTS,
        group="portal-gateway.access-events",
        title="identity.access-events:portal-gateway",
        description="Invitation status per contact.",
    )
    async def on_access_event(message: AccessMessage) -> None:
        if isinstance(message, Envelope):
            await project(gateway, message)

    @subscriber(
        broker,
        settings,
        INVOICING_ACCOUNT_EVENTS,
        group="portal-gateway.account-events",
        title="invoicing.account-events:portal-gateway",
        description="Outstanding amounts and credits for the home page.",
    )
    async def on_account_event(message: AccountMessage) -> None:
        if isinstance(message, Envelope):
            await project(gateway, message)

    broker.publisher(
        SUBSCRIPTIONS_COMMANDS,
        title="subscriptions.commands:portal-gateway",
        description="Commands the portal sends (outbox; key = customer id).",
        schema=SubscriptionsCommand,
    )
    broker.publisher(
        MERCHANT_EVENTS,
        title="gateway.merchant-events:publish",
        description="Merchants registered on the platform (outbox; key = organisation id).",
        schema=MerchantMessage,
    )
