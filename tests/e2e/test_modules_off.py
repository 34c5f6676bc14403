"""A module the merchant turned off cannot be reached by URL: with every module-gating
preference off, each view and each action of those modules answers 403 `not_enabled` to the
customer who owns the documents (so the refusal is the preference's, not a missing document).
Turned back on, the same views open again."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from deploy.local.stack import LocalStack
from tests.support.tenants import EVERYTHING_OFF, EVERYTHING_ON, prefer, tenants

pytestmark = pytest.mark.e2e

# A plan change: the part of "subscription changes" that `change_plan` governs.
PLAN_CHANGE = {"when": "immediately", "plan_code": "pro"}
FORWARD = {"email": "friend@example.com", "first_name": "Friend"}
# module -> (method, path under the portal API, body): every view and action it governs.
GATED: dict[str, list[tuple[str, str, dict[str, Any] | None]]] = {
    "credit notes": [
        ("GET", "/credit-notes", None),
        ("GET", "/credit-notes/{credit_note_id}", None),
    ],
    "sales orders": [
        ("GET", "/sales-orders", None),
        ("GET", "/sales-orders/{sales_order_id}", None),
    ],
    "projects and timesheets": [
        ("GET", "/projects", None),
        ("GET", "/projects/{project_id}", None),
        ("GET", "/timesheets", None),
        ("GET", "/timesheets/{timesheet_id}", None),
        ("POST", "/timesheets/{timesheet_id}/approve", None),
        ("POST", "/timesheets/{timesheet_id}/reject", {"reason": "Not this week"}),
    ],
    "reviews": [
        ("GET", "/reviews", None),
        ("POST", "/reviews", {"rating": 4, "text": "Fine"}),
    ],
    "sign-up": [
        ("POST", "/sign-up", {"email": "new.person@example.com"}),
        ("POST", "/sign-up/complete", {"token": "t" * 20, "password": "a-new-password-1"}),
    ],
    "adding payment methods": [
        ("POST", "/payment-methods", {"token": "tok_visa"}),
        ("PUT", "/payment-methods/{payment_method_id}", {"token": "tok_mastercard"}),
    ],
    "removing payment methods": [("DELETE", "/payment-methods/{payment_method_id}", None)],
    "forwarding": [
        ("POST", "/quotes/{quote_id}/forward", FORWARD),
        ("POST", "/invoices/{invoice_id}/forward", FORWARD),
    ],
    "bulk payments": [("POST", "/payments", {"all_outstanding": True, "token": "tok_visa"})],
    "trials": [
        ("POST", "/subscriptions/{subscription_id}/activate", None),
        ("GET", "/subscriptions/{subscription_id}/activate/preview", None),
        ("POST", "/subscriptions/{subscription_id}/extend-trial", None),
    ],
    "cancellations": [
        ("POST", "/subscriptions/{subscription_id}/cancel", {"when": "end_of_term"}),
        ("DELETE", "/subscriptions/{subscription_id}/scheduled-cancellation", None),
        ("POST", "/subscriptions/{subscription_id}/reactivate", None),
        ("GET", "/subscriptions/{subscription_id}/reactivate/preview", None),
    ],
    "pause and resume": [
        ("POST", "/subscriptions/{subscription_id}/pause", {"when": "immediately"}),
        ("POST", "/subscriptions/{subscription_id}/resume", {"when": "immediately"}),
        ("DELETE", "/subscriptions/{subscription_id}/pause-schedule", None),
    ],
    "subscription changes": [
        ("POST", "/subscriptions/{subscription_id}/changes", PLAN_CHANGE),
        ("POST", "/subscriptions/{subscription_id}/changes/preview", PLAN_CHANGE),
        ("DELETE", "/subscriptions/{subscription_id}/scheduled-changes", None),
    ],
    "subscription payments": [
        ("PUT", "/subscriptions/{subscription_id}/autocharge", {"enabled": False}),
        ("DELETE", "/subscriptions/{subscription_id}/payment-method", None),
    ],
}


async def test_every_route_of_a_module_that_is_off_is_refused(
    stack: LocalStack, http: httpx.AsyncClient
) -> None:
    world = await tenants(http, stack)
    portal, owner = world.a1.who.portal, world.a1
    await prefer(http, world.gateway, world.a, EVERYTHING_OFF)

    reachable = []
    for module, routes in GATED.items():
        for method, path, body in routes:
            headers = {**owner.headers, "Idempotency-Key": uuid.uuid4().hex}
            url = portal + path.format(**world.ids)
            answer = await http.request(method, url, json=body, headers=headers)
            refused = answer.status_code == 403 and answer.json()["code"] == "not_enabled"
            if not refused:
                reachable.append(f"{module}: {method} {path} -> {answer.text[:160]}")
    assert not reachable, "modules that are off still answer:\n" + "\n".join(reachable)

    # Back on, the views open again: the refusals came from the preferences.
    await prefer(http, world.gateway, world.a, EVERYTHING_ON)
    for path in ("/credit-notes", "/sales-orders", "/reviews"):
        opened = await http.get(portal + path, headers=owner.headers)
        assert opened.status_code == 200, f"{path}: {opened.text}"
