"""Read models of the customer's projects (with logged, billed and unbilled time) and of the
timesheets submitted for their approval, built from invoicing's project events on
`invoicing.quote-events`; and the queries the routes answer from them.

Every query takes the organisation AND the customer (None only for the merchant's own admin
reads): a project or timesheet of another customer is simply not found.
"""

from __future__ import annotations

from typing import Any

from pymongo import ASCENDING, DESCENDING
from pymongo.asynchronous.database import AsyncDatabase

from portal_contracts.envelope import Envelope
from portal_contracts.projects import (
    ProjectCreated,
    TimeLogged,
    TimesheetApproved,
    TimesheetRejected,
    TimesheetSubmitted,
)
from portal_runtime.store import Transaction

Document = dict[str, Any]

PROJECTS = "project_views"
TIMESHEETS = "timesheet_views"
PAGE_LIMIT = 200
_HIDDEN = {"_id": 0, "organisation_id": 0}


async def ensure_indexes(db: AsyncDatabase[Document]) -> None:
    scope = [("organisation_id", ASCENDING), ("customer_id", ASCENDING)]
    await db[PROJECTS].create_index([*scope, ("project_id", ASCENDING)], unique=True)
    await db[PROJECTS].create_index([*scope, ("created_at", DESCENDING)])
    await db[TIMESHEETS].create_index([*scope, ("timesheet_id", ASCENDING)], unique=True)
    await db[TIMESHEETS].create_index([*scope, ("status", ASCENDING), ("submitted_at", DESCENDING)])


def _key(event: Envelope, customer_id: str, name: str, value: str) -> Document:
    return {"organisation_id": event.organisation_id, "customer_id": customer_id, name: value}


async def project_projects(tx: Transaction, event: Envelope) -> None:
    projects, timesheets = tx.db[PROJECTS], tx.db[TIMESHEETS]
    match event:
        case ProjectCreated(data=p):
            await projects.update_one(
                _key(event, p.customer_id, "project_id", p.project_id),
                {
                    "$set": p.model_dump(mode="json"),
                    "$setOnInsert": {
                        "logged_minutes": 0,
                        "billed_minutes": 0,
                        "unbilled_minutes": 0,
                        "entries": [],
                    },
                },
                upsert=True,
                session=tx.session,
            )
        case TimeLogged(data=t):
            entry = t.model_dump(mode="json", exclude={"project_id", "customer_id", "at"})
            await projects.update_one(
                {
                    **_key(event, t.customer_id, "project_id", t.project_id),
                    "entries.entry_id": {"$ne": t.entry_id},
                },
                {
                    "$push": {"entries": entry},
                    "$inc": {
                        "logged_minutes": t.minutes,
                        "unbilled_minutes": t.minutes if t.billable else 0,
                    },
                },
                session=tx.session,
            )
        case TimesheetSubmitted(data=s):
            project = await projects.find_one(
                _key(event, s.customer_id, "project_id", s.project_id),
                {"name": 1, "entries": 1},
                session=tx.session,
            )
            chosen = set(s.entry_ids)
            entries = [e for e in (project or {}).get("entries", []) if e["entry_id"] in chosen]
            await timesheets.update_one(
                _key(event, s.customer_id, "timesheet_id", s.timesheet_id),
                {
                    "$set": {
                        "project_id": s.project_id,
                        "project_name": (project or {}).get("name", ""),
                        "status": s.status,
                        "entries": entries,
                        "minutes": s.minutes,
                        "billable_minutes": s.billable_minutes,
                        "submitted_at": s.at.isoformat(),
                    }
                },
                upsert=True,
                session=tx.session,
            )
        case TimesheetApproved(data=s) | TimesheetRejected(data=s):
            changes: Document = {"status": s.status, f"{s.status}_at": s.at.isoformat()}
            if s.reason is not None:
                changes["reason"] = s.reason
            if s.contact_id is not None:
                changes["answered_by"] = s.contact_id
            await timesheets.update_one(
                _key(event, s.customer_id, "timesheet_id", s.timesheet_id),
                {"$set": changes},
                session=tx.session,
            )
            if isinstance(event, TimesheetApproved):
                await projects.update_one(
                    _key(event, s.customer_id, "project_id", s.project_id),
                    {
                        "$inc": {
                            "billed_minutes": s.billable_minutes,
                            "unbilled_minutes": -s.billable_minutes,
                        }
                    },
                    session=tx.session,
                )


def _hours(minutes: Any) -> float:
    return round(int(minutes or 0) / 60, 2)


def project_view(doc: Document) -> Document:
    """A project as shown: its time in minutes and in hours (two decimals)."""
    for name in ("logged", "billed", "unbilled"):
        doc[f"{name}_hours"] = _hours(doc.get(f"{name}_minutes"))
    return doc


def timesheet_view(doc: Document) -> Document:
    doc["hours"] = _hours(doc.get("minutes"))
    doc["billable_hours"] = _hours(doc.get("billable_minutes"))
    return doc


def _scope(organisation_id: str, customer_id: str | None) -> Document:
    query: Document = {"organisation_id": organisation_id}
    if customer_id is not None:
        query["customer_id"] = customer_id
    return query


async def projects_of(
    db: AsyncDatabase[Document], organisation_id: str, customer_id: str | None
) -> list[Document]:
    cursor = db[PROJECTS].find(_scope(organisation_id, customer_id), _HIDDEN)
    return [
        project_view(doc) async for doc in cursor.sort("created_at", DESCENDING).limit(PAGE_LIMIT)
    ]


async def project(
    db: AsyncDatabase[Document], organisation_id: str, customer_id: str | None, project_id: str
) -> Document | None:
    found = await db[PROJECTS].find_one(
        {**_scope(organisation_id, customer_id), "project_id": project_id}, _HIDDEN
    )
    return None if found is None else project_view(found)


async def timesheets_of(
    db: AsyncDatabase[Document],
    organisation_id: str,
    customer_id: str | None,
    *,
    status: str | None = None,
    project_id: str | None = None,
) -> list[Document]:
    query = _scope(organisation_id, customer_id)
    if status is not None:
        query["status"] = status
    if project_id is not None:
        query["project_id"] = project_id
    cursor = db[TIMESHEETS].find(query, _HIDDEN).sort("submitted_at", DESCENDING)
    return [timesheet_view(doc) async for doc in cursor.limit(PAGE_LIMIT)]


async def timesheet(
    db: AsyncDatabase[Document], organisation_id: str, customer_id: str | None, timesheet_id: str
) -> Document | None:
    found = await db[TIMESHEETS].find_one(
        {**_scope(organisation_id, customer_id), "timesheet_id": timesheet_id}, _HIDDEN
    )
    return None if found is None else timesheet_view(found)
