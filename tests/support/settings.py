"""Merchant portal settings and signed-in customers, for the settings and account tests."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import httpx

from deploy.local.stack import LocalStack
from tests.support.portal import create_customer, invitation_email, token_from

PASSWORD = "correct-horse-42"


@dataclass
class SignedInCustomer:
    customer_id: str
    contact_id: str
    email: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


async def sign_in(http: httpx.AsyncClient, gateway: str, slug: str, email: str) -> httpx.Response:
    return await http.post(
        f"{gateway}/portal/{slug}/api/sessions", json={"email": email, "password": PASSWORD}
    )


async def signed_in_customer(
    http: httpx.AsyncClient, stack: LocalStack, merchant: dict[str, Any], first_name: str = "Ada"
) -> SignedInCustomer:
    """A new customer of `merchant` whose primary contact accepted the invitation and signed
    in to the merchant's portal."""
    gateway, mailbox = stack.urls["gateway"], stack.urls["mailbox"]
    email = f"{first_name.lower()}.{uuid.uuid4().hex[:8]}@customers.example"
    created = await create_customer(
        http, gateway, merchant["api_key"], email, first_name=first_name, last_name="Lovelace"
    )
    assert created.status_code == 201, created.text
    customer = created.json()
    _, token = token_from(await invitation_email(http, mailbox, email))
    accepted = await http.post(
        f"{gateway}/portal/{merchant['slug']}/api/invitations/accept",
        json={"token": token, "password": PASSWORD},
    )
    assert accepted.status_code == 200, accepted.text
    session = await sign_in(http, gateway, merchant["slug"], email)
    assert session.status_code == 201, session.text
    return SignedInCustomer(
        customer_id=customer["customer_id"],
        contact_id=customer["contacts"][0]["contact_id"],
        email=email,
        token=session.json()["access_token"],
    )


async def change_settings(
    http: httpx.AsyncClient, gateway: str, api_key: str, **settings: Any
) -> httpx.Response:
    return await http.patch(
        f"{gateway}/admin/v1/portal/settings", json=settings, headers={"X-API-Key": api_key}
    )


async def change_preferences(
    http: httpx.AsyncClient, gateway: str, api_key: str, **sections: dict[str, Any]
) -> httpx.Response:
    return await http.patch(
        f"{gateway}/admin/v1/portal/preferences", json=sections, headers={"X-API-Key": api_key}
    )


async def field_access(
    http: httpx.AsyncClient, gateway: str, api_key: str, disabled: bool = False, **levels: str
) -> None:
    response = await change_settings(
        http, gateway, api_key, field_access={"fields": levels, "disabled": disabled}
    )
    assert response.status_code == 200, response.text
