"""A merchant and signed-in portal customers, made through the public APIs, for the area
benchmarks (each area measures its own actions against them)."""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx

from deploy.local.stack import LocalStack

INVITATION_LINK = re.compile(r"https?://\S+/accept-invitation\?token=\S+")
PASSWORD = "bench-portal-password-2026!"
INVITATION_TIMEOUT_SECONDS = 90.0


@dataclass
class BenchMerchant:
    slug: str
    api_key: str
    admin: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.admin = {"X-API-Key": self.api_key}


@dataclass
class BenchCustomer:
    customer_id: str
    email: str
    access_token: str = ""

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access_token}"}


def answer(response: httpx.Response, *statuses: int) -> dict[str, Any]:
    if response.status_code not in statuses:
        raise RuntimeError(
            f"{response.request.method} {response.request.url.path} -> "
            f"{response.status_code}: {response.text[:300]}"
        )
    body: dict[str, Any] = response.json() if response.content else {}
    return body


async def settled(
    stack: LocalStack, http: httpx.AsyncClient, headers: dict[str, str], response: httpx.Response
) -> httpx.Response:
    """Follow an admin command's 202 (the outcome took longer than the gateway waits, as on a
    loaded machine) to its status URL until the outcome is in."""
    deadline = time.monotonic() + INVITATION_TIMEOUT_SECONDS
    while response.status_code == 202 and time.monotonic() < deadline:
        await asyncio.sleep(0.2)
        response = await http.get(
            f"{stack.urls.gateway}{response.json()['status_url']}", headers=headers
        )
    return response


async def command_result(
    stack: LocalStack,
    http: httpx.AsyncClient,
    url: str,
    body: dict[str, Any],
    headers: dict[str, str],
    *statuses: int,
) -> dict[str, Any]:
    """POST an admin command that takes an `Idempotency-Key` and answers with its result.
    A 202 is followed to its outcome (`settled`); then the same request with the same key
    answers with the first command's result instead of sending it again."""
    keyed = {**headers, "Idempotency-Key": uuid.uuid4().hex}
    response = await http.post(url, json=body, headers=keyed)
    if response.status_code == 202:
        # The status URL answers 2xx once the outcome is in (4xx if it was rejected).
        answer(await settled(stack, http, headers, response), 200, 201)
        response = await http.post(url, json=body, headers=keyed)
    return answer(response, *statuses)


async def register_merchant(stack: LocalStack, http: httpx.AsyncClient) -> BenchMerchant:
    slug = f"bench-{uuid.uuid4().hex[:10]}"
    created = answer(
        await http.post(
            f"{stack.urls.gateway}/operator/v1/merchants",
            json={
                "name": f"Bench {slug}",
                "portal_slug": slug,
                "contact_email": "billing@bench-merchant.example",
                "currency": "USD",
            },
            headers={"X-Operator-Token": stack.operator_token},
        ),
        201,
    )
    return BenchMerchant(slug=slug, api_key=str(created["api_key"]))


async def invitation_link(
    stack: LocalStack, http: httpx.AsyncClient, email: str, timeout: float
) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        messages = (await http.get(f"{stack.urls.mailbox}/api/messages")).json()
        for message in messages:
            if email in [address.lower() for address in message.get("to", [])]:
                found = INVITATION_LINK.search(message.get("text", ""))
                if found:
                    return found.group(0)
        await asyncio.sleep(0.1)
    raise TimeoutError(f"no invitation email for {email}")


async def signed_in_customer(
    stack: LocalStack, http: httpx.AsyncClient, merchant: BenchMerchant
) -> BenchCustomer:
    """Create a customer with portal access, accept the invitation, sign in."""
    email = f"bench-{uuid.uuid4().hex[:12]}@bench-customer.example"
    created = answer(
        await settled(
            stack,
            http,
            merchant.admin,
            await http.post(
                f"{stack.urls.gateway}/admin/v1/customers",
                json={
                    "display_name": "Bench Customer",
                    "primary_contact": {
                        "first_name": "Bench",
                        "last_name": "Customer",
                        "email": email,
                    },
                    "enable_portal": True,
                },
                headers=merchant.admin,
            ),
        ),
        201,
    )
    link = await invitation_link(stack, http, email, INVITATION_TIMEOUT_SECONDS)
    token = parse_qs(urlparse(link).query)["token"][0]
    portal = f"{stack.urls.gateway}/portal/{merchant.slug}/api"
    answer(
        await http.post(
            f"{portal}/invitations/accept", json={"token": token, "password": PASSWORD}
        ),
        200,
    )
    session = answer(
        await http.post(f"{portal}/sessions", json={"email": email, "password": PASSWORD}), 201
    )
    return BenchCustomer(
        customer_id=str(created["customer_id"]),
        email=email,
        access_token=str(session["access_token"]),
    )
