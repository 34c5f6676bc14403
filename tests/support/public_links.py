"""Driving secure public links over HTTP: the merchant shares, a visitor opens, verifies, pays
and answers; and reading the one-time code from the real mailbox."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from pymongo import AsyncMongoClient

from tests.support.waiting import eventually

CODE = re.compile(r"is:\s+(\d{6})")
GATEWAY_DB = "portal_gateway"


async def share(
    http: httpx.AsyncClient,
    gateway: str,
    merchant: dict[str, Any],
    kind: str,
    document_id: str,
    **extra: Any,
) -> httpx.Response:
    return await http.post(
        f"{gateway}/admin/v1/public-links",
        json={"document_kind": kind, "document_id": document_id, **extra},
        headers={"X-API-Key": merchant["api_key"]},
    )


async def shared(
    http: httpx.AsyncClient, gateway: str, merchant: dict[str, Any], kind: str, document_id: str
) -> dict[str, Any]:
    """A new link's answer (with its `url`)."""
    response = await share(http, gateway, merchant, kind, document_id)
    assert response.status_code == 201, response.text
    link: dict[str, Any] = response.json()
    return link


async def set_link_preferences(
    http: httpx.AsyncClient, gateway: str, merchant: dict[str, Any], **flags: Any
) -> None:
    response = await http.patch(
        f"{gateway}/admin/v1/portal/preferences",
        json={"secure_links": flags},
        headers={"X-API-Key": merchant["api_key"]},
    )
    assert response.status_code == 200, response.text


async def codes_sent_to(http: httpx.AsyncClient, mailbox: str, address: str) -> list[str]:
    """Every one-time code the mailbox holds for `address`, oldest first."""
    messages = (await http.get(f"{mailbox}/api/messages")).json()
    found = [CODE.search(m["text"]) for m in messages if address in m["to"]]
    return [match.group(1) for match in found if match]


async def next_code(http: httpx.AsyncClient, mailbox: str, address: str, seen: int) -> str:
    """The code that arrives after the `seen` codes already in the mailbox."""

    async def arrived() -> list[str] | None:
        codes = await codes_sent_to(http, mailbox, address)
        return codes if len(codes) > seen else None

    return (await eventually(arrived))[seen]


async def with_gateway_db(mongo_uri: str, change: Any) -> Any:
    """Run `change(db)` against the gateway's database (to plant an expired code or age a
    link without moving the stack's clock)."""
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongo_uri, tz_aware=True)
    try:
        return await change(client[GATEWAY_DB])
    finally:
        await client.close()


def long_ago() -> datetime:
    return datetime.now(UTC) - timedelta(days=2)
