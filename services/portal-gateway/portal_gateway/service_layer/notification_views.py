"""The merchant's views of notifications data, built from events (no call to notifications
answers a read): the notification feed, webhook endpoints and their delivery log, reviews, and
the portal activity report.

The activity report is projected from the activity events themselves
(`PortalActivityRecorded`, sign-ins from identity): the same facts notifications keeps in its
activity log. Read marks on the feed are the merchant's own state in the gateway.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pymongo import ASCENDING, DESCENDING
from pymongo.asynchronous.database import AsyncDatabase

from portal_contracts.envelope import Envelope
from portal_contracts.identity import ContactSignedIn, SignInFailed
from portal_contracts.notifications import (
    MerchantNotified,
    ReviewSubmitted,
    WebhookDeliveryChanged,
    WebhookEndpointChanged,
)
from portal_contracts.portal import PortalActivityRecorded
from portal_runtime.store import Transaction

Document = dict[str, Any]
ACTIVITY = "portal_activity_view"
FEED = "merchant_feed"
ENDPOINTS = "webhook_endpoints_view"
DELIVERIES = "webhook_deliveries_view"
REVIEWS = "reviews_view"
MESSAGES_SENT = "merchant_messages_sent"


async def ensure_indexes(db: AsyncDatabase[Document]) -> None:
    await db[ACTIVITY].create_index(
        [("organisation_id", ASCENDING), ("customer_id", ASCENDING), ("at", DESCENDING)]
    )
    await db[ACTIVITY].create_index([("organisation_id", ASCENDING), ("at", DESCENDING)])
    await db[FEED].create_index([("organisation_id", ASCENDING), ("created_at", DESCENDING)])
    await db[ENDPOINTS].create_index([("organisation_id", ASCENDING)])
    await db[DELIVERIES].create_index([("organisation_id", ASCENDING), ("updated_at", DESCENDING)])
    await db[REVIEWS].create_index(
        [("organisation_id", ASCENDING), ("customer_id", ASCENDING), ("submitted_at", DESCENDING)]
    )
    await db[MESSAGES_SENT].create_index(
        [("organisation_id", ASCENDING), ("contact_id", ASCENDING), ("at", DESCENDING)]
    )
    await db[MESSAGES_SENT].create_index("at", expireAfterSeconds=2 * 24 * 3600)


async def project_notifications(tx: Transaction, event: Envelope) -> None:
    org = event.organisation_id
    db, session = tx.db, tx.session
    match event:
        case PortalActivityRecorded(data=activity):
            await db[ACTIVITY].update_one(
                {"_id": str(event.event_id)},
                {
                    "$setOnInsert": {
                        "organisation_id": org,
                        **activity.model_dump(mode="json"),
                        "at": event.occurred_at,
                    }
                },
                upsert=True,
                session=session,
            )
        case ContactSignedIn(data=facts) | SignInFailed(data=facts):
            await db[ACTIVITY].update_one(
                {"_id": str(event.event_id)},
                {
                    "$setOnInsert": {
                        "organisation_id": org,
                        "customer_id": facts.customer_id,
                        "contact_id": facts.contact_id,
                        "module": "sign_in",
                        "action": facts.outcome,
                        "subject_id": None,
                        "ip": facts.ip,
                        "user_agent": facts.user_agent,
                        "at": event.occurred_at,
                    }
                },
                upsert=True,
                session=session,
            )
        case MerchantNotified(data=note):
            await db[FEED].update_one(
                {"_id": note.notification_id, "organisation_id": org},
                {
                    "$setOnInsert": {
                        **note.model_dump(mode="json"),
                        "event_id": str(event.event_id),
                        "created_at": event.occurred_at,
                        "read": False,
                    }
                },
                upsert=True,
                session=session,
            )
        case WebhookEndpointChanged(data=endpoint):
            await db[ENDPOINTS].update_one(
                {"_id": endpoint.endpoint_id, "organisation_id": org},
                {"$set": {**endpoint.model_dump(mode="json"), "updated_at": event.occurred_at}},
                upsert=True,
                session=session,
            )
        case WebhookDeliveryChanged(data=delivery):
            await db[DELIVERIES].update_one(
                # Changes of one delivery can arrive out of order only across partitions; they
                # share the organisation key, so the newest wins by arrival.
                {"_id": delivery.delivery_id, "organisation_id": org},
                {"$set": {**delivery.model_dump(mode="json"), "updated_at": event.occurred_at}},
                upsert=True,
                session=session,
            )
        case ReviewSubmitted(data=review):
            await db[REVIEWS].update_one(
                {"_id": review.review_id, "organisation_id": org},
                {
                    "$setOnInsert": {
                        **review.model_dump(mode="json"),
                        "submitted_at": event.occurred_at,
                    }
                },
                upsert=True,
                session=session,
            )


def _public(row: Document) -> Document:
    row = dict(row)
    row.pop("organisation_id", None)
    for key, value in row.items():
        if isinstance(value, datetime):
            row[key] = value.isoformat()
    return row


async def _page(
    collection: Any, query: Document, sort_by: str, *, limit: int, page: int
) -> tuple[list[Document], int]:
    """One page (newest first) and how many rows match in all."""
    total = await collection.count_documents(query)
    cursor = collection.find(query).sort([(sort_by, DESCENDING), ("_id", DESCENDING)])
    rows = await cursor.skip((page - 1) * limit).limit(limit).to_list()
    return rows, total


async def feed(
    db: AsyncDatabase[Document],
    organisation_id: str,
    *,
    unread_only: bool,
    limit: int,
    page: int = 1,
) -> tuple[list[Document], int]:
    query: Document = {"organisation_id": organisation_id}
    if unread_only:
        query["read"] = False
    rows, total = await _page(db[FEED], query, "created_at", limit=limit, page=page)
    return [{**_public(r), "notification_id": r["_id"]} for r in rows], total


async def mark_read(
    db: AsyncDatabase[Document], organisation_id: str, notification_ids: list[str] | None
) -> int:
    query: Document = {"organisation_id": organisation_id, "read": False}
    if notification_ids is not None:
        query["_id"] = {"$in": notification_ids}
    result = await db[FEED].update_many(query, {"$set": {"read": True}})
    return result.modified_count


async def endpoints(db: AsyncDatabase[Document], organisation_id: str) -> list[Document]:
    cursor = db[ENDPOINTS].find({"organisation_id": organisation_id, "status": "active"})
    return [_public(r) for r in await cursor.to_list()]


async def endpoint(
    db: AsyncDatabase[Document], organisation_id: str, endpoint_id: str
) -> Document | None:
    row = await db[ENDPOINTS].find_one({"_id": endpoint_id, "organisation_id": organisation_id})
    return _public(row) if row else None


async def deliveries(
    db: AsyncDatabase[Document],
    organisation_id: str,
    *,
    status: str | None,
    endpoint_id: str | None,
    limit: int,
    page: int = 1,
) -> tuple[list[Document], int]:
    query: Document = {"organisation_id": organisation_id}
    if status:
        query["status"] = status
    if endpoint_id:
        query["endpoint_id"] = endpoint_id
    rows, total = await _page(db[DELIVERIES], query, "updated_at", limit=limit, page=page)
    return [_public(r) for r in rows], total


async def delivery(
    db: AsyncDatabase[Document], organisation_id: str, delivery_id: str
) -> Document | None:
    row = await db[DELIVERIES].find_one({"_id": delivery_id, "organisation_id": organisation_id})
    return _public(row) if row else None


async def reviews(
    db: AsyncDatabase[Document],
    organisation_id: str,
    customer_id: str | None,
    limit: int,
    page: int = 1,
) -> tuple[list[Document], int]:
    query: Document = {"organisation_id": organisation_id}
    if customer_id:
        query["customer_id"] = customer_id
    rows, total = await _page(db[REVIEWS], query, "submitted_at", limit=limit, page=page)
    return [_public(r) for r in rows], total


async def activity_report(
    db: AsyncDatabase[Document],
    organisation_id: str,
    *,
    customer_id: str | None,
    since: datetime | None,
    until: datetime | None,
    limit: int,
    page: int = 1,
) -> Document:
    """Counts by module (and action within it) and the latest entries, for one merchant,
    optionally one customer and a date range (`since` inclusive, `until` exclusive)."""
    match: Document = {"organisation_id": organisation_id}
    if customer_id:
        match["customer_id"] = customer_id
    if since or until:
        match["at"] = {
            **({"$gte": since} if since else {}),
            **({"$lt": until} if until else {}),
        }
    pipeline: list[Document] = [
        {"$match": match},
        {"$group": {"_id": {"module": "$module", "action": "$action"}, "count": {"$sum": 1}}},
    ]
    modules: dict[str, Document] = {}
    async for row in await db[ACTIVITY].aggregate(pipeline):
        module = row["_id"]["module"]
        entry = modules.setdefault(module, {"module": module, "count": 0, "actions": {}})
        entry["count"] += row["count"]
        entry["actions"][row["_id"]["action"]] = row["count"]
    recent = await (
        db[ACTIVITY]
        .find(match)
        .sort([("at", DESCENDING), ("_id", DESCENDING)])
        .skip((page - 1) * limit)
        .limit(limit)
        .to_list()
    )
    by_module = sorted(modules.values(), key=lambda m: (-m["count"], m["module"]))
    return {
        "total": sum(m["count"] for m in by_module),
        "by_module": by_module,
        "recent": [{**_public(r), "activity_id": r.pop("_id")} for r in recent],
    }


async def messages_sent_since(
    db: AsyncDatabase[Document], organisation_id: str, contact_id: str, since: datetime
) -> int:
    return await db[MESSAGES_SENT].count_documents(
        {"organisation_id": organisation_id, "contact_id": contact_id, "at": {"$gte": since}}
    )


async def count_message(
    db: AsyncDatabase[Document], organisation_id: str, contact_id: str, at: datetime
) -> None:
    await db[MESSAGES_SENT].insert_one(
        {"organisation_id": organisation_id, "contact_id": contact_id, "at": at}
    )
