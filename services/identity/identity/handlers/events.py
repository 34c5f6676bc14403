"""Events identity reacts to: merchants registering and renaming their portal, customers
created (their portal language; the primary contact invited when asked) or their portal
language changed."""

from __future__ import annotations

from identity.service_layer.access import (
    handle_contact_removed,
    handle_contact_updated,
    handle_customer_created,
    handle_details_updated,
    handle_merchant_registered,
    handle_portal_renamed,
)
from identity.service_layer.context import Identity
from portal_contracts.customers import (
    ContactPersonRemoved,
    ContactPersonUpdated,
    CustomerCreated,
    CustomerDetailsUpdated,
)
from portal_contracts.merchants import MerchantRegistered, PortalRenamed
from portal_contracts.registry import (
    AccessMessage,
    CustomerMessage,
    MerchantMessage,
    NotificationsCommand,
)
from portal_contracts.topics import (
    CUSTOMER_EVENTS,
    IDENTITY_ACCESS_EVENTS,
    MERCHANT_EVENTS,
    NOTIFICATIONS_COMMANDS,
)
from portal_runtime.messaging import subscriber
from portal_runtime.runtime import ServiceRuntime


def register(runtime: ServiceRuntime, identity: Identity) -> None:
    broker = runtime.broker

    @subscriber(
        broker,
        runtime.settings,
        MERCHANT_EVENTS,
        group="identity.merchant-events",
        title="gateway.merchant-events:identity",
        description="Merchants and their portal addresses.",
    )
    async def on_merchant_event(message: MerchantMessage) -> None:
        if isinstance(message, MerchantRegistered):
            await handle_merchant_registered(identity, message)
        elif isinstance(message, PortalRenamed):
            await handle_portal_renamed(identity, message)

    @subscriber(
        broker,
        runtime.settings,
        CUSTOMER_EVENTS,
        group="identity.customer-events",
        title="subscriptions.customer-events:identity",
        description=(
            "New customers whose contacts get portal invitations; contacts changed or removed;"
            " the customer's portal language (the language of their emails) when it changes."
        ),
    )
    async def on_customer_event(message: CustomerMessage) -> None:
        if isinstance(message, CustomerCreated):
            await handle_customer_created(identity, message)
        elif isinstance(message, ContactPersonRemoved):
            await handle_contact_removed(identity, message)
        elif isinstance(message, ContactPersonUpdated):
            await handle_contact_updated(identity, message)
        elif isinstance(message, CustomerDetailsUpdated):
            await handle_details_updated(identity, message)

    broker.publisher(
        IDENTITY_ACCESS_EVENTS,
        title="identity.access-events:publish",
        description="Access changes and sign-ins (outbox; key = customer id).",
        schema=AccessMessage,
    )
    broker.publisher(
        NOTIFICATIONS_COMMANDS,
        title="notifications.commands:identity",
        description="Emails identity asks for (invitation links travel sealed).",
        schema=NotificationsCommand,
    )
