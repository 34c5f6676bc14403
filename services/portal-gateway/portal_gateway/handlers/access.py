"""Portal access: the gateway sends commands to identity; the revocation list's indexes.

Identity's access events (including `SessionsRevoked`) arrive through the projection
subscriber (handlers/projections.py) and reach `PROJECTORS`."""

from __future__ import annotations

from portal_contracts.identity import IdentityCommand
from portal_contracts.topics import IDENTITY_COMMANDS
from portal_gateway.adapters import revocations
from portal_gateway.service_layer.context import Gateway
from portal_runtime.runtime import ServiceRuntime


async def ensure_indexes(gateway: Gateway) -> None:
    await revocations.ensure_indexes(gateway.store.db)
    # Sign-up requests are kept 30 days (abuse review), then dropped.
    await gateway.store.db["sign_up_attempts"].create_index("at", expireAfterSeconds=30 * 24 * 3600)


def register(runtime: ServiceRuntime, gateway: Gateway) -> None:
    runtime.on_start.append(lambda: ensure_indexes(gateway))
    runtime.broker.publisher(
        IDENTITY_COMMANDS,
        title="identity.commands:portal-gateway",
        description="Enable, disable, resend portal access; sign-up requests (outbox).",
        schema=IdentityCommand,
    )
