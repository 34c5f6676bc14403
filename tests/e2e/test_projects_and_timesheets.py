"""Projects and timesheets through the whole local stack: the merchant opens a project, logs
time and submits timesheets (admin API -> invoicing -> events -> the gateway's read models);
the customer sees the project's time and approves or rejects the timesheets in the portal,
only while the merchant has the module on."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from deploy.local.stack import LocalStack
from tests.support.documents import SignedIn, set_preferences, signed_in_customer
from tests.support.portal import register_merchant
from tests.support.projects import create_project, log_time, submit_timesheet
from tests.support.waiting import eventually

pytestmark = pytest.mark.e2e


async def home(http: httpx.AsyncClient, who: SignedIn) -> dict[str, Any]:
    response = await http.get(f"{who.portal}/home", headers=who.headers)
    assert response.status_code == 200, response.text
    board: dict[str, Any] = response.json()
    return board


async def test_customer_sees_project_time_and_approves_or_rejects_timesheets(
    stack: LocalStack, http: httpx.AsyncClient
) -> None:
    gateway, mailbox = stack.urls["gateway"], stack.urls["mailbox"]
    merchant = await register_merchant(http, gateway, stack.operator_token, "Atlas Studio")
    ada = await signed_in_customer(http, gateway, mailbox, merchant, "Ada")
    project = await create_project(
        http,
        gateway,
        merchant,
        ada.customer_id,
        description="New storefront",
        fixed_cost_minor=250_000,
    )
    pid = project["project_id"]
    design = await log_time(http, gateway, merchant, pid, 90)
    await log_time(http, gateway, merchant, pid, 30, billable=False, description="Sync")
    build = await log_time(http, gateway, merchant, pid, 120, description="Build")
    first = await submit_timesheet(http, gateway, merchant, pid, [design])
    assert (first["status"], first["minutes"]) == ("submitted", 90)
    second = await submit_timesheet(http, gateway, merchant, pid, [build])

    # Off (the default): every view and action of the module is refused.
    for method, path in (
        ("GET", "/projects"),
        ("GET", f"/projects/{pid}"),
        ("GET", "/timesheets?status=awaiting_approval"),
        ("POST", f"/timesheets/{first['timesheet_id']}/approve"),
    ):
        refused = await http.request(method, f"{ada.portal}{path}", headers=ada.headers)
        assert refused.status_code == 403, f"{path}: {refused.text}"
        assert refused.json()["code"] == "not_enabled"
    assert "timesheets_awaiting" not in await home(http, ada)

    await set_preferences(http, gateway, merchant, {"projects_and_timesheets": True})
    listed = await http.get(f"{ada.portal}/projects", headers=ada.headers)
    assert listed.status_code == 200, listed.text
    [seen] = listed.json()["items"]
    assert (seen["name"], seen["description"]) == ("Website redesign", "New storefront")
    assert seen["fixed_cost"] == {"amount_minor": 250_000, "currency": "USD"}
    assert (seen["logged_minutes"], seen["billed_minutes"], seen["unbilled_minutes"]) == (
        240,
        0,
        210,
    )
    assert seen["logged_hours"] == 4.0
    waiting = await http.get(
        f"{ada.portal}/timesheets", params={"status": "awaiting_approval"}, headers=ada.headers
    )
    assert {t["timesheet_id"] for t in waiting.json()["items"]} == {
        first["timesheet_id"],
        second["timesheet_id"],
    }
    assert (await home(http, ada))["timesheets_awaiting"] == 2

    approve = f"{ada.portal}/timesheets/{first['timesheet_id']}/approve"
    approved = await http.post(approve, headers=ada.headers)
    assert approved.status_code == 200, approved.text
    assert approved.json()["status"] == "approved"
    again = await http.post(approve, headers=ada.headers)
    assert again.status_code == 409, again.text

    rejected = await http.post(
        f"{ada.portal}/timesheets/{second['timesheet_id']}/reject",
        json={"reason": "Build was on the fixed price"},
        headers=ada.headers,
    )
    assert rejected.status_code == 200, rejected.text
    assert (rejected.json()["status"], rejected.json()["reason"]) == (
        "rejected",
        "Build was on the fixed price",
    )

    async def settled() -> dict[str, Any] | None:
        board = await home(http, ada)
        return board if board["timesheets_awaiting"] == 0 else None

    await eventually(settled)
    opened = await http.get(f"{ada.portal}/projects/{pid}", headers=ada.headers)
    assert opened.status_code == 200, opened.text
    shown = opened.json()
    assert (shown["billed_minutes"], shown["unbilled_minutes"]) == (90, 120)
    assert {t["status"] for t in shown["timesheets"]} == {"approved", "rejected"}
    assert len(shown["entries"]) == 3

    # The merchant hears of the approval and the rejection (portal activity -> notifications'
    # feed).
    admin = {"X-API-Key": merchant["api_key"]}

    async def feed() -> list[dict[str, Any]] | None:
        found = (await http.get(f"{gateway}/admin/v1/notifications", headers=admin)).json()
        kinds = [n for n in found["notifications"] if n["kind"].startswith("timesheet.")]
        return kinds if len(kinds) == 2 else None

    told = {n["kind"]: n for n in await eventually(feed)}
    assert {n["customer_id"] for n in told.values()} == {ada.customer_id}
    assert first["timesheet_id"] in told["timesheet.approved"]["summary"]
    assert second["timesheet_id"] in told["timesheet.rejected"]["summary"]


async def test_other_customers_cannot_see_or_answer_a_timesheet(
    stack: LocalStack, http: httpx.AsyncClient
) -> None:
    gateway, mailbox = stack.urls["gateway"], stack.urls["mailbox"]
    merchant = await register_merchant(http, gateway, stack.operator_token, "Atlas Works")
    other_merchant = await register_merchant(http, gateway, stack.operator_token, "Beta Works")
    owner = await signed_in_customer(http, gateway, mailbox, merchant, "Owner")
    neighbour = await signed_in_customer(http, gateway, mailbox, merchant, "Neighbour")
    stranger = await signed_in_customer(http, gateway, mailbox, other_merchant, "Stranger")
    for each in (merchant, other_merchant):
        await set_preferences(http, gateway, each, {"projects_and_timesheets": True})
    project = await create_project(http, gateway, merchant, owner.customer_id)
    pid = project["project_id"]
    await log_time(http, gateway, merchant, pid, 45)
    sheet = await submit_timesheet(http, gateway, merchant, pid)
    tid = sheet["timesheet_id"]

    for who in (neighbour, stranger):
        for method, path, body in (
            ("GET", f"/projects/{pid}", None),
            ("GET", f"/timesheets/{tid}", None),
            ("POST", f"/timesheets/{tid}/approve", None),
            ("POST", f"/timesheets/{tid}/reject", {"reason": "not mine"}),
        ):
            answer = await http.request(
                method, f"{who.portal}{path}", json=body, headers=who.headers
            )
            assert answer.status_code == 404, f"{who.email} {method} {path}: {answer.text}"
        listed = await http.get(f"{who.portal}/timesheets", headers=who.headers)
        assert listed.json()["items"] == []
        projects = await http.get(f"{who.portal}/projects", headers=who.headers)
        assert projects.json()["items"] == []

    # Without a token, nothing at all; the owner still sees the timesheet waiting.
    anonymous = await http.get(f"{owner.portal}/timesheets/{tid}")
    assert anonymous.status_code == 401
    mine = await http.get(f"{owner.portal}/timesheets/{tid}", headers=owner.headers)
    assert mine.status_code == 200, mine.text
    assert mine.json()["status"] == "submitted"
