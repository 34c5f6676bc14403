"""Projects and timesheets: time the merchant logs on a customer's project, and the customer's
approval of it.

An entry is logged, then submitted in one timesheet at a time. A timesheet goes submitted ->
approved or rejected; only a submitted one can be answered, and only by its own customer (the
repository finds projects by organisation AND customer, so another customer's timesheet is
simply not found). A rejected timesheet gives its entries back: they may be submitted again.

Hours: `logged` is every entry; `billed` the billable entries of approved timesheets;
`unbilled` the billable entries not approved yet.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

SUBMITTED, APPROVED, REJECTED = "submitted", "approved", "rejected"


class ProjectRuleBroken(Exception):
    """A step the project or timesheet does not allow; `code` names it, `kind` is the refusal
    kind (conflict or not_found)."""

    def __init__(self, code: str, reason: str, kind: str = "conflict") -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason
        self.kind = kind


@dataclass
class Project:
    organisation_id: str
    project_id: str
    customer_id: str
    name: str
    currency: str
    created_at: dt.datetime
    description: str = ""
    fixed_cost_minor: int | None = None
    entries: list[dict[str, Any]] = field(default_factory=list)
    timesheets: list[dict[str, Any]] = field(default_factory=list)

    def log_time(
        self, entry_id: str, date: dt.date, minutes: int, description: str, billable: bool
    ) -> bool:
        """Record an entry; the same entry id twice changes nothing (False)."""
        if any(e["entry_id"] == entry_id for e in self.entries):
            return False
        if minutes <= 0:
            raise ProjectRuleBroken("invalid_minutes", "time logged must be positive", "invalid")
        self.entries.append(
            {
                "entry_id": entry_id,
                "date": date.isoformat(),
                "minutes": minutes,
                "description": description,
                "billable": billable,
                "timesheet_id": None,
            }
        )
        return True

    def submit(
        self, timesheet_id: str, entry_ids: tuple[str, ...], now: dt.datetime
    ) -> dict[str, Any]:
        """Put entries (all free ones when none are named) in a new submitted timesheet."""
        if self.timesheet(timesheet_id) is not None:
            raise ProjectRuleBroken("timesheet_exists", f"timesheet '{timesheet_id}' exists")
        free = [e for e in self.entries if e["timesheet_id"] is None]
        if entry_ids:
            known = {e["entry_id"]: e for e in self.entries}
            missing = [i for i in entry_ids if i not in known]
            if missing:
                raise ProjectRuleBroken(
                    "entry_not_found", f"there is no time entry '{missing[0]}'", "not_found"
                )
            taken = [i for i in entry_ids if known[i]["timesheet_id"] is not None]
            if taken:
                raise ProjectRuleBroken(
                    "entry_already_submitted", f"time entry '{taken[0]}' is already submitted"
                )
            chosen = [known[i] for i in dict.fromkeys(entry_ids)]
        else:
            chosen = free
        if not chosen:
            raise ProjectRuleBroken("nothing_to_submit", "there is no time to submit")
        for entry in chosen:
            entry["timesheet_id"] = timesheet_id
        sheet = {
            "timesheet_id": timesheet_id,
            "status": SUBMITTED,
            "entry_ids": [e["entry_id"] for e in chosen],
            "minutes": sum(int(e["minutes"]) for e in chosen),
            "billable_minutes": sum(int(e["minutes"]) for e in chosen if e["billable"]),
            "submitted_at": now,
            "answered_at": None,
            "answered_by": None,
            "reason": None,
        }
        self.timesheets.append(sheet)
        return sheet

    def approve(self, timesheet_id: str, contact_id: str, now: dt.datetime) -> dict[str, Any]:
        sheet = self._open(timesheet_id, "approve")
        sheet.update(status=APPROVED, answered_at=now, answered_by=contact_id)
        return sheet

    def reject(
        self, timesheet_id: str, contact_id: str, reason: str, now: dt.datetime
    ) -> dict[str, Any]:
        if not reason.strip():
            raise ProjectRuleBroken(
                "reason_required", "say why the timesheet is rejected", "invalid"
            )
        sheet = self._open(timesheet_id, "reject")
        sheet.update(
            status=REJECTED, answered_at=now, answered_by=contact_id, reason=reason.strip()
        )
        for entry in self.entries:
            if entry["timesheet_id"] == timesheet_id:
                entry["timesheet_id"] = None  # free to be submitted again
        return sheet

    def timesheet(self, timesheet_id: str) -> dict[str, Any] | None:
        return next((t for t in self.timesheets if t["timesheet_id"] == timesheet_id), None)

    def _open(self, timesheet_id: str, verb: str) -> dict[str, Any]:
        sheet = self.timesheet(timesheet_id)
        if sheet is None:
            raise ProjectRuleBroken(
                "timesheet_not_found", f"there is no timesheet '{timesheet_id}'", "not_found"
            )
        if sheet["status"] != SUBMITTED:
            raise ProjectRuleBroken(
                "timesheet_not_open",
                f"timesheet '{timesheet_id}' is {sheet['status']} and cannot be {verb}d",
            )
        return sheet

    def hours(self) -> dict[str, int]:
        """Minutes logged, billed (approved billable) and unbilled (other billable)."""
        approved = {t["timesheet_id"] for t in self.timesheets if t["status"] == APPROVED}
        logged = sum(int(e["minutes"]) for e in self.entries)
        billable = [e for e in self.entries if e["billable"]]
        billed = sum(int(e["minutes"]) for e in billable if e["timesheet_id"] in approved)
        unbilled = sum(int(e["minutes"]) for e in billable) - billed
        return {"logged_minutes": logged, "billed_minutes": billed, "unbilled_minutes": unbilled}
