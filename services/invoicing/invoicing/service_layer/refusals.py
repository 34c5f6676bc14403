"""Answering a document command the service refuses."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from portal_contracts.customers import CommandRejected, Rejection
from portal_contracts.envelope import Envelope
from portal_runtime.store import Transaction

RefusalKind = Literal["conflict", "forbidden", "not_found", "invalid"]


async def refuse(
    tx: Transaction,
    topic: str,
    command: Envelope,
    customer_id: str,
    code: str,
    reason: str,
    kind: RefusalKind,
    now: datetime,
) -> None:
    """Emit `CommandRejected` (same correlation id as the command) on the events topic the
    command would have produced."""
    await tx.emit(
        topic,
        CommandRejected(
            **command.follow_up(),
            occurred_at=now,
            data=Rejection(
                customer_id=customer_id,
                command_type=command.type,
                code=code,
                reason=reason,
                kind=kind,
            ),
        ),
    )
