"""Second factors, sign-in challenges and password reset links in MongoDB.

Secrets are stored sealed (TOTP seeds) or as digests (links, challenges, recovery codes);
every single-use thing is spent by one conditional update, so two racing requests cannot both
use it."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Any

from pymongo import ASCENDING, ReturnDocument
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase

from identity.adapters.throttle import SignInThrottle
from identity.domain.passwords import ResetLink

Document = dict[str, Any]


async def ensure_sign_in_indexes(db: AsyncDatabase[Document]) -> None:
    await db["sessions"].create_index("rotated_digests")
    await db["sessions"].create_index(
        [("organisation_id", ASCENDING), ("customer_id", ASCENDING), ("contact_id", ASCENDING)]
    )
    await db["password_resets"].create_index("token_digest", unique=True)
    await db["password_resets"].create_index(
        [("organisation_id", ASCENDING), ("customer_id", ASCENDING), ("contact_id", ASCENDING)]
    )
    await db["mfa_challenges"].create_index("challenge_digest", unique=True)
    await db["mfa_challenges"].create_index("expires_at", expireAfterSeconds=3600)
    await SignInThrottle.ensure_indexes(db)


def contact_filter(organisation_id: str, customer_id: str, contact_id: str) -> Document:
    return {
        "organisation_id": organisation_id,
        "customer_id": customer_id,
        "contact_id": contact_id,
    }


class SecondFactors:
    """The `mfa` (confirmed) and `mfa_pending` (being set up) parts of a portal user."""

    def __init__(self, db: AsyncDatabase[Document], session: AsyncClientSession | None = None):
        self.users = db["portal_users"]
        self.session = session

    async def start(self, who: Document, sealed_secret: str, now: datetime) -> None:
        await self.users.update_one(
            who,
            {"$set": {"mfa_pending": {"sealed_secret": sealed_secret, "started_at": now}}},
            session=self.session,
        )

    async def confirm(
        self,
        who: Document,
        sealed_secret: str,
        step: int,
        recovery_digests: list[str],
        now: datetime,
    ) -> bool:
        """Only the pending secret that was shown can be confirmed, and only once."""
        result = await self.users.update_one(
            {**who, "mfa_pending.sealed_secret": sealed_secret},
            {
                "$set": {
                    "mfa": {
                        "sealed_secret": sealed_secret,
                        "last_step": step,
                        "recovery_digests": recovery_digests,
                        "enrolled_at": now,
                    }
                },
                "$unset": {"mfa_pending": ""},
            },
            session=self.session,
        )
        return result.modified_count == 1

    async def use_step(self, who: Document, step: int) -> bool:
        """Atomically move the last used step forward; False when `step` (or a later one) was
        used already: the replay guard."""
        result = await self.users.update_one(
            {**who, "mfa.last_step": {"$lt": step}},
            {"$set": {"mfa.last_step": step}},
            session=self.session,
        )
        return result.modified_count == 1

    async def use_recovery_code(self, who: Document, digest: str) -> int | None:
        """Spend one recovery code; answers how many are left, or None if it was not there."""
        doc = await self.users.find_one_and_update(
            {**who, "mfa.recovery_digests": digest},
            {"$pull": {"mfa.recovery_digests": digest}},
            projection={"mfa.recovery_digests": 1},
            return_document=ReturnDocument.AFTER,
            session=self.session,
        )
        if doc is None:
            return None
        return len(doc.get("mfa", {}).get("recovery_digests", []))

    async def replace_recovery_codes(self, who: Document, digests: list[str]) -> bool:
        result = await self.users.update_one(
            {**who, "mfa": {"$exists": True}},
            {"$set": {"mfa.recovery_digests": digests}},
            session=self.session,
        )
        return result.modified_count == 1

    async def remove(self, who: Document) -> bool:
        result = await self.users.update_one(
            {**who, "mfa": {"$exists": True}},
            {"$unset": {"mfa": "", "mfa_pending": ""}},
            session=self.session,
        )
        return result.modified_count == 1


class Challenges:
    """Between the password step and the code step of a sign-in: short-lived, single use."""

    def __init__(self, db: AsyncDatabase[Document], session: AsyncClientSession | None = None):
        self.collection = db["mfa_challenges"]
        self.session = session

    async def add(self, document: Document) -> None:
        await self.collection.insert_one(document, session=self.session)

    async def live(self, organisation_id: str, digest: str, now: datetime) -> Document | None:
        return await self.collection.find_one(
            {
                "organisation_id": organisation_id,
                "challenge_digest": digest,
                "used": False,
                "expires_at": {"$gt": now},
            },
            session=self.session,
        )

    async def count_wrong_code(self, challenge_id: str, max_attempts: int) -> None:
        """Too many wrong codes spend the challenge: the password step must be done again."""
        doc = await self.collection.find_one_and_update(
            {"_id": challenge_id},
            {"$inc": {"wrong_codes": 1}},
            return_document=ReturnDocument.AFTER,
            session=self.session,
        )
        if doc and doc["wrong_codes"] >= max_attempts:
            await self.collection.update_one(
                {"_id": challenge_id}, {"$set": {"used": True}}, session=self.session
            )

    async def spend(self, challenge_id: str, now: datetime) -> bool:
        result = await self.collection.update_one(
            {"_id": challenge_id, "used": False},
            {"$set": {"used": True, "used_at": now}},
            session=self.session,
        )
        return result.modified_count == 1


class ResetLinks:
    def __init__(self, db: AsyncDatabase[Document], session: AsyncClientSession | None = None):
        self.collection = db["password_resets"]
        self.session = session

    async def add(self, link: ResetLink) -> None:
        """A new link replaces any still-pending one of the same contact."""
        await self.collection.update_many(
            {
                **contact_filter(link.organisation_id, link.customer_id, link.contact_id),
                "status": "pending",
            },
            {"$set": {"status": "superseded"}},
            session=self.session,
        )
        await self.collection.insert_one(asdict(link), session=self.session)

    async def by_digest(self, organisation_id: str, digest: str) -> ResetLink | None:
        doc = await self.collection.find_one(
            {"organisation_id": organisation_id, "token_digest": digest},
            {"_id": 0},
            session=self.session,
        )
        return ResetLink(**doc) if doc else None

    async def spend(self, link: ResetLink, now: datetime) -> bool:
        result = await self.collection.update_one(
            {
                "organisation_id": link.organisation_id,
                "token_digest": link.token_digest,
                "status": "pending",
            },
            {"$set": {"status": "used", "used_at": now}},
            session=self.session,
        )
        return result.modified_count == 1
