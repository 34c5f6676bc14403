"""Customer accounts in MongoDB, scoped by organisation."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from pymongo import ASCENDING
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

    async def add(self, account: CustomerAccount) -> None:
        await self.collection.insert_one(asdict(account), session=self.session)
