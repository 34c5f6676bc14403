"""Read models built from the services' events, and the status of commands in flight."""

from __future__ import annotations

from typing import Any

from pymongo import ASCENDING
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase

Document = dict[str, Any]


async def ensure_indexes(db: AsyncDatabase[Document]) -> None:
    await db["customer_views"].create_index(
        [("organisation_id", ASCENDING), ("customer_id", ASCENDING)], unique=True
    )
    await db["commands"].create_index("correlation_id", unique=True)


class CustomerViews:
    def __init__(self, db: AsyncDatabase[Document], session: AsyncClientSession | None = None):
        self.collection = db["customer_views"]
        self.session = session

    async def update(self, organisation_id: str, customer_id: str, changes: Document) -> None:
        """Upsert, so events from different topics may arrive in any order."""
        await self.collection.update_one(
            {"organisation_id": organisation_id, "customer_id": customer_id},
            {"$set": changes},
            upsert=True,
            session=self.session,
        )

    async def get(self, organisation_id: str, customer_id: str) -> Document | None:
        return await self.collection.find_one(
            {
                "organisation_id": organisation_id,
                "customer_id": customer_id,
                "display_name": {"$exists": True},
            },
            {"_id": 0},
            session=self.session,
        )


class Commands:
    def __init__(self, db: AsyncDatabase[Document], session: AsyncClientSession | None = None):
        self.collection = db["commands"]
        self.session = session

    async def add(self, document: Document) -> None:
        await self.collection.insert_one(document, session=self.session)

    async def get(self, organisation_id: str, command_id: str) -> Document | None:
        return await self.collection.find_one(
            {"_id": command_id, "organisation_id": organisation_id}, session=self.session
        )

    async def by_correlation(self, correlation_id: str) -> Document | None:
        return await self.collection.find_one(
            {"correlation_id": correlation_id}, session=self.session
        )

    async def finish(self, correlation_id: str, event_type: str, outcome: Document) -> bool:
        """Record the outcome if `event_type` is one this pending command waits for."""
        result = await self.collection.update_one(
            {
                "correlation_id": correlation_id,
                "status": "pending",
                "$or": [{"outcomes": event_type}, {"outcomes": {"$exists": False}}],
            },
            {"$set": outcome},
            session=self.session,
        )
        return result.modified_count == 1
