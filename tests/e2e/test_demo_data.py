"""The demo data `./deploy/portal` loads: the demo contact signs in and finds open invoices
and a quote waiting on the dashboard."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from deploy.local import demo
from deploy.local.stack import LocalStack
from tests.support.waiting import eventually

pytestmark = pytest.mark.e2e


async def test_the_demo_contact_finds_invoices_and_a_quote(
    stack: LocalStack, http: httpx.AsyncClient
) -> None:
    gateway = stack.urls["gateway"]
    seeded = await asyncio.to_thread(
        demo.seed, gateway, stack.operator_token, stack.urls["mailbox"]
    )
    portal = f"{gateway}/portal/{demo.DEMO_SLUG}/api"
    session = await http.post(
        f"{portal}/sessions", json={"email": seeded["email"], "password": seeded["password"]}
    )
    assert session.status_code == 201, session.text
    bearer = {"Authorization": f"Bearer {session.json()['access_token']}"}

    async def filled() -> dict[str, Any] | None:
        board: dict[str, Any] = (await http.get(f"{portal}/home", headers=bearer)).json()
        ready = board.get("open_invoices", {}).get("count") == 2 and board["quotes_awaiting"] == 1
        return board if ready else None

    board = await eventually(filled, timeout=60)
    assert board["merchant"]["name"] == "Demo Subscriptions Ltd"
    assert board["contact"]["email"] == demo.DEMO_EMAIL
