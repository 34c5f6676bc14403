"""Driving the portal over HTTP the way a merchant and a customer do."""

from __future__ import annotations

import re
import uuid
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx

from tests.support.waiting import eventually

INVITATION_LINK = re.compile(r"https?://\S+/accept-invitation\?token=\S+")


async def register_merchant(
    http: httpx.AsyncClient, gateway: str, operator_token: str, name: str = "Acme Billing"
) -> dict[str, Any]:
    slug = f"m-{uuid.uuid4().hex[:10]}"
    response = await http.post(
        f"{gateway}/operator/v1/merchants",
        json={"name": name, "portal_slug": slug, "contact_email": "billing@acme.example"},
        headers={"X-Operator-Token": operator_token},
    )
    assert response.status_code == 201, response.text
    return {**response.json(), "slug": slug, "name": name}


async def create_customer(
    http: httpx.AsyncClient,
    gateway: str,
    api_key: str,
    email: str | None,
    first_name: str = "Grace",
    last_name: str = "Hopper",
    enable_portal: bool = True,
) -> httpx.Response:
    created = await http.post(
        f"{gateway}/admin/v1/customers",
        json={
            "display_name": f"{first_name} {last_name}",
            "company_name": "Compilers Inc",
            "primary_contact": {"first_name": first_name, "last_name": last_name, "email": email},
            "enable_portal": enable_portal,
        },
        headers={"X-API-Key": api_key},
    )
    return await settled(http, gateway, api_key, created)


async def settled(
    http: httpx.AsyncClient, gateway: str, api_key: str, answer: httpx.Response
) -> httpx.Response:
    """The final answer to an admin command: a 202 (the outcome took longer than the gateway
    waits, as on a loaded machine) is followed to its status URL until the outcome is in."""

    async def outcome() -> httpx.Response | None:
        status = await http.get(f"{gateway}{answer.json()['status_url']}", headers=headers)
        return None if status.status_code == 202 else status

    if answer.status_code != 202:
        return answer
    headers = {"X-API-Key": api_key}
    return await eventually(outcome, timeout=60, interval=0.2)


async def invitation_email(
    http: httpx.AsyncClient, mailbox: str, email: str, timeout: float = 30.0
) -> dict[str, Any]:
    async def probe() -> dict[str, Any] | None:
        messages = (await http.get(f"{mailbox}/api/messages")).json()
        return next((m for m in messages if email in m["to"]), None)

    return await eventually(probe, timeout=timeout, interval=0.1)


def token_from(message: dict[str, Any]) -> tuple[str, str]:
    """(link, token) from an invitation email's text."""
    match = INVITATION_LINK.search(message["text"])
    assert match, f"no invitation link in: {message['text']!r}"
    link = match.group(0)
    return link, parse_qs(urlparse(link).query)["token"][0]
