"""Merchants and their admin API keys (stored as SHA-256 digests, shown once)."""

from __future__ import annotations

import time
from typing import Any

from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase

Document = dict[str, Any]


class Merchants:
    def __init__(self, db: AsyncDatabase[Document], session: AsyncClientSession | None = None):
        self.collection = db["merchants"]
        self.session = session

    @staticmethod
    async def ensure_indexes(db: AsyncDatabase[Document]) -> None:
        await db["merchants"].create_index("portal_slug", unique=True)
        await db["merchants"].create_index("api_key_digests")

    async def add(self, document: Document) -> None:
        await self.collection.insert_one(document, session=self.session)

    async def by_api_key(self, digest: str) -> Document | None:
        return await self.collection.find_one({"api_key_digests": digest}, session=self.session)

    async def by_slug(self, portal_slug: str) -> Document | None:
        return await self.collection.find_one({"portal_slug": portal_slug}, session=self.session)

    async def by_id(self, organisation_id: str) -> Document | None:
        return await self.collection.find_one({"_id": organisation_id}, session=self.session)


class TimedCache:
    """A small read-through cache: merchant lookups on every request need not hit MongoDB."""

    def __init__(self, seconds: float, size: int = 10_000) -> None:
        self.seconds = seconds
        self.size = size
        self._entries: dict[str, tuple[float, Document | None]] = {}

    def get(self, key: str) -> tuple[bool, Document | None]:
        entry = self._entries.get(key)
        if entry is None or entry[0] < time.monotonic():
            return False, None
        return True, entry[1]

    def put(self, key: str, value: Document | None) -> None:
        if len(self._entries) >= self.size:
            self._entries.clear()
        self._entries[key] = (time.monotonic() + self.seconds, value)

    def forget(self, key: str) -> None:
        self._entries.pop(key, None)
