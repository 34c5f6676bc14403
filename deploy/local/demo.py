"""Seed the running local portal with a demo merchant and a demo customer who has accepted
the invitation, through the same HTTP API and emails a real merchant and customer use."""

from __future__ import annotations

import argparse
import json
import re
import time
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import parse_qs, urlparse

DEMO_SLUG = "demo"
DEMO_EMAIL = "ada@demo-customer.example"
DEMO_PASSWORD = "demo-portal-2026!"


def call(
    method: str, url: str, body: dict[str, Any] | None = None, headers: dict[str, str] | None = None
) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(
        url,
        method=method,
        data=json.dumps(body).encode() if body is not None else None,
        headers={"Content-Type": "application/json", **(headers or {})},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


def wait_for_invitation(mailbox: str, email: str, timeout: float = 60.0) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        messages: Any
        _, messages = call("GET", f"{mailbox}/api/messages")
        for message in reversed(messages if isinstance(messages, list) else []):
            if email in message["to"]:
                match = re.search(r"https?://\S+accept-invitation\?token=\S+", message["text"])
                if match:
                    return match.group(0)
        time.sleep(0.2)
    raise TimeoutError(f"no invitation email for {email} within {timeout}s")


def seed(gateway: str, operator_token: str, mailbox: str) -> dict[str, str]:
    status, merchant = call(
        "POST",
        f"{gateway}/operator/v1/merchants",
        {
            "name": "Demo Subscriptions Ltd",
            "portal_slug": DEMO_SLUG,
            "contact_email": "billing@demo-merchant.example",
            "currency": "USD",
        },
        {"X-Operator-Token": operator_token},
    )
    if status != 201:
        raise RuntimeError(f"registering the demo merchant failed: {status} {merchant}")
    status, customer = call(
        "POST",
        f"{gateway}/admin/v1/customers",
        {
            "display_name": "Ada Lovelace",
            "company_name": "Analytical Engines Co",
            "primary_contact": {"first_name": "Ada", "last_name": "Lovelace", "email": DEMO_EMAIL},
            "enable_portal": True,
        },
        {"X-API-Key": merchant["api_key"]},
    )
    if status != 201:
        raise RuntimeError(f"creating the demo customer failed: {status} {customer}")
    link = wait_for_invitation(mailbox, DEMO_EMAIL)
    token = parse_qs(urlparse(link).query)["token"][0]
    status, accepted = call(
        "POST",
        f"{gateway}/portal/{DEMO_SLUG}/api/invitations/accept",
        {"token": token, "password": DEMO_PASSWORD},
    )
    if status != 200:
        raise RuntimeError(f"accepting the demo invitation failed: {status} {accepted}")
    seed_documents(gateway, merchant["api_key"], customer["customer_id"])
    return {
        "merchant_api_key": merchant["api_key"],
        "portal_url": merchant["portal_url"],
        "customer_id": customer["customer_id"],
        "email": DEMO_EMAIL,
        "password": DEMO_PASSWORD,
    }


def seed_documents(gateway: str, api_key: str, customer_id: str) -> None:
    """Something to look at in the demo portal: two open invoices and a quote to answer."""
    admin = {"X-API-Key": api_key}
    steps: list[tuple[str, str, dict[str, Any], dict[str, str]]] = [
        (
            "PUT",
            "/admin/v1/invoicing/setup",
            {"default_tax": {"name": "VAT", "rate_basis_points": 2000}},
            {},
        ),
        (
            "POST",
            f"/admin/v1/customers/{customer_id}/invoices",
            {
                "lines": [
                    {"description": "Pro plan, monthly", "quantity": 1, "unit_amount_minor": 4_900}
                ]
            },
            {"Idempotency-Key": f"demo-invoice-1-{customer_id}"},
        ),
        (
            "POST",
            f"/admin/v1/customers/{customer_id}/invoices",
            {
                "lines": [
                    {
                        "description": "Onboarding workshop",
                        "quantity": 1,
                        "unit_amount_minor": 25_000,
                    }
                ]
            },
            {"Idempotency-Key": f"demo-invoice-2-{customer_id}"},
        ),
        (
            "POST",
            "/admin/v1/quotes",
            {
                "customer_id": customer_id,
                "lines": [
                    {
                        "description": "Annual plan upgrade",
                        "quantity": 1,
                        "unit_amount_minor": 49_000,
                    }
                ],
            },
            {},
        ),
    ]
    for method, path, body, headers in steps:
        status, answer = call(method, f"{gateway}{path}", body, {**admin, **headers})
        if status not in (200, 201, 202):
            raise RuntimeError(f"demo data: {method} {path} failed: {status} {answer}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--gateway", required=True)
    parser.add_argument("--operator-token", required=True)
    parser.add_argument("--mailbox", required=True)
    args = parser.parse_args()
    demo = seed(args.gateway.rstrip("/"), args.operator_token, args.mailbox.rstrip("/"))
    gateway = args.gateway.rstrip("/")
    print("Demo merchant 'Demo Subscriptions Ltd'")
    print(f"  admin API key:   {demo['merchant_api_key']}")
    print(f"  portal:          {demo['portal_url']}")
    print(f"Demo customer contact sign-in: {demo['email']} / {demo['password']}")
    print(
        f"  sign in:  curl -X POST {gateway}/portal/{DEMO_SLUG}/api/sessions "
        f"-H 'Content-Type: application/json' "
        f'-d \'{{"email": "{demo["email"]}", "password": "{demo["password"]}"}}\''
    )
    print(
        f"  home:     curl {gateway}/portal/{DEMO_SLUG}/api/home "
        "-H 'Authorization: Bearer <access_token>'"
    )


if __name__ == "__main__":
    main()
