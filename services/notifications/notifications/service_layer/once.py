"""Handling an incoming message exactly once: its work, its outbox and its inbox record in one
transaction."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from portal_contracts.envelope import Envelope
from portal_runtime.store import Store, Transaction

CONSUMER = "notifications"


async def handle_once(
    store: Store, message: Envelope, work: Callable[[Transaction], Awaitable[None]]
) -> bool:
    """Run `work` for `message`; False (and nothing done) if it was handled before."""

    async def run(tx: Transaction) -> bool:
        await work(tx)
        return True

    return await store.transaction(run, handling=(CONSUMER, message)) is not None
