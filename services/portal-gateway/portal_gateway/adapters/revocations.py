"""The revocation list: access tokens of ended sessions, refused before they expire.

Identity ends sessions with `SessionsRevoked` (identity.access-events). The gateway's projection
consumer (one consumer group for all instances) writes each revocation into the
`session_revocations` collection in the projection's transaction. Every gateway instance keeps
the recent revocations in memory and reloads what was added since its last look at most every
`REFRESH_SECONDS` - one small indexed query per second per instance, never one per request -
and at once after this instance projected a revocation (so the request after a disable that
this instance answered is refused). Another instance refuses the token within
`REFRESH_SECONDS`. Entries older than `RETENTION` are dropped: no access token lives that long.

Checking a token is two dictionary lookups: its session id, and (organisation, customer,
contact or every contact) -> revoked before; a token issued at or before that time is refused.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from pymongo import ASCENDING
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase

from portal_contracts.identity import SessionsRevoked

Document = dict[str, Any]
COLLECTION = "session_revocations"
REFRESH_SECONDS = 1.0
# Longer than any access token lives (identity issues them for 10 minutes by default).
RETENTION = timedelta(hours=2)
# Revocations committed out of order by concurrent transactions are still picked up.
OVERLAP = timedelta(seconds=30)
EVERY_CONTACT = "*"

# Bumped when this process projects a revocation: the lists reload on their next check.
_generation = 0


def revocation_projected() -> None:
    global _generation
    _generation += 1


async def ensure_indexes(db: AsyncDatabase[Document]) -> None:
    await db[COLLECTION].create_index("recorded_at")
    await db[COLLECTION].create_index([("organisation_id", ASCENDING), ("customer_id", ASCENDING)])


async def record(
    db: AsyncDatabase[Document], session: AsyncClientSession | None, event: SessionsRevoked
) -> None:
    """Store one revocation (inside the projection's transaction); repeated events overwrite.
    `recorded_at` is wall-clock time of the projection (not the event's time), so a list that
    loads "what was recorded since I last looked" never misses a late event."""
    data = event.data
    await db[COLLECTION].update_one(
        {"_id": str(event.event_id)},
        {
            "$set": {
                "organisation_id": event.organisation_id,
                "customer_id": data.customer_id,
                "contact_ids": list(data.contact_ids),
                "session_ids": list(data.session_ids),
                "revoked_before": data.revoked_before,
                "reason": data.reason,
                "recorded_at": datetime.now(UTC),
            }
        },
        upsert=True,
        session=session,
    )
    revocation_projected()


class RevocationList:
    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self._collection = db[COLLECTION]
        self._sessions: dict[str, datetime] = {}
        self._contacts: dict[tuple[str, str, str], datetime] = {}
        self._loaded_until: datetime | None = None
        self._checked_at = float("-inf")
        self._generation = -1
        self._lock = asyncio.Lock()

    async def is_revoked(
        self,
        organisation_id: str,
        customer_id: str,
        contact_id: str,
        session_id: str,
        issued_at: datetime,
    ) -> bool:
        await self._refresh()
        if session_id in self._sessions:
            return True
        for who in (contact_id, EVERY_CONTACT):
            before = self._contacts.get((organisation_id, customer_id, who))
            if before is not None and issued_at <= before:
                return True
        return False

    async def _refresh(self) -> None:
        if (
            self._generation == _generation
            and time.monotonic() - self._checked_at < REFRESH_SECONDS
        ):
            return
        async with self._lock:
            generation = _generation
            now = datetime.now(UTC)
            if (
                self._generation == generation
                and time.monotonic() - self._checked_at < REFRESH_SECONDS
            ):
                return
            since = now - RETENTION if self._loaded_until is None else self._loaded_until - OVERLAP
            async for doc in self._collection.find({"recorded_at": {"$gte": since}}):
                self._add(doc)
            self._loaded_until = now
            self._checked_at = time.monotonic()
            self._generation = generation
            self._forget_older_than(now - RETENTION)

    def _add(self, doc: Document) -> None:
        before = _aware(doc["revoked_before"])
        if doc["session_ids"]:
            for session_id in doc["session_ids"]:
                self._sessions[session_id] = before
            return
        for who in doc["contact_ids"] or [EVERY_CONTACT]:
            key = (doc["organisation_id"], doc["customer_id"], who)
            current = self._contacts.get(key)
            if current is None or current < before:
                self._contacts[key] = before

    def _forget_older_than(self, cutoff: datetime) -> None:
        self._sessions = {k: v for k, v in self._sessions.items() if v >= cutoff}
        self._contacts = {k: v for k, v in self._contacts.items() if v >= cutoff}


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)
