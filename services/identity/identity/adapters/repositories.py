"""Identity's MongoDB collections. Every query filters by organisation."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Any

from pymongo import ASCENDING, ReturnDocument
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase

from identity.domain.invitations import Invitation, SignUp

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
    await db["sign_ups"].create_index("token_digest", unique=True)
    await db["sign_ups"].create_index(
        [("organisation_id", ASCENDING), ("customer_id", ASCENDING), ("contact_id", ASCENDING)]
    )
    await db["customers"].create_index(
        [("organisation_id", ASCENDING), ("customer_id", ASCENDING)], unique=True
    )
    await db["sessions"].create_index("refresh_digest", unique=True)
    # Asked only when a presented refresh token is not a live one (reuse or garbage).
    await db["sessions"].create_index("rotated_digests")
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

    async def rename(self, organisation_id: str, name: str, portal_slug: str) -> None:
        """The portal answers at the new slug only; the old one stops resolving at once."""
        await self.collection.update_one(
            {"_id": organisation_id},
            {"$set": {"name": name, "portal_slug": portal_slug}},
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
        """Create the user as invited, or make an existing (not active) one invited again
        with fresh details. The caller never invites an active user."""
        await self.collection.update_one(
            {
                "organisation_id": organisation_id,
                "customer_id": customer_id,
                "contact_id": contact_id,
            },
            {
                "$set": {"email": email.lower(), "name": name, "status": "invited"},
                "$setOnInsert": {"password_hash": None, "created_at": now},
            },
            upsert=True,
            session=self.session,
        )

    async def rename(
        self, organisation_id: str, customer_id: str, contact_id: str, email: str, name: str
    ) -> None:
        """The contact's new email (how they sign in) and name."""
        await self.collection.update_one(
            {
                "organisation_id": organisation_id,
                "customer_id": customer_id,
                "contact_id": contact_id,
            },
            {"$set": {"email": email.lower(), "name": name}},
            session=self.session,
        )

    async def disable(
        self, organisation_id: str, customer_id: str, contact_ids: list[str], now: datetime
    ) -> list[str]:
        """Disable the given contacts (all of the customer's when empty); returns whose."""
        match: Document = {"organisation_id": organisation_id, "customer_id": customer_id}
        if contact_ids:
            match["contact_id"] = {"$in": contact_ids}
        found = [
            doc["contact_id"]
            async for doc in self.collection.find(match, {"contact_id": 1}, session=self.session)
        ]
        await self.collection.update_many(
            match, {"$set": {"status": "disabled", "disabled_at": now}}, session=self.session
        )
        return found

    async def grant(
        self,
        organisation_id: str,
        customer_id: str,
        contact_id: str,
        email: str,
        name: str,
        password_hash: str,
        now: datetime,
    ) -> None:
        """A verified sign-up: create the user active with its first password."""
        await self.collection.update_one(
            {
                "organisation_id": organisation_id,
                "customer_id": customer_id,
                "contact_id": contact_id,
            },
            {
                "$set": {
                    "email": email.lower(),
                    "name": name,
                    "status": "active",
                    "password_hash": password_hash,
                    "activated_at": now,
                },
                "$setOnInsert": {"created_at": now},
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


class _SingleUseLinks:
    """A collection of emailed links stored by token digest; one acceptance wins."""

    collection_name = ""

    def __init__(self, db: AsyncDatabase[Document], session: AsyncClientSession | None = None):
        self.collection = db[self.collection_name]
        self.session = session

    async def _by_digest(self, organisation_id: str, token_digest: str) -> Document | None:
        return await self.collection.find_one(
            {"organisation_id": organisation_id, "token_digest": token_digest},
            {"_id": 0},
            session=self.session,
        )

    async def _mark_accepted(self, organisation_id: str, token_digest: str, now: datetime) -> bool:
        """Only one acceptance can win, even when two requests race."""
        result = await self.collection.update_one(
            {"organisation_id": organisation_id, "token_digest": token_digest, "status": "pending"},
            {"$set": {"status": "accepted", "accepted_at": now}},
            session=self.session,
        )
        return result.modified_count == 1


class Invitations(_SingleUseLinks):
    collection_name = "invitations"

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
        doc = await self._by_digest(organisation_id, token_digest)
        return Invitation(**doc) if doc else None

    async def mark_accepted(self, invitation: Invitation, now: datetime) -> bool:
        return await self._mark_accepted(invitation.organisation_id, invitation.token_digest, now)

    async def withdraw(
        self, organisation_id: str, customer_id: str, contact_ids: list[str]
    ) -> None:
        """Pending links of these contacts (all of the customer's when empty) stop working."""
        match: Document = {
            "organisation_id": organisation_id,
            "customer_id": customer_id,
            "status": "pending",
        }
        if contact_ids:
            match["contact_id"] = {"$in": contact_ids}
        await self.collection.update_many(
            match, {"$set": {"status": "withdrawn"}}, session=self.session
        )


class SignUps(_SingleUseLinks):
    collection_name = "sign_ups"

    async def add(self, sign_up: SignUp) -> None:
        """A new sign-up link replaces any still-pending one for the same contact."""
        await self.collection.update_many(
            {
                "organisation_id": sign_up.organisation_id,
                "customer_id": sign_up.customer_id,
                "contact_id": sign_up.contact_id,
                "status": "pending",
            },
            {"$set": {"status": "superseded"}},
            session=self.session,
        )
        await self.collection.insert_one(asdict(sign_up), session=self.session)

    async def pending_since(
        self, organisation_id: str, customer_id: str, contact_id: str, since: datetime
    ) -> bool:
        """Whether a link was sent to this contact at or after `since` and is still pending."""
        found = await self.collection.find_one(
            {
                "organisation_id": organisation_id,
                "customer_id": customer_id,
                "contact_id": contact_id,
                "status": "pending",
                "created_at": {"$gte": since},
            },
            session=self.session,
        )
        return found is not None

    async def by_digest(self, organisation_id: str, token_digest: str) -> SignUp | None:
        doc = await self._by_digest(organisation_id, token_digest)
        return SignUp(**doc) if doc else None

    async def mark_accepted(self, sign_up: SignUp, now: datetime) -> bool:
        return await self._mark_accepted(sign_up.organisation_id, sign_up.token_digest, now)


class Customers:
    """Identity's copy of what it needs about customers: the portal language of their emails."""

    def __init__(self, db: AsyncDatabase[Document], session: AsyncClientSession | None = None):
        self.collection = db["customers"]
        self.session = session

    async def save(self, organisation_id: str, customer_id: str, portal_language: str) -> None:
        await self.collection.update_one(
            {"organisation_id": organisation_id, "customer_id": customer_id},
            {"$set": {"portal_language": portal_language}},
            upsert=True,
            session=self.session,
        )

    async def language_of(self, organisation_id: str, customer_id: str) -> str:
        doc = await self.collection.find_one(
            {"organisation_id": organisation_id, "customer_id": customer_id},
            session=self.session,
        )
        return str(doc["portal_language"]) if doc else "en"


class Sessions:
    def __init__(self, db: AsyncDatabase[Document], session: AsyncClientSession | None = None):
        self.collection = db["sessions"]
        self.session = session

    async def add(self, document: Document) -> None:
        await self.collection.insert_one(document, session=self.session)

    async def rotate(
        self,
        organisation_id: str,
        refresh_digest: str,
        new_digest: str,
        now: datetime,
        facts: Document,
        history: int,
    ) -> Document | None:
        """Exchange a live refresh token for the next one in one atomic update; the old digest
        is kept so that its reuse can be recognised, the newest `history` of them only (the
        list would otherwise grow with every refresh for the session's whole life)."""
        return await self.collection.find_one_and_update(
            {
                "organisation_id": organisation_id,
                "refresh_digest": refresh_digest,
                "revoked": False,
                "expires_at": {"$gt": now},
            },
            {
                "$set": {"refresh_digest": new_digest, "last_used_at": now, **facts},
                "$push": {"rotated_digests": {"$each": [refresh_digest], "$slice": -history}},
            },
            return_document=ReturnDocument.AFTER,
            session=self.session,
        )

    async def by_rotated_digest(self, organisation_id: str, digest: str) -> Document | None:
        return await self.collection.find_one(
            {"organisation_id": organisation_id, "rotated_digests": digest},
            {"rotated_digests": 0},
            session=self.session,
        )

    async def live_of_contact(
        self, organisation_id: str, customer_id: str, contact_id: str, now: datetime
    ) -> list[Document]:
        cursor = self.collection.find(
            {
                "organisation_id": organisation_id,
                "customer_id": customer_id,
                "contact_id": contact_id,
                "revoked": False,
                "expires_at": {"$gt": now},
            },
            {"rotated_digests": 0, "refresh_digest": 0},
            session=self.session,
        ).sort("last_used_at", -1)
        return [doc async for doc in cursor]
