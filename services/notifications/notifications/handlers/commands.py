"""Commands addressed to the notifications service."""

from __future__ import annotations

import logging
from collections.abc import Callable

from notifications.service_layer import customer_email, reviews, webhooks
from notifications.service_layer.invitations import queue_portal_invitation
from notifications.settings import NotificationsSettings
from portal_contracts.notifications import (
    EmailMerchant,
    NotificationMessage,
    RegisterWebhookEndpoint,
    RemoveWebhookEndpoint,
    ReplayWebhookDelivery,
    RotateWebhookSecret,
    SendCustomerEmail,
    SendPortalInvitation,
    SubmitReview,
)
from portal_contracts.registry import NotificationsCommand
from portal_contracts.topics import MERCHANT_NOTIFICATIONS, NOTIFICATIONS_COMMANDS
from portal_runtime.messaging import subscriber_options
from portal_runtime.runtime import ServiceRuntime
from portal_runtime.sealing import Sealer

log = logging.getLogger(__name__)


def register(
    runtime: ServiceRuntime, settings: NotificationsSettings, wake: Callable[[], None]
) -> None:
    """`wake` is called after a handler commits, so the senders look at once."""
    broker = runtime.broker
    store = runtime.store
    sealer = Sealer(settings.sealing_key)
    sender = settings.mail_from

    async def on_command(message: NotificationsCommand) -> None:
        match message:
            case SendPortalInvitation():
                handled = await queue_portal_invitation(store, sealer, sender, message)
            case SendCustomerEmail():
                handled = await customer_email.queue_customer_email(store, sealer, sender, message)
            case RegisterWebhookEndpoint():
                handled = await webhooks.register_endpoint(store, sealer, message)
            case RemoveWebhookEndpoint():
                handled = await webhooks.remove_endpoint(store, message)
            case RotateWebhookSecret():
                handled = await webhooks.rotate_secret(store, sealer, message)
            case ReplayWebhookDelivery():
                handled = await webhooks.replay_delivery(store, message)
            case SubmitReview():
                handled = await reviews.submit_review(store, sender, message)
            case EmailMerchant():
                handled = await reviews.email_merchant(store, sender, message)
            case _:
                log.debug("ignoring %s", message.type)
                return
        if handled:
            wake()

    # Applied as a call, not with @: the options arrive as a dict, which leaves mypy unable to
    # pick one of the subscriber overloads, and a decorator it cannot type untypes the handler.
    broker.subscriber(
        NOTIFICATIONS_COMMANDS,
        **subscriber_options(settings, "notifications.commands"),
        title="notifications.commands:consume",
        description="Commands to the notifications service: customer emails, webhook "
        "endpoints, secret rotations and replays, reviews, messages to the merchant.",
    )(on_command)
    broker.publisher(
        MERCHANT_NOTIFICATIONS,
        title="notifications.merchant-notifications:publish",
        description="The merchant notification stream (MerchantNotified; also sent to "
        "webhooks) and the facts the gateway's views need (endpoints, delivery log, reviews, "
        "command refusals). Outbox; key = customer id, else organisation id.",
        schema=NotificationMessage,
    )
