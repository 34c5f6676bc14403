"""Identity's MongoDB collections. Every query filters by organisation."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Any

from pymongo import ASCENDING
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase

from identity.domain.invitations import Invitation

Document = dict[str, Any]


async def ensure_indexes(db: AsyncDatabase[Document]) -> None:
    await db["merchants"].create_index("portal_slug", unique=True)
    await db["portal_users"].create_index(
        [("organisation_id", ASCENDING), ("email", ASCENDING)], unique=True
    )
    await db["portal_users"].create_index(
        [("organisation_id", ASCENDING), ("customer_id", ASCENDING), ("contact_id", ASCENDING)],
        unique=True,
    )
    await db["invitations"].create_index("token_digest", unique=True)
    await db["invitations"].create_index(
        [("organisation_id", ASCENDING), ("customer_id", ASCENDING), ("contact_id", ASCENDING)]
    )
    await db["sessions"].create_index("refresh_digest", unique=True)
    await db["sessions"].create_index([("organisation_id", ASCENDING), ("contact_id", ASCENDING)])


class Merchants:
    def __init__(self, db: AsyncDatabase[Document], session: AsyncClientSession | None = None):
        self.collection = db["merchants"]
        self.session = session

    async def save(self, organisation_id: str, name: str, portal_slug: str) -> None:
        await self.collection.update_one(
            {"_id": organisation_id},
            {"$set": {"name": name, "portal_slug": portal_slug}},
            upsert=True,
            session=self.session,
        )

    async def by_id(self, organisation_id: str) -> Document | None:
        return await self.collection.find_one({"_id": organisation_id}, session=self.session)

    async def by_slug(self, portal_slug: str) -> Document | None:
        return await self.collection.find_one({"portal_slug": portal_slug}, session=self.session)


class PortalUsers:
    def __init__(self, db: AsyncDatabase[Document], session: AsyncClientSession | None = None):
        self.collection = db["portal_users"]
        self.session = session

    async def invite(
        self,
        organisation_id: str,
        customer_id: str,
        contact_id: str,
        email: str,
        name: str,
        now: datetime,
    ) -> None:
        """Create the user as invited, or refresh an existing one's details."""
        await self.collection.update_one(
            {
                "organisation_id": organisation_id,
                "customer_id": customer_id,
                "contact_id": contact_id,
            },
            {
                "$set": {"email": email.lower(), "name": name},
                "$setOnInsert": {"status": "invited", "password_hash": None, "created_at": now},
            },
            upsert=True,
            session=self.session,
        )

    async def by_email(self, organisation_id: str, email: str) -> Document | None:
        return await self.collection.find_one(
            {"organisation_id": organisation_id, "email": email.lower()}, session=self.session
        )

    async def by_contact(
        self, organisation_id: str, customer_id: str, contact_id: str
    ) -> Document | None:
        return await self.collection.find_one(
            {
                "organisation_id": organisation_id,
                "customer_id": customer_id,
                "contact_id": contact_id,
            },
            session=self.session,
        )

    async def activate(
        self,
        organisation_id: str,
        customer_id: str,
        contact_id: str,
        password_hash: str,
        now: datetime,
    ) -> None:
        await self.collection.update_one(
            {
                "organisation_id": organisation_id,
                "customer_id": customer_id,
                "contact_id": contact_id,
            },
            {"$set": {"status": "active", "password_hash": password_hash, "activated_at": now}},
            session=self.session,
        )


class Invitations:
    def __init__(self, db: AsyncDatabase[Document], session: AsyncClientSession | None = None):
        self.collection = db["invitations"]
        self.session = session

    async def add(self, invitation: Invitation) -> None:
        """A new invitation replaces any still-pending one for the same contact."""
        await self.collection.update_many(
            {
                "organisation_id": invitation.organisation_id,
                "customer_id": invitation.customer_id,
                "contact_id": invitation.contact_id,
                "status": "pending",
            },
            {"$set": {"status": "superseded"}},
            session=self.session,
        )
        await self.collection.insert_one(asdict(invitation), session=self.session)

    async def by_digest(self, organisation_id: str, token_digest: str) -> Invitation | None:
        doc = await self.collection.find_one(
            {"organisation_id": organisation_id, "token_digest": token_digest},
            {"_id": 0},
            session=self.session,
        )
        return Invitation(**doc) if doc else None

    async def mark_accepted(self, invitation: Invitation, now: datetime) -> bool:
        """Only one acceptance can win, even when two requests race."""
        result = await self.collection.update_one(
            {
                "organisation_id": invitation.organisation_id,
                "token_digest": invitation.token_digest,
                "status": "pending",
            },
            {"$set": {"status": "accepted", "accepted_at": now}},
            session=self.session,
        )
        return result.modified_count == 1


class Sessions:
    def __init__(self, db: AsyncDatabase[Document], session: AsyncClientSession | None = None):
        self.collection = db["sessions"]
        self.session = session

    async def add(self, document: Document) -> None:
        await self.collection.insert_one(document, session=self.session)
