"""Subscriptions and the catalogue in MongoDB; every query is scoped to the organisation.

A subscription document is its snapshot plus `organisation_id`, `due_at` (when the billing
clock next has work for it) and the clock's lease (`lease_owner`, `lease_until`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pymongo import ASCENDING, ReplaceOne, UpdateOne
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase

from portal_contracts.catalogue import AddonTerms, CouponTerms, PlanTerms
from portal_contracts.subscriptions import SubscriptionSnapshot
from portal_runtime.errors import RetryableFailure
from subscriptions.domain.subscriptions import Catalogue, due_at

Document = dict[str, Any]
CatalogueItem = PlanTerms | AddonTerms | CouponTerms


class StaleSubscription(RetryableFailure):
    """Someone else saved the subscription since it was loaded (optimistic concurrency): the
    handler runs again on the fresh state."""


class SubscriptionRepository:
    def __init__(self, db: AsyncDatabase[Document], session: AsyncClientSession | None = None):
        self.collection = db["subscriptions"]
        self.session = session

    @staticmethod
    async def ensure_indexes(db: AsyncDatabase[Document]) -> None:
        subscriptions = db["subscriptions"]
        await subscriptions.create_index(
            [("organisation_id", ASCENDING), ("subscription_id", ASCENDING)], unique=True
        )
        await subscriptions.create_index(
            [("organisation_id", ASCENDING), ("customer_id", ASCENDING)]
        )
        # The clock's query: what is due, oldest first (documents with nothing due are sparse).
        await subscriptions.create_index([("due_at", ASCENDING)], sparse=True)
        await db["catalogue"].create_index(
            [("organisation_id", ASCENDING), ("item_type", ASCENDING), ("code", ASCENDING)],
            unique=True,
        )

    async def get(self, organisation_id: str, subscription_id: str) -> SubscriptionSnapshot | None:
        doc = await self.collection.find_one(
            {"organisation_id": organisation_id, "subscription_id": subscription_id},
            session=self.session,
        )
        return _from_document(doc) if doc else None

    async def paying_with(
        self, organisation_id: str, customer_id: str, payment_method_id: str
    ) -> list[SubscriptionSnapshot]:
        """The customer's subscriptions linked to this payment method."""
        cursor = self.collection.find(
            {
                "organisation_id": organisation_id,
                "customer_id": customer_id,
                "payment_method_id": payment_method_id,
            },
            session=self.session,
        )
        return [_from_document(doc) async for doc in cursor]

    async def get_leased(
        self, organisation_id: str, subscription_id: str, owner: str
    ) -> SubscriptionSnapshot | None:
        """The subscription if this clock run still holds its lease."""
        doc = await self.collection.find_one(
            {
                "organisation_id": organisation_id,
                "subscription_id": subscription_id,
                "lease_owner": owner,
            },
            session=self.session,
        )
        return _from_document(doc) if doc else None

    async def leased(
        self, keys: list[tuple[str, str]], owner: str
    ) -> list[tuple[str, SubscriptionSnapshot]]:
        """The subscriptions among `keys` this clock run still holds, with their organisation."""
        cursor = self.collection.find(
            {"_id": {"$in": [_key(org, sub) for org, sub in keys]}, "lease_owner": owner},
            session=self.session,
        )
        return [(doc["organisation_id"], _from_document(doc)) async for doc in cursor]

    async def save_all(
        self, changes: list[tuple[str, SubscriptionSnapshot, int]], released: list[tuple[str, str]]
    ) -> None:
        """Save (organisation, new state, expected version) for many at once and release the
        leases of `released`; StaleSubscription if any was changed since it was loaded."""
        writes: list[ReplaceOne[Document] | UpdateOne] = [
            ReplaceOne(
                {"_id": _key(org, sub.subscription_id), "version": expected},
                to_document(org, sub),
            )
            for org, sub, expected in changes
        ]
        writes += [
            UpdateOne(
                {"_id": _key(org, sub_id)}, {"$unset": {"lease_owner": "", "lease_until": ""}}
            )
            for org, sub_id in released
        ]
        if not writes:
            return
        result = await self.collection.bulk_write(writes, ordered=False, session=self.session)
        if result.matched_count != len(writes):
            raise StaleSubscription("a subscription changed during the clock run")

    async def add(self, organisation_id: str, sub: SubscriptionSnapshot) -> None:
        await self.collection.insert_one(to_document(organisation_id, sub), session=self.session)

    async def save(
        self, organisation_id: str, sub: SubscriptionSnapshot, expected_version: int
    ) -> None:
        """Replace the stored state if it is still at `expected_version`; releases any lease."""
        result = await self.collection.replace_one(
            {
                "organisation_id": organisation_id,
                "subscription_id": sub.subscription_id,
                "version": expected_version,
            },
            to_document(organisation_id, sub),
            session=self.session,
        )
        if result.matched_count != 1:
            raise StaleSubscription(sub.subscription_id)

    async def release(self, organisation_id: str, subscription_id: str, owner: str) -> None:
        await self.collection.update_one(
            {
                "organisation_id": organisation_id,
                "subscription_id": subscription_id,
                "lease_owner": owner,
            },
            {"$unset": {"lease_owner": "", "lease_until": ""}},
            session=self.session,
        )

    async def claim_due(
        self, now: datetime, owner: str, lease_until: datetime, limit: int
    ) -> list[tuple[str, str]]:
        """Lease up to `limit` subscriptions that are due and not leased by a live clock run;
        returns (organisation id, subscription id) of those this run won."""
        free = {
            "due_at": {"$lte": now},
            "$or": [{"lease_until": None}, {"lease_until": {"$lt": now}}],
        }
        candidates = [
            doc["_id"]
            async for doc in self.collection.find(free, {"_id": 1}).sort("due_at", 1).limit(limit)
        ]
        if not candidates:
            return []
        await self.collection.update_many(
            {"_id": {"$in": candidates}, **free},
            {"$set": {"lease_owner": owner, "lease_until": lease_until}},
        )
        return [
            (doc["organisation_id"], doc["subscription_id"])
            async for doc in self.collection.find(
                {"_id": {"$in": candidates}, "lease_owner": owner},
                {"organisation_id": 1, "subscription_id": 1},
            )
        ]


class CatalogueRepository:
    def __init__(self, db: AsyncDatabase[Document], session: AsyncClientSession | None = None):
        self.collection = db["catalogue"]
        self.session = session

    async def put(self, organisation_id: str, item: CatalogueItem) -> None:
        await self.collection.replace_one(
            {"organisation_id": organisation_id, "item_type": item.item_type, "code": item.code},
            {
                "organisation_id": organisation_id,
                "item_type": item.item_type,
                "code": item.code,
                "terms": item.model_dump(mode="json"),
            },
            upsert=True,
            session=self.session,
        )

    async def load(self, organisation_id: str) -> Catalogue:
        catalogue = Catalogue()
        async for doc in self.collection.find(
            {"organisation_id": organisation_id}, session=self.session
        ):
            terms = doc["terms"]
            match doc["item_type"]:
                case "plan":
                    catalogue.plans[doc["code"]] = PlanTerms.model_validate(terms)
                case "addon":
                    catalogue.addons[doc["code"]] = AddonTerms.model_validate(terms)
                case "coupon":
                    catalogue.coupons[doc["code"]] = CouponTerms.model_validate(terms)
        return catalogue


def _key(organisation_id: str, subscription_id: str) -> str:
    return f"{organisation_id}:{subscription_id}"


def to_document(organisation_id: str, sub: SubscriptionSnapshot) -> Document:
    return {
        "_id": _key(organisation_id, sub.subscription_id),
        "organisation_id": organisation_id,
        **sub.model_dump(),
        "due_at": due_at(sub),
    }


def _from_document(doc: Document) -> SubscriptionSnapshot:
    fields = SubscriptionSnapshot.model_fields
    return SubscriptionSnapshot.model_validate({k: v for k, v in doc.items() if k in fields})
