"""Identity's single sign-on collections: each merchant's provider configuration, the sign-in
attempts in flight (by state digest) and the one-time hand-off codes. Every query filters by
organisation; attempts and hand-off codes are single use (taken with find-and-delete)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pymongo import ASCENDING
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase

from identity.domain.sso import SsoConfiguration

Document = dict[str, Any]


async def ensure_indexes(db: AsyncDatabase[Document]) -> None:
    # Attempts and hand-offs live minutes; the TTL index only tidies, every read checks expiry.
    await db["sso_attempts"].create_index("expires_at", expireAfterSeconds=3600)
    await db["sso_handoffs"].create_index("expires_at", expireAfterSeconds=3600)
    await db["sso_attempts"].create_index([("organisation_id", ASCENDING)])
    await db["sso_links"].create_index(
        [
            ("organisation_id", ASCENDING),
            ("customer_id", ASCENDING),
            ("contact_id", ASCENDING),
            ("issuer", ASCENDING),
        ],
        unique=True,
    )


class SsoConfigurations:
    def __init__(self, db: AsyncDatabase[Document], session: AsyncClientSession | None = None):
        self.collection = db["sso_configurations"]
        self.session = session

    async def save(self, configuration: SsoConfiguration) -> None:
        await self.collection.replace_one(
            {"_id": configuration.organisation_id},
            {
                "issuer": configuration.issuer,
                "client_id": configuration.client_id,
                "sealed_client_secret": configuration.sealed_client_secret,
                "allowed_email_domains": list(configuration.allowed_email_domains),
                "enabled": configuration.enabled,
                "updated_at": configuration.updated_at,
            },
            upsert=True,
            session=self.session,
        )

    async def of(self, organisation_id: str) -> SsoConfiguration | None:
        doc = await self.collection.find_one({"_id": organisation_id}, session=self.session)
        if doc is None:
            return None
        return SsoConfiguration(
            organisation_id=doc["_id"],
            issuer=doc["issuer"],
            client_id=doc["client_id"],
            sealed_client_secret=doc["sealed_client_secret"],
            allowed_email_domains=tuple(doc.get("allowed_email_domains", ())),
            enabled=bool(doc["enabled"]),
            updated_at=doc["updated_at"],
        )

    async def remove(self, organisation_id: str) -> bool:
        result = await self.collection.delete_one({"_id": organisation_id}, session=self.session)
        return result.deleted_count == 1


class SsoAttempts:
    def __init__(self, db: AsyncDatabase[Document], session: AsyncClientSession | None = None):
        self.collection = db["sso_attempts"]
        self.session = session

    async def add(
        self,
        state_digest: str,
        organisation_id: str,
        nonce: str,
        sealed_code_verifier: str,
        issuer: str,
        now: datetime,
        expires_at: datetime,
    ) -> None:
        await self.collection.insert_one(
            {
                "_id": state_digest,
                "organisation_id": organisation_id,
                "nonce": nonce,
                "sealed_code_verifier": sealed_code_verifier,
                "issuer": issuer,
                "created_at": now,
                "expires_at": expires_at,
            },
            session=self.session,
        )

    async def take(self, state_digest: str, organisation_id: str) -> Document | None:
        """The attempt, removed so a state works once; only on the portal that started it."""
        return await self.collection.find_one_and_delete(
            {"_id": state_digest, "organisation_id": organisation_id}, session=self.session
        )


class SsoHandoffs:
    def __init__(self, db: AsyncDatabase[Document], session: AsyncClientSession | None = None):
        self.collection = db["sso_handoffs"]
        self.session = session

    async def add(self, code_digest: str, document: Document) -> None:
        await self.collection.insert_one({"_id": code_digest, **document}, session=self.session)

    async def take(self, code_digest: str, organisation_id: str) -> Document | None:
        return await self.collection.find_one_and_delete(
            {"_id": code_digest, "organisation_id": organisation_id}, session=self.session
        )


class SsoLinks:
    """Which provider account (issuer, subject) first signed in as a portal user. A provider
    may give a person's email to someone else later; the subject it assigned does not move."""

    def __init__(self, db: AsyncDatabase[Document], session: AsyncClientSession | None = None):
        self.collection = db["sso_links"]
        self.session = session

    async def subject_of(
        self, organisation_id: str, customer_id: str, contact_id: str, issuer: str
    ) -> str | None:
        doc = await self.collection.find_one(
            {
                "organisation_id": organisation_id,
                "customer_id": customer_id,
                "contact_id": contact_id,
                "issuer": issuer,
            },
            session=self.session,
        )
        return str(doc["subject"]) if doc else None

    async def link(
        self,
        organisation_id: str,
        customer_id: str,
        contact_id: str,
        issuer: str,
        subject: str,
        now: datetime,
    ) -> None:
        await self.collection.update_one(
            {
                "organisation_id": organisation_id,
                "customer_id": customer_id,
                "contact_id": contact_id,
                "issuer": issuer,
            },
            {"$setOnInsert": {"subject": subject, "linked_at": now}, "$set": {"last_used_at": now}},
            upsert=True,
            session=self.session,
        )

    async def forget_organisation(self, organisation_id: str) -> None:
        await self.collection.delete_many(
            {"organisation_id": organisation_id}, session=self.session
        )
