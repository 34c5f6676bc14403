"""Driving projects and timesheets over HTTP, as a merchant does through the admin API."""

from __future__ import annotations

from typing import Any

import httpx

from tests.support.documents import admin_post


async def create_project(
    http: httpx.AsyncClient, gateway: str, merchant: dict[str, Any], customer_id: str, **extra: Any
) -> dict[str, Any]:
    body = {"customer_id": customer_id, "name": "Website redesign", **extra}
    response = await admin_post(http, gateway, merchant, "/projects", body)
    assert response.status_code == 201, response.text
    project: dict[str, Any] = response.json()
    return project


async def log_time(
    http: httpx.AsyncClient,
    gateway: str,
    merchant: dict[str, Any],
    project_id: str,
    minutes: int,
    billable: bool = True,
    description: str = "Design work",
) -> str:
    """Log time on the project; the new entry's id."""
    body = {"date": "2026-11-02", "minutes": minutes, "description": description}
    response = await admin_post(
        http, gateway, merchant, f"/projects/{project_id}/time", {**body, "billable": billable}
    )
    assert response.status_code == 201, response.text
    return str(response.json()["entry_id"])


async def submit_timesheet(
    http: httpx.AsyncClient,
    gateway: str,
    merchant: dict[str, Any],
    project_id: str,
    entry_ids: list[str] | None = None,
) -> dict[str, Any]:
    response = await admin_post(
        http,
        gateway,
        merchant,
        f"/projects/{project_id}/timesheets",
        {"entry_ids": entry_ids or []},
    )
    assert response.status_code == 201, response.text
    sheet: dict[str, Any] = response.json()
    return sheet
