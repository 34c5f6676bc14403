"""Subscription and catalogue events for the gateway's read models (and command outcomes)."""

from __future__ import annotations

from portal_contracts.catalogue import CatalogueMessage
from portal_contracts.envelope import Envelope
from portal_contracts.subscriptions import SubscriptionMessage
from portal_contracts.topics import CATALOGUE_EVENTS, SUBSCRIPTION_EVENTS
from portal_gateway.service_layer import subscription_views
from portal_gateway.service_layer.context import Gateway
from portal_gateway.service_layer.projections import project
from portal_runtime.messaging import subscriber
from portal_runtime.runtime import ServiceRuntime


def register(runtime: ServiceRuntime, gateway: Gateway) -> None:
    broker = runtime.broker
    settings = runtime.settings
    runtime.on_start.append(lambda: subscription_views.ensure_indexes(runtime.store.db))

    @subscriber(
        broker,
        settings,
        SUBSCRIPTION_EVENTS,
        group="portal-gateway.subscription-events",
        title="subscriptions.subscription-events:portal-gateway",
        description="Subscriptions for the portal and admin views; action and preview outcomes.",
    )
    async def on_subscription_event(message: SubscriptionMessage) -> None:
        if isinstance(message, Envelope):
            await project(gateway, message)

    @subscriber(
        broker,
        settings,
        CATALOGUE_EVENTS,
        group="portal-gateway.catalogue-events",
        title="subscriptions.catalogue-events:portal-gateway",
        description="Plans, addons and coupons for plan-change choices and the admin API.",
    )
    async def on_catalogue_event(message: CatalogueMessage) -> None:
        if isinstance(message, Envelope):
            await project(gateway, message)
