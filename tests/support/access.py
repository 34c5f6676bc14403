"""Driving portal access over HTTP: the merchant's access API, the mailbox, signing in."""

from __future__ import annotations

import re
import uuid
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx

from tests.support.waiting import eventually

PASSWORD = "correct-horse-42"
SIGN_UP_LINK = re.compile(r"https?://\S+/verify-sign-up\?token=\S+")
PORTAL_LINK = re.compile(r"https?://\S+/portal/\S+")


def fresh_email(name: str = "ada") -> str:
    return f"{name}.{uuid.uuid4().hex[:10]}@example.com"


def admin(merchant: dict[str, Any]) -> dict[str, str]:
    return {"X-API-Key": merchant["api_key"]}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def emails_to(
    http: httpx.AsyncClient, mailbox: str, email: str, count: int = 1, timeout: float = 30.0
) -> list[dict[str, Any]]:
    """The messages sent to `email`, oldest first, once there are at least `count`."""

    async def probe() -> list[dict[str, Any]] | None:
        messages = (await http.get(f"{mailbox}/api/messages")).json()
        mine = [m for m in messages if email in m["to"]]
        return mine if len(mine) >= count else None

    return await eventually(probe, timeout=timeout, interval=0.1)


async def no_email_to(http: httpx.AsyncClient, mailbox: str, email: str) -> bool:
    messages = (await http.get(f"{mailbox}/api/messages")).json()
    return not any(email in m["to"] for m in messages)


def portal_link(message: dict[str, Any]) -> str:
    """The first portal address in an email's text."""
    match = PORTAL_LINK.search(message["text"])
    assert match, f"no portal link in: {message['text']!r}"
    return match.group(0)


def sign_up_token(message: dict[str, Any]) -> tuple[str, str]:
    match = SIGN_UP_LINK.search(message["text"])
    assert match, f"no sign-up link in: {message['text']!r}"
    link = match.group(0)
    return link, parse_qs(urlparse(link).query)["token"][0]


async def access_of(
    http: httpx.AsyncClient, gateway: str, merchant: dict[str, Any], customer_id: str
) -> dict[str, dict[str, Any]]:
    """contact id -> its portal access, as the merchant sees it."""
    response = await http.get(
        f"{gateway}/admin/v1/customers/{customer_id}/portal-access", headers=admin(merchant)
    )
    assert response.status_code == 200, response.text
    return {c["contact_id"]: c["portal_access"] for c in response.json()["contacts"]}


async def accept(
    http: httpx.AsyncClient, gateway: str, slug: str, token: str, password: str = PASSWORD
) -> httpx.Response:
    return await http.post(
        f"{gateway}/portal/{slug}/api/invitations/accept",
        json={"token": token, "password": password},
    )


async def sign_in(
    http: httpx.AsyncClient, gateway: str, slug: str, email: str, password: str = PASSWORD
) -> httpx.Response:
    return await http.post(
        f"{gateway}/portal/{slug}/api/sessions", json={"email": email, "password": password}
    )
