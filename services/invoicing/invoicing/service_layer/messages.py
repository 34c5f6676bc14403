"""What every use case shares: the inbox consumer name and how a command is refused."""

from __future__ import annotations

from typing import Literal

from portal_contracts.customers import CommandRejected, Rejection
from portal_contracts.envelope import Envelope
from portal_runtime.errors import ServiceError
from portal_runtime.store import Transaction

CONSUMER = "invoicing"

Kind = Literal["conflict", "forbidden", "not_found", "invalid"]
_KINDS: dict[int, Kind] = {409: "conflict", 403: "forbidden", 404: "not_found"}


async def reject(
    tx: Transaction,
    command: Envelope,
    topic: str,
    customer_id: str,
    refused: ServiceError,
    kind: Kind | None = None,
) -> None:
    """Answer `command` with a refusal on `topic` (the gateway maps `kind` to 409/403/404/422)."""
    await tx.emit(
        topic,
        CommandRejected(
            **command.follow_up(),
            occurred_at=tx.outbox.clock.now(),
            data=Rejection(
                customer_id=customer_id,
                command_type=command.type,
                code=refused.code,
                reason=refused.detail,
                kind=kind or _KINDS.get(refused.status, "invalid"),
            ),
        ),
    )
