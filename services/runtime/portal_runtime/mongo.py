"""The MongoDB client (PyMongo's AsyncMongoClient) and transactions."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from pymongo import AsyncMongoClient
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase

from portal_runtime.settings import ServiceSettings
from portal_runtime.telemetry import MongoCommandTracer

T = TypeVar("T")
Document = dict[str, Any]


def connect(settings: ServiceSettings) -> AsyncMongoClient[Document]:
    """Create a client; it connects lazily, so nothing touches the network here."""
    return AsyncMongoClient(
        settings.mongo_uri,
        tz_aware=True,
        event_listeners=[MongoCommandTracer()],
        serverSelectionTimeoutMS=10_000,
    )


async def in_transaction(
    client: AsyncMongoClient[Document],
    work: Callable[[AsyncClientSession], Awaitable[T]],
) -> T:
    """Run `work` in one multi-document transaction, retried on transient conflicts."""
    async with client.start_session() as session:
        result: T = await session.with_transaction(work)
        return result


async def ping(db: AsyncDatabase[Document]) -> bool:
    try:
        await db.command("ping")
    except Exception:
        return False
    return True
