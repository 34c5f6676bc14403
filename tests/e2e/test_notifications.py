"""Notifications through the whole local stack: a customer reviews the merchant and writes to
it from the portal; the merchant sees the review, the activity report, the feed, gets the
message by email and the notification at its signed webhook; a review request reaches the
customer by email."""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx
import pytest

from deploy.local.stack import LocalStack
from notifications.domain.webhooks import verify_signature
from tests.support.portal import register_merchant
from tests.support.settings import change_preferences, signed_in_customer
from tests.support.waiting import eventually
from tests.support.webhooks import WebhookReceiver

pytestmark = pytest.mark.e2e


async def test_a_review_reaches_the_merchant_everywhere_it_chose(
    stack: LocalStack, http: httpx.AsyncClient
) -> None:
    gateway, mailbox = stack.urls["gateway"], stack.urls["mailbox"]
    merchant = await register_merchant(http, gateway, stack.operator_token, "Kettle & Co")
    admin = {"X-API-Key": merchant["api_key"]}
    enabled = await change_preferences(http, gateway, merchant["api_key"], portal={"reviews": True})
    assert enabled.status_code == 200, enabled.text
    async with WebhookReceiver() as receiver:
        endpoint = await http.post(
            f"{gateway}/admin/v1/webhooks/endpoints", json={"url": receiver.url}, headers=admin
        )
        assert endpoint.status_code == 201, endpoint.text
        secret = endpoint.json()["secret"]
        ada = await signed_in_customer(http, stack, merchant, "Ada")
        portal = f"{gateway}/portal/{merchant['slug']}/api"

        review = await http.post(
            f"{portal}/reviews",
            json={"rating": 5, "text": "Always on time."},
            headers={**ada.headers, "User-Agent": "e2e-browser/1.0"},
        )
        assert review.status_code in (201, 202), review.text
        note = uuid.uuid4().hex[:8]
        message = await http.post(
            f"{portal}/messages",
            json={"subject": f"Question {note}", "message": "Can I pay by bank transfer?"},
            headers=ada.headers,
        )
        assert message.status_code == 202, message.text

        async def reviews() -> list[dict[str, Any]] | None:
            found = (await http.get(f"{gateway}/admin/v1/reviews", headers=admin)).json()
            return found["reviews"] or None

        [stored] = await eventually(reviews)
        assert (stored["customer_id"], stored["rating"]) == (ada.customer_id, 5)

        async def feed() -> list[dict[str, Any]] | None:
            found = (await http.get(f"{gateway}/admin/v1/notifications", headers=admin)).json()
            return [n for n in found["notifications"] if n["kind"] == "review.submitted"] or None

        [notification] = await eventually(feed)
        assert notification["customer_id"] == ada.customer_id

        [hook] = await eventually(lambda: _value(receiver.received))
        assert verify_signature(secret, hook.body, hook.headers["portal-signature"])
        body = json.loads(hook.body)
        assert body["type"] == "MerchantNotified"
        assert body["data"]["kind"] == "review.submitted"
        assert hook.event_id == body["event_id"]

    async def report() -> dict[str, Any] | None:
        found: dict[str, Any] = (
            await http.get(
                f"{gateway}/admin/v1/portal-activity",
                params={"customer_id": ada.customer_id},
                headers=admin,
            )
        ).json()
        modules = {m["module"] for m in found["by_module"]}
        return found if {"reviews", "messages", "sign_in"} <= modules else None

    activity = await eventually(report)
    reviewed = next(r for r in activity["recent"] if r["module"] == "reviews")
    assert reviewed["contact_id"] == ada.contact_id
    assert reviewed["user_agent"] == "e2e-browser/1.0"
    assert reviewed["ip"]

    async def merchant_email() -> dict[str, Any] | None:
        messages = (await http.get(f"{mailbox}/api/messages")).json()
        return next((m for m in messages if note in m["subject"]), None)

    emailed = await eventually(merchant_email)
    assert emailed["to"] == ["billing@acme.example"]
    assert "bank transfer" in emailed["text"]

    # Another merchant sees none of it.
    other = await register_merchant(http, gateway, stack.operator_token, "Other Co")
    theirs = await http.get(f"{gateway}/admin/v1/reviews", headers={"X-API-Key": other["api_key"]})
    assert (theirs.json()["reviews"], theirs.json()["total"]) == ([], 0)


async def test_a_review_request_reaches_the_customers_contact(
    stack: LocalStack, http: httpx.AsyncClient
) -> None:
    gateway, mailbox = stack.urls["gateway"], stack.urls["mailbox"]
    merchant = await register_merchant(http, gateway, stack.operator_token, "Teapot Ltd")
    enabled = await change_preferences(http, gateway, merchant["api_key"], portal={"reviews": True})
    assert enabled.status_code == 200, enabled.text
    grace = await signed_in_customer(http, stack, merchant, "Grace")

    asked = await http.post(
        f"{gateway}/admin/v1/customers/{grace.customer_id}/review-requests",
        headers={"X-API-Key": merchant["api_key"]},
    )
    assert asked.status_code == 202, asked.text

    async def request_email() -> dict[str, Any] | None:
        messages = (await http.get(f"{mailbox}/api/messages")).json()
        return next(
            (
                m
                for m in messages
                if grace.email in m["to"]
                and "Teapot Ltd" in m["subject"]
                and "experience" in m["subject"]
            ),
            None,
        )

    email = await eventually(request_email)
    assert f"/portal/{merchant['slug']}/" in email["text"]


async def _value(value: Any) -> Any:
    return value
