"""Projects and timesheets: the merchant opens projects, logs time and submits timesheets; the
customer approves or rejects them. Every step is an event on `invoicing.quote-events`."""

from __future__ import annotations

from typing import Any, cast

from invoicing.adapters.project_repository import ProjectRepository
from invoicing.domain.projects import Project, ProjectRuleBroken
from invoicing.service_layer.refusals import RefusalKind, refuse
from portal_contracts.common import Money
from portal_contracts.envelope import Envelope
from portal_contracts.projects import (
    ApproveTimesheet,
    CreateProject,
    LogTime,
    ProjectCreated,
    ProjectSnapshot,
    RejectTimesheet,
    SubmitTimesheet,
    TimeEntry,
    TimeLogged,
    TimesheetApproved,
    TimesheetRejected,
    TimesheetSnapshot,
    TimesheetStep,
    TimesheetSubmitted,
)
from portal_contracts.topics import QUOTE_EVENTS
from portal_runtime.store import Store, Transaction

CONSUMER = "invoicing.projects"

ProjectCommand = LogTime | SubmitTimesheet | ApproveTimesheet | RejectTimesheet


async def create_project(store: Store, command: CreateProject) -> None:
    new = command.data
    org = command.organisation_id

    async def work(tx: Transaction) -> None:
        projects = ProjectRepository(tx.db, tx.session)
        if await projects.exists(org, new.project_id):
            return  # the same project id twice: the first one stands
        now = store.clock.now()
        project = Project(
            organisation_id=org,
            project_id=new.project_id,
            customer_id=new.customer_id,
            name=new.name,
            description=new.description,
            currency=new.currency,
            fixed_cost_minor=new.fixed_cost_minor,
            created_at=now,
        )
        await projects.save(project)
        fixed = (
            None
            if new.fixed_cost_minor is None
            else Money(amount_minor=new.fixed_cost_minor, currency=new.currency)
        )
        snapshot = ProjectSnapshot(
            project_id=project.project_id,
            customer_id=project.customer_id,
            name=project.name,
            description=project.description,
            currency=project.currency,
            fixed_cost=fixed,
            created_at=now,
        )
        await tx.emit(
            QUOTE_EVENTS, ProjectCreated(**command.follow_up(), occurred_at=now, data=snapshot)
        )

    await store.transaction(work, handling=(CONSUMER, command))


def _step(project: Project, sheet: dict[str, Any], now: Any) -> TimesheetStep:
    return TimesheetStep(
        timesheet_id=sheet["timesheet_id"],
        project_id=project.project_id,
        customer_id=project.customer_id,
        status=sheet["status"],
        minutes=sheet["minutes"],
        billable_minutes=sheet["billable_minutes"],
        at=now,
        contact_id=sheet["answered_by"],
        reason=sheet["reason"],
    )


async def change_project(store: Store, command: ProjectCommand) -> None:
    """Log time, submit, approve or reject: load the customer's project, let it decide, save
    and tell; a refused step is answered with `CommandRejected`."""
    ref = command.data
    org = command.organisation_id

    async def work(tx: Transaction) -> None:
        projects = ProjectRepository(tx.db, tx.session)
        now = store.clock.now()
        project = await projects.get(org, ref.customer_id, ref.project_id)
        if project is None:
            await refuse(
                tx,
                QUOTE_EVENTS,
                command,
                ref.customer_id,
                "project_not_found",
                f"there is no project '{ref.project_id}'",
                "not_found",
                now,
            )
            return
        event: Envelope
        try:
            match command:
                case LogTime(data=entry):
                    if not project.log_time(
                        entry.entry_id, entry.date, entry.minutes, entry.description, entry.billable
                    ):
                        return
                    event = TimeLogged(
                        **command.follow_up(),
                        occurred_at=now,
                        data=TimeEntry(**entry.model_dump(), at=now),
                    )
                case SubmitTimesheet(data=new):
                    sheet = project.submit(new.timesheet_id, new.entry_ids, now)
                    event = TimesheetSubmitted(
                        **command.follow_up(),
                        occurred_at=now,
                        data=TimesheetSnapshot(
                            timesheet_id=new.timesheet_id,
                            project_id=project.project_id,
                            customer_id=project.customer_id,
                            status="submitted",
                            entry_ids=tuple(sheet["entry_ids"]),
                            minutes=sheet["minutes"],
                            billable_minutes=sheet["billable_minutes"],
                            at=now,
                        ),
                    )
                case ApproveTimesheet(data=answer):
                    sheet = project.approve(answer.timesheet_id, answer.contact_id, now)
                    event = TimesheetApproved(
                        **command.follow_up(), occurred_at=now, data=_step(project, sheet, now)
                    )
                case RejectTimesheet(data=refusal):
                    sheet = project.reject(
                        refusal.timesheet_id, refusal.contact_id, refusal.reason, now
                    )
                    event = TimesheetRejected(
                        **command.follow_up(), occurred_at=now, data=_step(project, sheet, now)
                    )
        except ProjectRuleBroken as broken:
            await refuse(
                tx,
                QUOTE_EVENTS,
                command,
                ref.customer_id,
                broken.code,
                broken.reason,
                cast(RefusalKind, broken.kind),
                now,
            )
            return
        await projects.save(project)
        await tx.emit(QUOTE_EVENTS, event)

    await store.transaction(work, handling=(CONSUMER, command))
