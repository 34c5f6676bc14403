"""A service's database with its outbox and inbox: the one way handlers change state.

`Store.transaction` commits the state change, the outgoing messages and (for a handler) the
record that the incoming message was handled, together or not at all.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from pymongo import AsyncMongoClient
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from portal_contracts import Envelope
from portal_runtime.clock import Clock
from portal_runtime.outbox import Outbox

T = TypeVar("T")
Document = dict[str, Any]


class AlreadyHandled(Exception):
    """The inbox already holds this message: the transaction is abandoned, nothing changes."""


@dataclass
class Transaction:
    db: AsyncDatabase[Document]
    session: AsyncClientSession
    outbox: Outbox
    emitted: list[Envelope] = field(default_factory=list)
    _rows: list[Document] = field(default_factory=list)

    async def emit(self, topic: str, message: Envelope) -> None:
        """Add `message` to the outbox of this transaction (written when the work is done)."""
        self._rows.append(self.outbox.row(topic, message))
        self.emitted.append(message)

    async def flush(self) -> None:
        rows, self._rows = self._rows, []
        await self.outbox.add_all(self.session, rows)


class Store:
    def __init__(
        self,
        client: AsyncMongoClient[Document],
        database: str,
        clock: Clock,
        on_commit: Callable[[], None] = lambda: None,
    ) -> None:
        self.client = client
        self.db: AsyncDatabase[Document] = client[database]
        self.clock = clock
        self.outbox = Outbox(self.db, clock)
        self.inbox = self.db["inbox"]
        self.on_commit = on_commit

    async def ensure_indexes(self) -> None:
        await self.outbox.ensure_indexes()
        await self.inbox.create_index("handled_at", expireAfterSeconds=30 * 24 * 3600)

    async def transaction(
        self,
        work: Callable[[Transaction], Awaitable[T]],
        *,
        handling: tuple[str, Envelope] | None = None,
    ) -> T | None:
        """Run `work` in a transaction. With `handling=(consumer, message)` the inbox record is
        part of it, and a message handled before returns None without running `work` again."""

        async def attempt(session: AsyncClientSession) -> T:
            tx = Transaction(self.db, session, self.outbox)
            if handling is not None:
                consumer, message = handling
                try:
                    await self.inbox.insert_one(
                        {
                            "_id": f"{consumer}:{message.event_id}",
                            "type": message.type,
                            "organisation_id": message.organisation_id,
                            "handled_at": self.clock.now(),
                        },
                        session=session,
                    )
                except DuplicateKeyError as already:
                    raise AlreadyHandled from already
            result = await work(tx)
            await tx.flush()
            return result

        try:
            async with self.client.start_session() as session:
                result: T = await session.with_transaction(attempt)
        except AlreadyHandled:
            return None
        self.on_commit()
        return result
