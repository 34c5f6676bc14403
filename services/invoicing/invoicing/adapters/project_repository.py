"""Projects (with their time entries and timesheets) in MongoDB, scoped by organisation and
customer."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from pymongo import ASCENDING
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase

from invoicing.domain.projects import Project

Document = dict[str, Any]

PROJECTS = "projects"


async def ensure_indexes(db: AsyncDatabase[Document]) -> None:
    await db[PROJECTS].create_index(
        [("organisation_id", ASCENDING), ("project_id", ASCENDING)], unique=True
    )
    await db[PROJECTS].create_index(
        [
            ("organisation_id", ASCENDING),
            ("customer_id", ASCENDING),
            ("timesheets.timesheet_id", ASCENDING),
        ]
    )


class ProjectRepository:
    def __init__(self, db: AsyncDatabase[Document], session: AsyncClientSession | None = None):
        self.collection = db[PROJECTS]
        self.session = session

    async def exists(self, organisation_id: str, project_id: str) -> bool:
        found = await self.collection.find_one(
            {"organisation_id": organisation_id, "project_id": project_id},
            {"_id": 1},
            session=self.session,
        )
        return found is not None

    async def get(self, organisation_id: str, customer_id: str, project_id: str) -> Project | None:
        doc = await self.collection.find_one(
            {
                "organisation_id": organisation_id,
                "customer_id": customer_id,
                "project_id": project_id,
            },
            {"_id": 0},
            session=self.session,
        )
        if doc is None:
            return None
        # Mongo gives naive datetimes back unless the client is tz aware; keep what it gives.
        return Project(**doc)

    async def save(self, project: Project) -> None:
        doc = asdict(project)
        await self.collection.replace_one(
            {"organisation_id": project.organisation_id, "project_id": project.project_id},
            doc,
            upsert=True,
            session=self.session,
        )
