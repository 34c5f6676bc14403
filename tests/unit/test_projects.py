"""The rules of projects and timesheets (invoicing's domain)."""

from __future__ import annotations

import datetime as dt

import pytest

from invoicing.domain.projects import Project, ProjectRuleBroken

NOW = dt.datetime(2026, 11, 21, 12, 0, tzinfo=dt.UTC)
DAY = dt.date(2026, 11, 20)


def project_with_time() -> Project:
    project = Project("org_1", "prj_1", "cus_1", "Redesign", "USD", NOW)
    project.log_time("te_1", DAY, 90, "Wireframes", billable=True)
    project.log_time("te_2", DAY, 30, "Internal sync", billable=False)
    project.log_time("te_3", DAY, 60, "Build", billable=True)
    return project


def test_hours_split_into_billed_once_approved_and_unbilled_before() -> None:
    project = project_with_time()
    assert project.hours() == {"logged_minutes": 180, "billed_minutes": 0, "unbilled_minutes": 150}
    sheet = project.submit("ts_1", ("te_1", "te_2"), NOW)
    assert (sheet["minutes"], sheet["billable_minutes"]) == (120, 90)
    project.approve("ts_1", "ct_1", NOW)
    assert project.hours() == {"logged_minutes": 180, "billed_minutes": 90, "unbilled_minutes": 60}


def test_the_same_entry_logged_twice_counts_once() -> None:
    project = project_with_time()
    assert not project.log_time("te_1", DAY, 90, "Wireframes", billable=True)
    assert project.hours()["logged_minutes"] == 180


def test_a_timesheet_can_be_answered_only_while_submitted() -> None:
    project = project_with_time()
    project.submit("ts_1", (), NOW)
    project.approve("ts_1", "ct_1", NOW)
    with pytest.raises(ProjectRuleBroken) as twice:
        project.approve("ts_1", "ct_1", NOW)
    with pytest.raises(ProjectRuleBroken) as late:
        project.reject("ts_1", "ct_1", "wrong", NOW)
    for broken in (twice, late):
        assert (broken.value.code, broken.value.kind) == ("timesheet_not_open", "conflict")


def test_rejecting_needs_a_reason_and_frees_the_entries_for_a_new_sheet() -> None:
    project = project_with_time()
    project.submit("ts_1", ("te_1",), NOW)
    with pytest.raises(ProjectRuleBroken) as broken:
        project.reject("ts_1", "ct_1", "  ", NOW)
    assert broken.value.kind == "invalid"
    sheet = project.reject("ts_1", "ct_1", "Not this week", NOW)
    assert (sheet["status"], sheet["reason"]) == ("rejected", "Not this week")
    again = project.submit("ts_2", ("te_1",), NOW)
    assert again["entry_ids"] == ["te_1"]


def test_entries_go_into_one_submitted_sheet_at_a_time() -> None:
    project = project_with_time()
    project.submit("ts_1", ("te_1",), NOW)
    with pytest.raises(ProjectRuleBroken) as taken:
        project.submit("ts_2", ("te_1",), NOW)
    assert taken.value.code == "entry_already_submitted"
    rest = project.submit("ts_2", (), NOW)
    assert rest["entry_ids"] == ["te_2", "te_3"]
    with pytest.raises(ProjectRuleBroken) as empty:
        project.submit("ts_3", (), NOW)
    assert empty.value.code == "nothing_to_submit"


def test_unknown_timesheets_and_entries_are_not_found() -> None:
    project = project_with_time()
    with pytest.raises(ProjectRuleBroken) as sheet:
        project.approve("ts_missing", "ct_1", NOW)
    with pytest.raises(ProjectRuleBroken) as entry:
        project.submit("ts_1", ("te_missing",), NOW)
    assert (sheet.value.kind, entry.value.kind) == ("not_found", "not_found")
