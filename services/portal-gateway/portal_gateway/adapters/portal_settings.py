"""A merchant's portal settings in MongoDB: one document per organisation (`_id`), in the
`portal_settings` collection the preferences are read from."""

from __future__ import annotations

from typing import Any

from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase

Document = dict[str, Any]
COLLECTION = "portal_settings"


class PortalSettingsStore:
    def __init__(self, db: AsyncDatabase[Document], session: AsyncClientSession | None = None):
        self.collection = db[COLLECTION]
        self.merchants = db["merchants"]
        self.session = session

    async def get(self, organisation_id: str) -> Document:
        found = await self.collection.find_one({"_id": organisation_id}, session=self.session)
        return found or {}

    async def save(self, organisation_id: str, changes: Document) -> None:
        await self.collection.update_one(
            {"_id": organisation_id}, {"$set": changes}, upsert=True, session=self.session
        )

    async def move_portal(self, organisation_id: str, portal_slug: str) -> None:
        """Point the merchant's portal at a new address; the unique index on `portal_slug`
        refuses one another merchant has (DuplicateKeyError)."""
        await self.merchants.update_one(
            {"_id": organisation_id}, {"$set": {"portal_slug": portal_slug}}, session=self.session
        )
