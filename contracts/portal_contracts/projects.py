"""Projects and timesheets, owned by the invoicing service: the merchant keeps projects for a
customer, logs time on them and submits sets of time entries (timesheets) for the customer's
approval; the customer approves or rejects them in the portal.

The events travel on `invoicing.quote-events` (with quotes; keyed by customer id), so the
topic's union `QuoteMessage` in `documents.py` lists them. The commands travel on
`invoicing.commands` (the `InvoicingCommand` union in `invoicing.py`). A refused command is
answered with `CommandRejected` on `invoicing.quote-events`.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from portal_contracts.common import Money
from portal_contracts.envelope import Envelope

Id = Annotated[str, Field(min_length=1, max_length=64)]
TimesheetStatus = Literal["submitted", "approved", "rejected"]


class _Value(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


# ---------------------------------------------------------------- commands


class NewProject(_Value):
    project_id: Id
    customer_id: Id
    name: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=4000)
    currency: str = Field(pattern=r"^[A-Z]{3}$")
    # A fixed price for the whole project; None when the time is billed by the hour.
    fixed_cost_minor: int | None = Field(default=None, ge=0)


class CreateProject(Envelope):
    """Command (merchant): open a project for a customer."""

    type: Literal["CreateProject"] = "CreateProject"
    schema_version: Literal[1] = 1
    data: NewProject


class NewTimeEntry(_Value):
    project_id: Id
    customer_id: Id
    entry_id: Id
    date: dt.date
    minutes: int = Field(ge=1, le=24 * 60)
    description: str = Field(default="", max_length=1000)
    billable: bool = True


class LogTime(Envelope):
    """Command (merchant): record time spent on a project."""

    type: Literal["LogTime"] = "LogTime"
    schema_version: Literal[1] = 1
    data: NewTimeEntry


class NewTimesheet(_Value):
    project_id: Id
    customer_id: Id
    timesheet_id: Id
    # The entries to submit; empty means every entry not yet in a submitted or approved sheet.
    entry_ids: tuple[Id, ...] = Field(default=(), max_length=1000)


class SubmitTimesheet(Envelope):
    """Command (merchant): ask the customer to approve a set of time entries."""

    type: Literal["SubmitTimesheet"] = "SubmitTimesheet"
    schema_version: Literal[1] = 1
    data: NewTimesheet


class TimesheetAnswer(_Value):
    project_id: Id
    customer_id: Id
    timesheet_id: Id
    contact_id: Id


class ApproveTimesheet(Envelope):
    """Command (portal): the customer approves a submitted timesheet."""

    type: Literal["ApproveTimesheet"] = "ApproveTimesheet"
    schema_version: Literal[1] = 1
    data: TimesheetAnswer


class TimesheetRefusal(_Value):
    project_id: Id
    customer_id: Id
    timesheet_id: Id
    contact_id: Id
    reason: str = Field(min_length=1, max_length=1000)


class RejectTimesheet(Envelope):
    """Command (portal): the customer rejects a submitted timesheet, saying why."""

    type: Literal["RejectTimesheet"] = "RejectTimesheet"
    schema_version: Literal[1] = 1
    data: TimesheetRefusal


# ---------------------------------------------------------------- events


class ProjectSnapshot(_Value):
    project_id: str
    customer_id: str
    name: str
    description: str = ""
    currency: str
    fixed_cost: Money | None = None
    created_at: AwareDatetime


class ProjectCreated(Envelope):
    type: Literal["ProjectCreated"] = "ProjectCreated"
    schema_version: Literal[1] = 1
    data: ProjectSnapshot


class TimeEntry(_Value):
    project_id: str
    customer_id: str
    entry_id: str
    date: dt.date
    minutes: int
    description: str = ""
    billable: bool
    at: AwareDatetime


class TimeLogged(Envelope):
    type: Literal["TimeLogged"] = "TimeLogged"
    schema_version: Literal[1] = 1
    data: TimeEntry


class TimesheetSnapshot(_Value):
    timesheet_id: str
    project_id: str
    customer_id: str
    status: TimesheetStatus
    entry_ids: tuple[str, ...]
    minutes: int
    billable_minutes: int
    at: AwareDatetime


class TimesheetSubmitted(Envelope):
    type: Literal["TimesheetSubmitted"] = "TimesheetSubmitted"
    schema_version: Literal[1] = 1
    data: TimesheetSnapshot


class TimesheetStep(_Value):
    """A timesheet was approved or rejected (with the customer's reason)."""

    timesheet_id: str
    project_id: str
    customer_id: str
    status: TimesheetStatus
    minutes: int
    billable_minutes: int
    at: AwareDatetime
    contact_id: str | None = None
    reason: str | None = None


class TimesheetApproved(Envelope):
    type: Literal["TimesheetApproved"] = "TimesheetApproved"
    schema_version: Literal[1] = 1
    data: TimesheetStep


class TimesheetRejected(Envelope):
    type: Literal["TimesheetRejected"] = "TimesheetRejected"
    schema_version: Literal[1] = 1
    data: TimesheetStep


COMMANDS: tuple[type[Envelope], ...] = (
    CreateProject,
    LogTime,
    SubmitTimesheet,
    ApproveTimesheet,
    RejectTimesheet,
)

EVENTS: tuple[type[Envelope], ...] = (
    ProjectCreated,
    TimeLogged,
    TimesheetSubmitted,
    TimesheetApproved,
    TimesheetRejected,
)

MESSAGES: tuple[type[Envelope], ...] = (*COMMANDS, *EVENTS)
