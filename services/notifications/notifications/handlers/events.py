"""Events notifications listens to: portal activity, sign-ins, merchants, customers."""

from __future__ import annotations

from collections.abc import Callable

from notifications.service_layer.activity import (
    record_activity,
    remember_customer,
    remember_merchant,
    tell_payment,
)
from notifications.settings import NotificationsSettings
from portal_contracts.customers import CustomerCreated
from portal_contracts.envelope import Envelope
from portal_contracts.identity import ContactSignedIn, SignInFailed
from portal_contracts.invoicing import PaymentFailed, PaymentMessage, PaymentSucceeded
from portal_contracts.portal import PortalActivityRecorded, PortalMessage
from portal_contracts.registry import AccessMessage, CustomerMessage, MerchantMessage
from portal_contracts.topics import (
    CUSTOMER_EVENTS,
    IDENTITY_ACCESS_EVENTS,
    MERCHANT_EVENTS,
    PAYMENT_EVENTS,
    PORTAL_EVENTS,
)
from portal_runtime.messaging import subscriber
from portal_runtime.runtime import ServiceRuntime


def register(
    runtime: ServiceRuntime, settings: NotificationsSettings, wake: Callable[[], None]
) -> None:
    broker = runtime.broker
    store = runtime.store
    sender = settings.mail_from

    @subscriber(
        broker,
        settings,
        PORTAL_EVENTS,
        group="notifications.portal-events",
        title="gateway.portal-events:notifications",
        description="Portal activity: kept in the activity log; noteworthy actions notify "
        "the merchant.",
    )
    async def on_portal_event(message: PortalMessage) -> None:
        if isinstance(message, PortalActivityRecorded) and await record_activity(
            store, sender, message
        ):
            wake()

    @subscriber(
        broker,
        settings,
        IDENTITY_ACCESS_EVENTS,
        group="notifications.access-events",
        title="identity.access-events:notifications",
        description="Sign-ins and failed sign-ins, kept in the activity log.",
    )
    async def on_access_event(message: AccessMessage) -> None:
        if isinstance(message, ContactSignedIn | SignInFailed):
            await record_activity(store, sender, message)

    @subscriber(
        broker,
        settings,
        MERCHANT_EVENTS,
        group="notifications.merchant-events",
        title="gateway.merchant-events:notifications",
        description="The merchant's contact address and notification preferences.",
    )
    async def on_merchant_event(message: MerchantMessage) -> None:
        if isinstance(message, Envelope):
            await remember_merchant(store, message)

    @subscriber(
        broker,
        settings,
        CUSTOMER_EVENTS,
        group="notifications.customer-events",
        title="subscriptions.customer-events:notifications",
        description="Customer names for the merchant's notifications.",
    )
    async def on_customer_event(message: CustomerMessage) -> None:
        if isinstance(message, CustomerCreated):
            await remember_customer(store, message)

    @subscriber(
        broker,
        settings,
        PAYMENT_EVENTS,
        group="notifications.payment-events",
        title="invoicing.payment-events:notifications",
        description="Payments customers made in the portal (succeeded or failed) for the "
        "merchant's notifications.",
    )
    async def on_payment_event(message: PaymentMessage) -> None:
        if isinstance(message, PaymentSucceeded | PaymentFailed) and await tell_payment(
            store, sender, message
        ):
            wake()
