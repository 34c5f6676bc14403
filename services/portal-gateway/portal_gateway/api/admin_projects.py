"""The merchant's projects (admin API, X-API-Key): open a project for a customer, log time on
it, submit time entries to the customer for approval; read projects and timesheets back."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from litestar import Controller, Response, get, post
from litestar.params import Parameter
from pydantic import BaseModel, ConfigDict, Field

from portal_contracts import projects as p
from portal_contracts.envelope import Actor
from portal_gateway.api.merchant_auth import ADMIN_DEPENDENCIES, Merchant, merchant_guard
from portal_gateway.service_layer import document_views as documents
from portal_gateway.service_layer import project_views as views
from portal_gateway.service_layer.context import Gateway
from portal_runtime.errors import NotFound

RecordId = Annotated[str, Parameter(min_length=1, max_length=64)]
IdempotencyKey = Annotated[
    str | None, Parameter(header="Idempotency-Key", max_length=200, required=False)
]
ROOT = "/admin/v1"


class _Body(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ProjectDraft(_Body):
    customer_id: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=4000)
    currency: str | None = Field(default=None, pattern=r"^[A-Z]{3}$")
    fixed_cost_minor: int | None = Field(default=None, ge=0)


class TimeBody(_Body):
    date: dt.date
    minutes: int = Field(ge=1, le=24 * 60)
    description: str = Field(default="", max_length=1000)
    billable: bool = True


class TimesheetBody(_Body):
    entry_ids: tuple[str, ...] = Field(default=(), max_length=1000)


def controller(gateway: Gateway) -> type[Controller]:
    db = gateway.store.db

    def envelope(merchant: Merchant) -> dict[str, Any]:
        org = str(merchant["_id"])
        return documents.envelope_fields(org, Actor(kind="merchant", id=org))

    async def project_of(merchant: Merchant, project_id: str) -> dict[str, Any]:
        found = await views.project(db, str(merchant["_id"]), None, project_id)
        if found is None:
            raise NotFound(f"there is no project '{project_id}'")
        return found

    async def send(
        command: Any,
        customer_id: str,
        outcome: str,
        idempotency_key: str | None,
        view: Any,
    ) -> Response[dict[str, Any]]:
        done = await documents.send_document_command(
            gateway,
            command,
            customer_id=customer_id,
            outcomes=(outcome,),
            idempotency_key=idempotency_key,
        )
        response = await documents.settled(done, ROOT, view)
        if response.status_code == 200:
            return Response(response.content, status_code=201)
        return response

    class AdminProjectsController(Controller):
        path = ROOT
        tags = ["admin: projects"]
        guards = [merchant_guard(gateway)]
        dependencies = ADMIN_DEPENDENCIES
        security = [{"ApiKey": []}]

        @post("/projects", status_code=201)
        async def create_project(
            self, data: ProjectDraft, merchant: Merchant, idempotency_key: IdempotencyKey = None
        ) -> Response[dict[str, Any]]:
            """Open a project for a customer (optionally at a fixed cost)."""
            org = str(merchant["_id"])
            customer = await documents.customer_or_404(gateway, org, data.customer_id)
            project_id = documents.new_id("prj")
            currency = data.currency or str(
                customer.get("currency") or merchant.get("currency") or "USD"
            )
            command = p.CreateProject(
                **envelope(merchant),
                occurred_at=gateway.store.clock.now(),
                data=p.NewProject(
                    project_id=project_id,
                    customer_id=data.customer_id,
                    name=data.name,
                    description=data.description,
                    currency=currency,
                    fixed_cost_minor=data.fixed_cost_minor,
                ),
            )
            return await send(
                command,
                data.customer_id,
                "ProjectCreated",
                idempotency_key,
                lambda: views.project(db, org, None, project_id),
            )

        @get("/projects")
        async def projects(
            self,
            merchant: Merchant,
            customer_id: Annotated[
                str | None, Parameter(query="customer_id", max_length=64)
            ] = None,
        ) -> dict[str, Any]:
            """The merchant's projects (optionally of one customer)."""
            return {"items": await views.projects_of(db, str(merchant["_id"]), customer_id)}

        @get("/projects/{project_id:str}")
        async def project(self, project_id: RecordId, merchant: Merchant) -> dict[str, Any]:
            found = await project_of(merchant, project_id)
            sheets = await views.timesheets_of(
                db, str(merchant["_id"]), found["customer_id"], project_id=project_id
            )
            return {**found, "timesheets": sheets}

        @post("/projects/{project_id:str}/time", status_code=201)
        async def log_time(
            self,
            project_id: RecordId,
            data: TimeBody,
            merchant: Merchant,
            idempotency_key: IdempotencyKey = None,
        ) -> Response[dict[str, Any]]:
            """Log time on a project; answers the project with its new totals."""
            found = await project_of(merchant, project_id)
            entry_id = documents.new_id("te")
            command = p.LogTime(
                **envelope(merchant),
                occurred_at=gateway.store.clock.now(),
                data=p.NewTimeEntry(
                    project_id=project_id,
                    customer_id=found["customer_id"],
                    entry_id=entry_id,
                    date=data.date,
                    minutes=data.minutes,
                    description=data.description,
                    billable=data.billable,
                ),
            )

            async def view() -> dict[str, Any]:
                return {**await project_of(merchant, project_id), "entry_id": entry_id}

            return await send(command, found["customer_id"], "TimeLogged", idempotency_key, view)

        @post("/projects/{project_id:str}/timesheets", status_code=201)
        async def submit_timesheet(
            self,
            project_id: RecordId,
            data: TimesheetBody,
            merchant: Merchant,
            idempotency_key: IdempotencyKey = None,
        ) -> Response[dict[str, Any]]:
            """Submit time entries (all not yet submitted when none are named) for approval."""
            org = str(merchant["_id"])
            found = await project_of(merchant, project_id)
            timesheet_id = documents.new_id("ts")
            command = p.SubmitTimesheet(
                **envelope(merchant),
                occurred_at=gateway.store.clock.now(),
                data=p.NewTimesheet(
                    project_id=project_id,
                    customer_id=found["customer_id"],
                    timesheet_id=timesheet_id,
                    entry_ids=data.entry_ids,
                ),
            )
            return await send(
                command,
                found["customer_id"],
                "TimesheetSubmitted",
                idempotency_key,
                lambda: views.timesheet(db, org, None, timesheet_id),
            )

        @get("/timesheets/{timesheet_id:str}")
        async def timesheet(self, timesheet_id: RecordId, merchant: Merchant) -> dict[str, Any]:
            found = await views.timesheet(db, str(merchant["_id"]), None, timesheet_id)
            if found is None:
                raise NotFound(f"there is no timesheet '{timesheet_id}'")
            return found

    return AdminProjectsController
