"""Customer accounts in MongoDB, scoped by organisation."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from pymongo import ASCENDING, ReturnDocument
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase

from invoicing.domain.accounts import CustomerAccount

Document = dict[str, Any]


class AccountRepository:
    def __init__(self, db: AsyncDatabase[Document], session: AsyncClientSession | None = None):
        self.collection = db["customer_accounts"]
        self.session = session

    @staticmethod
    async def ensure_indexes(db: AsyncDatabase[Document]) -> None:
        await db["customer_accounts"].create_index(
            [("organisation_id", ASCENDING), ("customer_id", ASCENDING)], unique=True
        )

    async def get(self, organisation_id: str, customer_id: str) -> CustomerAccount | None:
        doc = await self.collection.find_one(
            {"organisation_id": organisation_id, "customer_id": customer_id},
            {"_id": 0},
            session=self.session,
        )
        return CustomerAccount(**doc) if doc else None

    async def set_balance(
        self, organisation_id: str, customer_id: str, outstanding_minor: int, currency: str
    ) -> CustomerAccount:
        """Upsert, so a charge that arrives before the customer's account still counts."""
        doc = await self.collection.find_one_and_update(
            {"organisation_id": organisation_id, "customer_id": customer_id},
            {
                "$set": {"outstanding_minor": outstanding_minor},
                "$setOnInsert": {
                    "billing_name": customer_id,
                    "currency": currency,
                    "unused_credits_minor": 0,
                    "opened_at": None,
                },
            },
            {"_id": 0},
            upsert=True,
            return_document=ReturnDocument.AFTER,
            session=self.session,
        )
        assert doc is not None  # upserted
        return CustomerAccount(**doc)

    async def add(self, account: CustomerAccount) -> None:
        """Insert, or complete an account a charge opened before the customer's details came."""
        await self.collection.replace_one(
            {"organisation_id": account.organisation_id, "customer_id": account.customer_id},
            asdict(account),
            upsert=True,
            session=self.session,
        )
