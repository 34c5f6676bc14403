"""The customer's projects and timesheets in the portal: projects with their logged, billed and
unbilled time; timesheets submitted for approval, approved or rejected with a reason.

The whole module (views and actions) answers only while the merchant's preference
`portal.projects_and_timesheets` is on (403 `not_enabled` otherwise)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from litestar import Controller, Response, get, post
from litestar.params import Parameter
from pydantic import BaseModel, ConfigDict, Field

from portal_contracts import projects as p
from portal_contracts.envelope import Actor
from portal_gateway.api.schemas import SLUG
from portal_gateway.api.security import PORTAL_DEPENDENCIES, PortalPrincipal, portal_guard
from portal_gateway.domain.preferences import require
from portal_gateway.service_layer import document_views as documents
from portal_gateway.service_layer import project_views as views
from portal_gateway.service_layer.context import Gateway
from portal_gateway.service_layer.preferences import preferences_of
from portal_runtime.errors import NotFound

Slug = Annotated[str, Parameter(pattern=SLUG, max_length=63)]
RecordId = Annotated[str, Parameter(min_length=1, max_length=64)]
IdempotencyKey = Annotated[
    str | None, Parameter(header="Idempotency-Key", max_length=200, required=False)
]
SheetStatus = Literal["awaiting_approval", "submitted", "approved", "rejected"]


class Rejection(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    reason: str = Field(min_length=1, max_length=1000)


def controller(gateway: Gateway) -> type[Controller]:
    db = gateway.store.db

    async def enabled(principal: PortalPrincipal) -> None:
        prefs = await preferences_of(gateway, principal.organisation_id)
        require(prefs.portal.projects_and_timesheets, "projects and timesheets")

    async def sheet_of(principal: PortalPrincipal, timesheet_id: str) -> dict[str, Any]:
        found = await views.timesheet(
            db, principal.organisation_id, principal.customer_id, timesheet_id
        )
        if found is None:
            raise NotFound(f"there is no timesheet '{timesheet_id}'")
        return found

    def envelope(principal: PortalPrincipal) -> dict[str, Any]:
        actor = Actor(kind="contact", id=principal.contact_id)
        return documents.envelope_fields(principal.organisation_id, actor)

    async def answer(
        slug: str,
        principal: PortalPrincipal,
        timesheet_id: str,
        command: p.ApproveTimesheet | p.RejectTimesheet,
        outcome: str,
        idempotency_key: str | None,
    ) -> Response[dict[str, Any]]:
        done = await documents.send_document_command(
            gateway,
            command,
            customer_id=principal.customer_id,
            outcomes=(outcome,),
            idempotency_key=idempotency_key,
        )
        return await documents.settled(
            done, f"/portal/{slug}/api", lambda: sheet_of(principal, timesheet_id)
        )

    class PortalProjectsController(Controller):
        path = "/portal/{slug:str}/api"
        tags = ["portal: projects and timesheets"]
        guards = [portal_guard(gateway)]
        dependencies = PORTAL_DEPENDENCIES
        security = [{"BearerToken": []}]

        @get("/projects")
        async def projects(self, slug: Slug, principal: PortalPrincipal) -> dict[str, Any]:
            """Your projects, newest first, with the time logged, billed and not yet billed."""
            await enabled(principal)
            items = await views.projects_of(db, principal.organisation_id, principal.customer_id)
            return {"items": items}

        @get("/projects/{project_id:str}")
        async def project(
            self, slug: Slug, project_id: RecordId, principal: PortalPrincipal
        ) -> dict[str, Any]:
            """One project: its time entries and its timesheets."""
            await enabled(principal)
            org, customer = principal.organisation_id, principal.customer_id
            found = await views.project(db, org, customer, project_id)
            if found is None:
                raise NotFound(f"there is no project '{project_id}'")
            sheets = await views.timesheets_of(db, org, customer, project_id=project_id)
            return {**found, "timesheets": sheets}

        @get("/timesheets")
        async def timesheets(
            self,
            slug: Slug,
            principal: PortalPrincipal,
            status: Annotated[SheetStatus | None, Parameter(query="status")] = None,
        ) -> dict[str, Any]:
            """Timesheets submitted to you (`awaiting_approval` = not answered yet)."""
            await enabled(principal)
            wanted = "submitted" if status == "awaiting_approval" else status
            items = await views.timesheets_of(
                db, principal.organisation_id, principal.customer_id, status=wanted
            )
            return {"items": items}

        @get("/timesheets/{timesheet_id:str}")
        async def timesheet(
            self, slug: Slug, timesheet_id: RecordId, principal: PortalPrincipal
        ) -> dict[str, Any]:
            """One timesheet with its time entries."""
            await enabled(principal)
            return await sheet_of(principal, timesheet_id)

        @post("/timesheets/{timesheet_id:str}/approve", status_code=200)
        async def approve(
            self,
            slug: Slug,
            timesheet_id: RecordId,
            principal: PortalPrincipal,
            idempotency_key: IdempotencyKey = None,
        ) -> Response[dict[str, Any]]:
            """Approve a timesheet submitted to you (409 once it is answered)."""
            await enabled(principal)
            sheet = await sheet_of(principal, timesheet_id)
            command = p.ApproveTimesheet(
                **envelope(principal),
                occurred_at=gateway.store.clock.now(),
                data=p.TimesheetAnswer(
                    project_id=sheet["project_id"],
                    customer_id=principal.customer_id,
                    timesheet_id=timesheet_id,
                    contact_id=principal.contact_id,
                ),
            )
            return await answer(
                slug, principal, timesheet_id, command, "TimesheetApproved", idempotency_key
            )

        @post("/timesheets/{timesheet_id:str}/reject", status_code=200)
        async def reject(
            self,
            slug: Slug,
            timesheet_id: RecordId,
            data: Rejection,
            principal: PortalPrincipal,
            idempotency_key: IdempotencyKey = None,
        ) -> Response[dict[str, Any]]:
            """Reject a timesheet submitted to you, saying why (409 once it is answered)."""
            await enabled(principal)
            sheet = await sheet_of(principal, timesheet_id)
            command = p.RejectTimesheet(
                **envelope(principal),
                occurred_at=gateway.store.clock.now(),
                data=p.TimesheetRefusal(
                    project_id=sheet["project_id"],
                    customer_id=principal.customer_id,
                    timesheet_id=timesheet_id,
                    contact_id=principal.contact_id,
                    reason=data.reason,
                ),
            )
            return await answer(
                slug, principal, timesheet_id, command, "TimesheetRejected", idempotency_key
            )

    return PortalProjectsController
