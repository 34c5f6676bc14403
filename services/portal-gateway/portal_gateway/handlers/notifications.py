"""Events for the merchant's notification views: the notification stream and its delivery
facts from notifications, and portal activity (the gateway's own events)."""

from __future__ import annotations

from portal_contracts.envelope import Envelope
from portal_contracts.notifications import NotificationMessage, NotificationsCommand
from portal_contracts.portal import PortalMessage
from portal_contracts.topics import MERCHANT_NOTIFICATIONS, NOTIFICATIONS_COMMANDS, PORTAL_EVENTS
from portal_gateway.service_layer import notification_views
from portal_gateway.service_layer.context import Gateway
from portal_gateway.service_layer.projections import project
from portal_runtime.messaging import subscriber
from portal_runtime.runtime import ServiceRuntime


def register(runtime: ServiceRuntime, gateway: Gateway) -> None:
    broker = runtime.broker
    settings = runtime.settings
    runtime.on_start.append(lambda: notification_views.ensure_indexes(runtime.store.db))

    @subscriber(
        broker,
        settings,
        MERCHANT_NOTIFICATIONS,
        group="portal-gateway.merchant-notifications",
        title="notifications.merchant-notifications:portal-gateway",
        description="The merchant's feed, webhook endpoints, delivery log and reviews; "
        "outcomes of webhook and review commands.",
    )
    async def on_notification(message: NotificationMessage) -> None:
        if isinstance(message, Envelope):
            await project(gateway, message)

    @subscriber(
        broker,
        settings,
        PORTAL_EVENTS,
        group="portal-gateway.portal-events",
        title="gateway.portal-events:portal-gateway",
        description="Portal activity for the merchant's activity report.",
    )
    async def on_portal_event(message: PortalMessage) -> None:
        if isinstance(message, Envelope):
            await project(gateway, message)

    broker.publisher(
        PORTAL_EVENTS,
        title="gateway.portal-events:publish",
        description="Every portal action and document view (outbox; key = customer id).",
        schema=PortalMessage,
    )
    broker.publisher(
        NOTIFICATIONS_COMMANDS,
        title="notifications.commands:portal-gateway",
        description="Webhook endpoints and replays, reviews, review requests and customers' "
        "messages to the merchant (outbox).",
        schema=NotificationsCommand,
    )
