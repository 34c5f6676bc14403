"""Commands addressed to the notifications service."""

from __future__ import annotations

import logging
from collections.abc import Callable

from notifications.service_layer.invitations import queue_portal_invitation
from notifications.settings import NotificationsSettings
from portal_contracts.notifications import SendPortalInvitation
from portal_contracts.registry import NotificationsCommand
from portal_contracts.topics import NOTIFICATIONS_COMMANDS
from portal_runtime.messaging import subscriber_options
from portal_runtime.runtime import ServiceRuntime
from portal_runtime.sealing import Sealer

log = logging.getLogger(__name__)


def register(
    runtime: ServiceRuntime, settings: NotificationsSettings, mail_queued: Callable[[], None]
) -> None:
    """`mail_queued` is called after a handler commits new mail, to wake the sender."""
    broker = runtime.broker
    sealer = Sealer(settings.sealing_key)

    async def on_command(message: NotificationsCommand) -> None:
        if isinstance(message, SendPortalInvitation):
            if await queue_portal_invitation(runtime.store, sealer, settings.mail_from, message):
                mail_queued()
        else:
            log.debug("ignoring %s", message.type)

    # Applied as a call, not with @: the options arrive as a dict, which leaves mypy unable to
    # pick one of the subscriber overloads, and a decorator it cannot type untypes the handler.
    broker.subscriber(
        NOTIFICATIONS_COMMANDS,
        **subscriber_options(settings, "notifications.commands"),
        title="notifications.commands:consume",
        description="Commands to the notifications service (send portal invitation, ...).",
    )(on_command)
