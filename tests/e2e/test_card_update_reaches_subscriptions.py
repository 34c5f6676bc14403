"""A customer updating or removing the card their subscription autocharges with, through the
whole stack: the subscription the portal shows follows the card."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from deploy.local.stack import LocalStack
from tests.support.portal import register_merchant
from tests.support.settings import change_preferences, signed_in_customer
from tests.support.subscriptions import BASIC
from tests.support.waiting import eventually

pytestmark = pytest.mark.e2e


async def test_the_subscription_follows_an_updated_or_removed_card(
    stack: LocalStack, http: httpx.AsyncClient
) -> None:
    gateway = stack.urls["gateway"]
    merchant = await register_merchant(http, gateway, stack.operator_token, "Wren Water")
    admin = {"X-API-Key": merchant["api_key"]}
    plan = BASIC.model_dump(mode="json", exclude={"item_type"})
    plan["price"]["currency"] = merchant.get("currency", "USD")
    defined = await http.post(f"{gateway}/admin/v1/catalogue/plans", json=plan, headers=admin)
    assert defined.status_code == 201, defined.text
    ada = await signed_in_customer(http, stack, merchant, "Ada")
    portal = f"{gateway}/portal/{merchant['slug']}/api"

    added = await http.post(
        f"{portal}/payment-methods", json={"token": "tok_visa"}, headers=ada.headers
    )
    assert added.status_code == 201, added.text

    async def saved() -> list[dict[str, Any]] | None:
        listed = (await http.get(f"{portal}/payment-methods", headers=ada.headers)).json()
        return listed["items"] or None

    [card] = await eventually(saved, timeout=20)
    created = await http.post(
        f"{gateway}/admin/v1/subscriptions",
        json={
            "customer_id": ada.customer_id,
            "plan_code": "basic",
            "start_with_trial": True,
            "autocharge": True,
            "payment_method_id": card["payment_method_id"],
        },
        headers=admin,
    )
    assert created.status_code == 201, created.text
    sub_url = f"{portal}/subscriptions/{created.json()['subscription_id']}"

    async def shown(method: str | None) -> dict[str, Any] | None:
        sub: dict[str, Any] = (await http.get(sub_url, headers=ada.headers)).json()
        return sub if sub.get("payment_method_id") == method else None

    await eventually(lambda: shown(card["payment_method_id"]), timeout=20)

    replaced = await http.put(
        f"{portal}/payment-methods/{card['payment_method_id']}",
        json={"token": "tok_mastercard"},
        headers=ada.headers,
    )
    assert replaced.status_code == 200, replaced.text
    new_id = replaced.json()["new_payment_method_id"]
    updated = await eventually(lambda: shown(new_id), timeout=20)
    assert updated["autocharge"] is True

    # Removing the card leaves the subscription without one (autocharge as it was).
    allowed = await change_preferences(
        http, gateway, merchant["api_key"], payments={"remove_payment_method": True}
    )
    assert allowed.status_code == 200, allowed.text
    removed = await http.delete(f"{portal}/payment-methods/{new_id}", headers=ada.headers)
    assert removed.status_code == 200, removed.text
    without = await eventually(lambda: shown(None), timeout=20)
    assert without["autocharge"] is True
