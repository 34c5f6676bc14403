"""Rotating a webhook secret through the whole local stack: the merchant gets a new secret
once, and the next delivery is signed with both, so a receiver on either secret accepts it;
another merchant cannot rotate it."""

from __future__ import annotations

from datetime import datetime
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


async def _value(value: Any) -> Any:
    return value


async def test_after_a_rotation_a_receiver_on_either_secret_accepts_the_next_delivery(
    stack: LocalStack, http: httpx.AsyncClient
) -> None:
    gateway = stack.urls["gateway"]
    merchant = await register_merchant(http, gateway, stack.operator_token, "Rotor Ltd")
    other = await register_merchant(http, gateway, stack.operator_token, "Other Rotor")
    admin = {"X-API-Key": merchant["api_key"]}
    enabled = await change_preferences(http, gateway, merchant["api_key"], portal={"reviews": True})
    assert enabled.status_code == 200, enabled.text
    async with WebhookReceiver() as receiver:
        created = await http.post(
            f"{gateway}/admin/v1/webhooks/endpoints", json={"url": receiver.url}, headers=admin
        )
        assert created.status_code == 201, created.text
        old_secret, endpoint_id = created.json()["secret"], created.json()["endpoint_id"]
        rotate = f"{gateway}/admin/v1/webhooks/endpoints/{endpoint_id}/rotate-secret"

        stolen = await http.post(rotate, headers={"X-API-Key": other["api_key"]})
        anonymous = await http.post(rotate)
        rotated = await http.post(rotate, headers=admin)

        assert (stolen.status_code, anonymous.status_code) == (404, 401)
        assert rotated.status_code == 200, rotated.text
        assert rotated.json()["status"] == "rotated"
        new_secret = rotated.json()["secret"]
        assert new_secret.startswith("whsec_")
        assert new_secret != old_secret

        ada = await signed_in_customer(http, stack, merchant, "Ada")
        review = await http.post(
            f"{gateway}/portal/{merchant['slug']}/api/reviews",
            json={"rating": 4, "text": "Good"},
            headers=ada.headers,
        )
        assert review.status_code in (201, 202), review.text
        [hook] = await eventually(lambda: _value(receiver.received))

    header = hook.headers["portal-signature"]
    assert header.count("v1=") == 2
    assert verify_signature(new_secret, hook.body, header)
    assert verify_signature(old_secret, hook.body, header)
    listed = (await http.get(f"{gateway}/admin/v1/webhooks/endpoints", headers=admin)).json()
    [endpoint] = listed["endpoints"]
    grace_end = datetime.fromisoformat(rotated.json()["previous_secret_valid_until"])
    assert datetime.fromisoformat(endpoint["previous_secret_valid_until"]) == grace_end
    assert new_secret not in str(listed)
    assert old_secret not in str(listed)
