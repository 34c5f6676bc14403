"""Subscriptions through the gateway, with every service its own process: the merchant sets up
a catalogue and subscribes customers; customers act on their own subscriptions within the
merchant's preferences (403), the subscription's status (409) and their own account (404), and
a change costs exactly what its preview said."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from deploy.local.stack import LocalStack
from tests.support.portal import register_merchant
from tests.support.settings import SignedInCustomer, change_preferences, signed_in_customer
from tests.support.subscriptions import BASIC, PRO, TOWELS

pytestmark = pytest.mark.e2e


class Portal:
    """One merchant with a catalogue, and its gateway URLs."""

    def __init__(self, http: httpx.AsyncClient, stack: LocalStack, merchant: dict[str, Any]):
        self.http = http
        self.stack = stack
        self.gateway = stack.urls["gateway"]
        self.merchant = merchant
        self.admin = {"X-API-Key": merchant["api_key"]}

    def url(self, path: str) -> str:
        return f"{self.gateway}/portal/{self.merchant['slug']}/api/subscriptions{path}"

    async def prefer(self, **sections: dict[str, Any]) -> None:
        response = await change_preferences(
            self.http, self.gateway, self.merchant["api_key"], **sections
        )
        assert response.status_code == 200, response.text

    async def subscribe(self, customer: SignedInCustomer, **terms: Any) -> dict[str, Any]:
        response = await self.http.post(
            f"{self.gateway}/admin/v1/subscriptions",
            json={"customer_id": customer.customer_id, "plan_code": "basic", **terms},
            headers=self.admin,
        )
        assert response.status_code == 201, response.text
        created: dict[str, Any] = response.json()
        return created


async def portal_with_catalogue(http: httpx.AsyncClient, stack: LocalStack) -> Portal:
    merchant = await register_merchant(http, stack.urls["gateway"], stack.operator_token)
    portal = Portal(http, stack, merchant)
    for kind, item in (("plans", BASIC), ("plans", PRO), ("addons", TOWELS)):
        body = item.model_dump(mode="json", exclude={"item_type"})
        body["price"]["currency"] = merchant.get("currency", "USD")
        response = await http.post(
            f"{portal.gateway}/admin/v1/catalogue/{kind}", json=body, headers=portal.admin
        )
        assert response.status_code == 201, response.text
    return portal


async def test_a_plan_change_costs_what_its_preview_said_and_needs_the_preference(
    stack: LocalStack, http: httpx.AsyncClient
) -> None:
    portal = await portal_with_catalogue(http, stack)
    ada = await signed_in_customer(http, stack, portal.merchant, "Ada")
    sub = await portal.subscribe(ada, start_with_trial=False)
    assert sub["status"] == "live"
    assert sub["charge"]["reason"] == "signup"
    sub_url = portal.url(f"/{sub['subscription_id']}")

    listed = await http.get(portal.url("/"), headers=ada.headers)
    assert [s["subscription_id"] for s in listed.json()["subscriptions"]] == [
        sub["subscription_id"]
    ]
    details = await http.get(sub_url, headers=ada.headers)
    assert [p["code"] for p in details.json()["choices"]["plans"]] == ["pro"]

    upgrade = {"when": "immediately", "plan_code": "pro"}
    forbidden = await http.post(f"{sub_url}/changes/preview", json=upgrade, headers=ada.headers)
    assert forbidden.status_code == 403, forbidden.text

    await portal.prefer(advanced={"change_plan": True})
    preview = await http.post(f"{sub_url}/changes/preview", json=upgrade, headers=ada.headers)
    assert preview.status_code == 200, preview.text
    quoted = preview.json()["charge"]
    assert quoted["reason"] == "plan_change"
    assert quoted["total_minor"] > 0
    unchanged = await http.get(sub_url, headers=ada.headers)
    assert unchanged.json()["plan_code"] == "basic"  # a preview changes nothing

    applied = await http.post(
        f"{sub_url}/changes",
        json={**upgrade, "confirm_total_minor": quoted["total_minor"]},
        headers=ada.headers,
    )
    assert applied.status_code == 200, applied.text
    assert applied.json()["charge"]["total_minor"] == quoted["total_minor"]

    def amounts(charge: dict[str, Any]) -> list[tuple[str, int]]:
        return [(line["description"], line["amount_minor"]) for line in charge["lines"]]

    assert amounts(applied.json()["charge"]) == amounts(quoted)
    assert applied.json()["subscription"]["plan_code"] == "pro"

    # Switching to a plan the merchant did not list for the current one is refused.
    sideways = await http.post(
        f"{sub_url}/changes",
        json={"when": "immediately", "plan_code": "basic"},
        headers=ada.headers,
    )
    assert sideways.status_code == 403, sideways.text


async def test_cancellation_needs_the_preference_and_the_right_status(
    stack: LocalStack, http: httpx.AsyncClient
) -> None:
    portal = await portal_with_catalogue(http, stack)
    ada = await signed_in_customer(http, stack, portal.merchant, "Ada")
    sub = await portal.subscribe(ada, start_with_trial=False)
    sub_url = portal.url(f"/{sub['subscription_id']}")

    at_term_end = {"when": "end_of_term"}
    refused = await http.post(f"{sub_url}/cancel", json=at_term_end, headers=ada.headers)
    assert refused.status_code == 403, refused.text

    await portal.prefer(
        cancellations={
            "cancel": True,
            "cancel_when": "end_of_term",
            "remove_scheduled_cancellation": True,
        }
    )
    now = await http.post(f"{sub_url}/cancel", json={"when": "immediately"}, headers=ada.headers)
    assert now.status_code == 403, now.text  # only at the term end in this portal

    nothing_scheduled = await http.delete(f"{sub_url}/scheduled-cancellation", headers=ada.headers)
    assert nothing_scheduled.status_code == 409, nothing_scheduled.text
    assert "no cancellation is scheduled" in nothing_scheduled.json()["detail"]

    cancelled = await http.post(f"{sub_url}/cancel", json=at_term_end, headers=ada.headers)
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["subscription"]["status"] == "non_renewing"
    again = await http.post(f"{sub_url}/cancel", json=at_term_end, headers=ada.headers)
    assert again.status_code == 409, again.text

    kept = await http.delete(f"{sub_url}/scheduled-cancellation", headers=ada.headers)
    assert kept.status_code == 200, kept.text
    assert kept.json()["subscription"]["status"] == "live"
    listed = await http.get(portal.url("/?status=live"), headers=ada.headers)
    assert len(listed.json()["subscriptions"]) == 1


async def test_activating_a_trial_charges_what_the_preview_showed(
    stack: LocalStack, http: httpx.AsyncClient
) -> None:
    portal = await portal_with_catalogue(http, stack)
    ada = await signed_in_customer(http, stack, portal.merchant, "Ada")
    sub = await portal.subscribe(ada, start_with_trial=True)
    assert sub["status"] == "trial"
    sub_url = portal.url(f"/{sub['subscription_id']}")

    assert (await http.post(f"{sub_url}/activate", headers=ada.headers)).status_code == 403
    await portal.prefer(
        trials={"activate_trials": True},
        pause_and_resume={"pause": True, "pause_when": "immediately"},
    )
    preview = await http.get(f"{sub_url}/activate/preview", headers=ada.headers)
    assert preview.status_code == 200, preview.text
    activated = await http.post(f"{sub_url}/activate", headers=ada.headers)
    assert activated.status_code == 200, activated.text
    assert activated.json()["subscription"]["status"] == "live"
    assert activated.json()["charge"]["total_minor"] == preview.json()["charge"]["total_minor"]
    again = await http.post(f"{sub_url}/activate", headers=ada.headers)
    assert again.status_code == 409, again.text

    paused = await http.post(f"{sub_url}/pause", json={"when": "immediately"}, headers=ada.headers)
    assert paused.status_code == 200, paused.text
    assert paused.json()["subscription"]["status"] == "paused"
    on_date = await http.post(
        f"{sub_url}/pause",
        json={"when": "on_date", "pause_on": "2099-01-01T00:00:00Z"},
        headers=ada.headers,
    )
    assert on_date.status_code == 403, on_date.text
    resume = await http.post(f"{sub_url}/resume", json={"when": "immediately"}, headers=ada.headers)
    assert resume.status_code == 403, resume.text  # resuming is not enabled


async def test_a_customer_never_reaches_another_customers_subscription(
    stack: LocalStack, http: httpx.AsyncClient
) -> None:
    portal = await portal_with_catalogue(http, stack)
    ada = await signed_in_customer(http, stack, portal.merchant, "Ada")
    bob = await signed_in_customer(http, stack, portal.merchant, "Bob")
    adas = await portal.subscribe(ada, start_with_trial=False)
    await portal.prefer(cancellations={"cancel": True, "cancel_when": "both"})
    adas_url = portal.url(f"/{adas['subscription_id']}")

    assert (await http.get(adas_url, headers=bob.headers)).status_code == 404
    cancel = await http.post(
        f"{adas_url}/cancel", json={"when": "immediately"}, headers=bob.headers
    )
    assert cancel.status_code == 404, cancel.text
    assert (await http.get(portal.url("/"), headers=bob.headers)).json()["subscriptions"] == []
    assert (await http.get(adas_url)).status_code == 401

    # Another merchant's customer with a valid token of their own portal gets nothing either.
    other = await portal_with_catalogue(http, stack)
    eve = await signed_in_customer(http, stack, other.merchant, "Eve")
    assert (await http.get(adas_url, headers=eve.headers)).status_code == 401
    assert (
        await http.get(other.url(f"/{adas['subscription_id']}"), headers=eve.headers)
    ).status_code == 404

    still = await http.get(adas_url, headers=ada.headers)
    assert still.json()["status"] == "live"


async def test_the_merchant_pages_through_every_customers_subscriptions(
    stack: LocalStack, http: httpx.AsyncClient
) -> None:
    portal = await portal_with_catalogue(http, stack)
    ada = await signed_in_customer(http, stack, portal.merchant, "Ada")
    bob = await signed_in_customer(http, stack, portal.merchant, "Bob")
    created = [
        (await portal.subscribe(customer, start_with_trial=False))["subscription_id"]
        for customer in (ada, bob, ada)
    ]
    admin_list = f"{portal.gateway}/admin/v1/subscriptions"

    pages = [
        (await http.get(admin_list, params=params, headers=portal.admin)).json()
        for params in (
            {"page_size": 2, "order": "asc"},
            {"page_size": 2, "page": 2, "order": "asc"},
        )
    ]
    assert [p["total"] for p in pages] == [3, 3]
    assert [s["subscription_id"] for p in pages for s in p["items"]] == created
    adas = await http.get(admin_list, params={"customer_id": ada.customer_id}, headers=portal.admin)
    assert adas.json()["total"] == 2
    assert {s["customer_id"] for s in adas.json()["items"]} == {ada.customer_id}
    too_big = await http.get(admin_list, params={"page_size": 101}, headers=portal.admin)
    assert too_big.status_code == 400, too_big.text
    # Another merchant sees none of them.
    other = await portal_with_catalogue(http, stack)
    assert (await http.get(admin_list, headers=other.admin)).json()["total"] == 0


async def test_autocharge_and_the_payment_method_from_the_portal(
    stack: LocalStack, http: httpx.AsyncClient
) -> None:
    portal = await portal_with_catalogue(http, stack)
    ada = await signed_in_customer(http, stack, portal.merchant, "Ada")
    sub = await portal.subscribe(
        ada, start_with_trial=False, autocharge=True, payment_method_id="pm_card_1"
    )
    assert sub["charge"]["autocharge"] is True
    assert sub["charge"]["payment_method_id"] == "pm_card_1"
    sub_url = portal.url(f"/{sub['subscription_id']}")

    off = {"enabled": False}
    assert (await http.put(f"{sub_url}/autocharge", json=off, headers=ada.headers)).status_code == (
        403
    )
    await portal.prefer(payments={"toggle_autocharge": True, "remove_payment_method": True})
    turned_off = await http.put(f"{sub_url}/autocharge", json=off, headers=ada.headers)
    assert turned_off.status_code == 200, turned_off.text
    assert turned_off.json()["subscription"]["autocharge"] is False
    again = await http.put(f"{sub_url}/autocharge", json=off, headers=ada.headers)
    assert again.status_code == 409, again.text

    removed = await http.delete(f"{sub_url}/payment-method", headers=ada.headers)
    assert removed.status_code == 200, removed.text
    assert removed.json()["subscription"]["payment_method_id"] is None
    on = await http.put(f"{sub_url}/autocharge", json={"enabled": True}, headers=ada.headers)
    assert on.status_code == 409, on.text
    assert "payment method" in on.json()["detail"]
