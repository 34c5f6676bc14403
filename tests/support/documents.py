"""Driving quotes, credit notes, sales orders and statements over HTTP, as a merchant and a
signed-in customer do."""

from __future__ import annotations

import email
import email.policy
import uuid
from dataclasses import dataclass
from typing import Any

import httpx

from deploy.local.stack import LocalStack
from tests.support.portal import (
    create_customer,
    invitation_email,
    register_merchant,
    token_from,
)

PASSWORD = "correct-horse-42"
LINES = [
    {"description": "Annual support plan", "quantity": 2, "unit_amount_minor": 45_000},
    {"description": "Onboarding workshop", "quantity": 1, "unit_amount_minor": 12_050},
]


@dataclass(frozen=True)
class SignedIn:
    """A customer with a contact signed in to the merchant's portal."""

    customer_id: str
    email: str
    token: str
    portal: str  # the portal API root: {gateway}/portal/{slug}/api

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


async def signed_in_customer(
    http: httpx.AsyncClient, gateway: str, mailbox: str, merchant: dict[str, Any], first_name: str
) -> SignedIn:
    address = f"{first_name.lower()}.{uuid.uuid4().hex[:8]}@compilers.example"
    created = await create_customer(http, gateway, merchant["api_key"], address, first_name)
    assert created.status_code == 201, created.text
    _, token = token_from(await invitation_email(http, mailbox, address))
    portal = f"{gateway}/portal/{merchant['slug']}/api"
    accepted = await http.post(
        f"{portal}/invitations/accept", json={"token": token, "password": PASSWORD}
    )
    assert accepted.status_code == 200, accepted.text
    session = await http.post(f"{portal}/sessions", json={"email": address, "password": PASSWORD})
    assert session.status_code == 201, session.text
    return SignedIn(created.json()["customer_id"], address, session.json()["access_token"], portal)


@dataclass(frozen=True)
class Shop:
    """A fresh merchant on the running stack, and a way to sign its customers in."""

    http: httpx.AsyncClient
    gateway: str
    mailbox: str
    merchant: dict[str, Any]

    async def customer(self, first_name: str) -> SignedIn:
        return await signed_in_customer(
            self.http, self.gateway, self.mailbox, self.merchant, first_name
        )


async def open_shop(
    http: httpx.AsyncClient, stack: LocalStack, name: str = "Orbit Software"
) -> Shop:
    gateway, mailbox = stack.urls["gateway"], stack.urls["mailbox"]
    merchant = await register_merchant(http, gateway, stack.operator_token, name)
    return Shop(http, gateway, mailbox, merchant)


async def admin_post(
    http: httpx.AsyncClient, gateway: str, merchant: dict[str, Any], path: str, body: dict[str, Any]
) -> httpx.Response:
    return await http.post(
        f"{gateway}/admin/v1{path}", json=body, headers={"X-API-Key": merchant["api_key"]}
    )


async def create_quote(
    http: httpx.AsyncClient, gateway: str, merchant: dict[str, Any], customer_id: str, **extra: Any
) -> dict[str, Any]:
    response = await admin_post(
        http, gateway, merchant, "/quotes", {"customer_id": customer_id, "lines": LINES, **extra}
    )
    assert response.status_code == 201, response.text
    quote: dict[str, Any] = response.json()
    return quote


async def set_preferences(
    http: httpx.AsyncClient, gateway: str, merchant: dict[str, Any], portal: dict[str, Any]
) -> None:
    response = await http.patch(
        f"{gateway}/admin/v1/portal/preferences",
        json={"portal": portal},
        headers={"X-API-Key": merchant["api_key"]},
    )
    assert response.status_code == 200, response.text


async def mail_to(http: httpx.AsyncClient, mailbox: str, address: str) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = (await http.get(f"{mailbox}/api/messages")).json()
    return [m for m in messages if address in m["to"]]


async def attachment_of(
    http: httpx.AsyncClient, mailbox: str, message: dict[str, Any]
) -> tuple[str, bytes]:
    """(filename, bytes) of the message's first attachment, read from the raw email."""
    raw = (await http.get(f"{mailbox}/api/messages/{message['id']}/raw")).content
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(parsed, email.message.EmailMessage)
    part = next(parsed.iter_attachments())
    content = part.get_content()
    assert isinstance(content, bytes)
    return str(part.get_filename()), content
