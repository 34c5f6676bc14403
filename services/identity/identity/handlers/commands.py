"""Commands to identity: the merchant enables, disables or resends portal access; a visitor
asks to sign up. Outcomes go to identity.access-events with the command's correlation id."""

from __future__ import annotations

from identity.service_layer.access import disable_access, enable_access, resend_invitation
from identity.service_layer.context import Identity
from identity.service_layer.sign_up import request_sign_up
from portal_contracts.identity import (
    DisablePortalAccess,
    EnablePortalAccess,
    IdentityCommand,
    RequestPortalSignUp,
    ResendPortalInvitation,
)
from portal_contracts.topics import IDENTITY_COMMANDS
from portal_runtime.messaging import subscriber
from portal_runtime.runtime import ServiceRuntime


def register(runtime: ServiceRuntime, identity: Identity) -> None:
    @subscriber(
        runtime.broker,
        runtime.settings,
        IDENTITY_COMMANDS,
        group="identity.commands",
        title="identity.commands:identity",
        description="Enable, disable or resend portal access; self sign-up requests.",
    )
    async def on_command(message: IdentityCommand) -> None:
        match message:
            case EnablePortalAccess():
                await enable_access(identity, message)
            case DisablePortalAccess():
                await disable_access(identity, message)
            case ResendPortalInvitation():
                await resend_invitation(identity, message)
            case RequestPortalSignUp():
                await request_sign_up(identity, message)
            case _:
                pass
