"""A merchant's portal settings and preferences through the admin API, as the portal shows
them: name and address, banner, custom tabs, field access, every preference."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from deploy.local.stack import LocalStack
from portal_contracts.topics import MERCHANT_EVENTS
from tests.support.kafka import collect, messages_of
from tests.support.portal import create_customer, register_merchant
from tests.support.settings import (
    change_preferences,
    change_settings,
    sign_in,
    signed_in_customer,
)
from tests.support.waiting import eventually

pytestmark = pytest.mark.e2e


async def test_settings_round_trip_and_the_portal_shows_them(
    stack: LocalStack, http: httpx.AsyncClient
) -> None:
    gateway = stack.urls["gateway"]
    merchant = await register_merchant(http, gateway, stack.operator_token, "Harbour Yoga")
    headers = {"X-API-Key": merchant["api_key"]}

    defaults = (await http.get(f"{gateway}/admin/v1/portal/settings", headers=headers)).json()
    assert defaults["portal_name"] == "Harbour Yoga"
    assert defaults["portal_slug"] == merchant["slug"]
    assert defaults["banner_message"] is None
    assert "Harbour Yoga" in defaults["banner_shown"]
    assert defaults["custom_tabs"] == []
    assert defaults["field_access"]["fields"]["display_name"] == "mandatory"

    tabs = [{"name": "Class schedule", "url": "https://harbour-yoga.example/schedule"}]
    changed = await change_settings(
        http,
        gateway,
        merchant["api_key"],
        banner_message="Studio closed on Monday.",
        custom_tabs=tabs,
        field_access={"fields": {"phone": "hidden", "tax_id": "read_only"}},
    )
    assert changed.status_code == 200, changed.text
    again = (await http.get(f"{gateway}/admin/v1/portal/settings", headers=headers)).json()
    assert again["banner_message"] == "Studio closed on Monday."
    assert again["custom_tabs"] == tabs
    assert again["field_access"]["fields"]["phone"] == "hidden"
    assert again["field_access"]["fields"]["tax_id"] == "read_only"
    assert again["field_access"]["fields"]["company_name"] == "optional"

    layout = await http.get(f"{gateway}/portal/{merchant['slug']}/api/portal")
    assert layout.status_code == 200
    assert layout.json() == {
        "portal_name": "Harbour Yoga",
        "portal_slug": merchant["slug"],
        "banner_message": "Studio closed on Monday.",
        "custom_tabs": tabs,
        "sign_up_allowed": False,
    }

    # An empty banner message brings the default banner back.
    emptied = await change_settings(http, gateway, merchant["api_key"], banner_message="  ")
    assert emptied.json()["banner_message"] is None
    layout = (await http.get(f"{gateway}/portal/{merchant['slug']}/api/portal")).json()
    assert layout["banner_message"] == defaults["banner_shown"]


@pytest.mark.parametrize(
    ("settings", "named"),
    [
        ({"custom_tabs": [{"name": "Shop", "url": "http://shop.example"}]}, "custom_tabs.0.url"),
        ({"custom_tabs": [{"name": "", "url": "https://shop.example"}]}, "custom_tabs.0.name"),
        ({"field_access": {"fields": {"phone": "sometimes"}}}, "field_access.fields.phone"),
        ({"field_access": {"fields": {"shoe_size": "hidden"}}}, "shoe_size"),
        ({"portal_name": ""}, "portal_name"),
        ({"colour": "blue"}, "colour"),
        ({"banner_message": "x" * 501}, "banner_message"),
    ],
)
async def test_invalid_settings_are_422_naming_what_is_wrong(
    stack: LocalStack, http: httpx.AsyncClient, settings: dict[str, object], named: str
) -> None:
    gateway = stack.urls["gateway"]
    merchant = await register_merchant(http, gateway, stack.operator_token)

    response = await change_settings(http, gateway, merchant["api_key"], **settings)

    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert named in response.json()["detail"]
    unchanged = await http.get(
        f"{gateway}/admin/v1/portal/settings", headers={"X-API-Key": merchant["api_key"]}
    )
    assert unchanged.json()["custom_tabs"] == []
    assert unchanged.json()["portal_slug"] == merchant["slug"]


async def test_every_preference_has_a_default_and_changes_are_validated(
    stack: LocalStack, http: httpx.AsyncClient
) -> None:
    gateway = stack.urls["gateway"]
    merchant = await register_merchant(http, gateway, stack.operator_token)
    headers = {"X-API-Key": merchant["api_key"]}

    defaults = (await http.get(f"{gateway}/admin/v1/portal/preferences", headers=headers)).json()
    assert set(defaults) == {
        "portal",
        "saving_payment_methods",
        "trials",
        "cancellations",
        "pause_and_resume",
        "payments",
        "advanced",
        "secure_links",
    }
    assert defaults["portal"]["edit_gst_treatment"] is False
    assert defaults["cancellations"]["cancel"] is False

    patched = await change_preferences(
        http,
        gateway,
        merchant["api_key"],
        cancellations={"cancel": True, "cancel_when": "immediately"},
        portal={"self_sign_up": True},
    )
    assert patched.status_code == 200, patched.text
    saved = (await http.get(f"{gateway}/admin/v1/portal/preferences", headers=headers)).json()
    assert saved["cancellations"]["cancel"] is True
    assert saved["cancellations"]["cancel_when"] == "immediately"
    assert saved["cancellations"]["reactivate"] is False
    assert saved["portal"]["add_payment_methods"] is True
    layout = (await http.get(f"{gateway}/portal/{merchant['slug']}/api/portal")).json()
    assert layout["sign_up_allowed"] is True

    for wrong, named in [
        ({"cancellations": {"cancle": True}}, "cancle"),
        ({"refunds": {"allowed": True}}, "refunds"),
        ({"trials": {"max_trial_extensions": 500}}, "max_trial_extensions"),
        ({"cancellations": {"cancel_when": "whenever"}}, "cancel_when"),
    ]:
        refused = await http.patch(
            f"{gateway}/admin/v1/portal/preferences", json=wrong, headers=headers
        )
        assert refused.status_code == 422, refused.text
        assert named in refused.json()["detail"]
    still = (await http.get(f"{gateway}/admin/v1/portal/preferences", headers=headers)).json()
    assert still == saved

    # PUT replaces everything: flags left out take their defaults again.
    replaced = await http.put(
        f"{gateway}/admin/v1/portal/preferences",
        json={"portal": {"reviews": True}},
        headers=headers,
    )
    assert replaced.status_code == 200, replaced.text
    assert replaced.json()["portal"]["reviews"] is True
    assert replaced.json()["cancellations"] == defaults["cancellations"]


async def test_renaming_moves_the_portal_to_a_new_address(
    stack: LocalStack, http: httpx.AsyncClient
) -> None:
    gateway = stack.urls["gateway"]
    merchant = await register_merchant(http, gateway, stack.operator_token, "Old Name")
    customer = await signed_in_customer(http, stack, merchant)
    old_slug = merchant["slug"]
    new_name = f"Harbour Studios {uuid.uuid4().hex[:6]}"
    new_slug = new_name.lower().replace(" ", "-")
    # Warm the caches of the old address and of the new one (still unknown).
    assert (await http.get(f"{gateway}/portal/{old_slug}/api/portal")).status_code == 200
    assert (await http.get(f"{gateway}/portal/{new_slug}/api/portal")).status_code == 404

    renamed = await change_settings(http, gateway, merchant["api_key"], portal_name=new_name)

    assert renamed.status_code == 200, renamed.text
    assert renamed.json()["portal_slug"] == new_slug
    assert renamed.json()["portal_url"].endswith(f"/portal/{new_slug}")
    gone = await http.get(f"{gateway}/portal/{old_slug}/api/portal")
    assert gone.status_code == 404
    assert old_slug in gone.json()["detail"]
    assert (await sign_in(http, gateway, old_slug, customer.email)).status_code == 404
    layout = await http.get(f"{gateway}/portal/{new_slug}/api/portal")
    assert layout.status_code == 200
    assert layout.json()["portal_name"] == new_name
    # A session begun before the move keeps working at the new address...
    account = await http.get(f"{gateway}/portal/{new_slug}/api/account", headers=customer.headers)
    assert account.status_code == 200, account.text

    # ...and the customer signs in there once identity has heard of the move.
    async def signs_in_at_new_address() -> bool:
        return (await sign_in(http, gateway, new_slug, customer.email)).status_code == 201

    await eventually(signs_in_at_new_address, timeout=20)

    # Identity and notifications learn of the move from the merchant events.
    def of_this_merchant(records: list[Any]) -> list[dict[str, Any]]:
        return messages_of(records, merchant["organisation_id"])

    records = await collect(
        stack.kafka_bootstrap,
        [MERCHANT_EVENTS],
        lambda rs: (
            {"PortalRenamed", "PortalSettingsChanged"} <= {m["type"] for m in of_this_merchant(rs)}
        ),
    )
    by_type = {m["type"]: m["data"] for m in of_this_merchant(records)}
    assert by_type["PortalRenamed"] == {
        "name": new_name,
        "portal_slug": new_slug,
        "previous_slug": old_slug,
    }
    assert by_type["PortalSettingsChanged"]["portal_slug"] == new_slug
    assert by_type["PortalSettingsChanged"]["preferences"]["portal"]["self_sign_up"] is False


async def test_a_name_whose_address_another_merchant_has_is_refused(
    stack: LocalStack, http: httpx.AsyncClient
) -> None:
    gateway = stack.urls["gateway"]
    first = await register_merchant(http, gateway, stack.operator_token)
    second = await register_merchant(http, gateway, stack.operator_token)

    taken = await change_settings(http, gateway, second["api_key"], portal_name=first["slug"])

    assert taken.status_code == 409, taken.text
    assert taken.json()["code"] == "portal_slug_taken"
    settings = await http.get(
        f"{gateway}/admin/v1/portal/settings", headers={"X-API-Key": second["api_key"]}
    )
    assert settings.json()["portal_slug"] == second["slug"]
    assert settings.json()["portal_name"] == second["name"]
    assert (await http.get(f"{gateway}/portal/{second['slug']}/api/portal")).status_code == 200


async def test_one_merchants_key_never_reaches_another_merchants_settings_or_customers(
    stack: LocalStack, http: httpx.AsyncClient
) -> None:
    gateway = stack.urls["gateway"]
    merchant_a = await register_merchant(http, gateway, stack.operator_token, "Merchant A")
    merchant_b = await register_merchant(http, gateway, stack.operator_token, "Merchant B")
    key_a = {"X-API-Key": merchant_a["api_key"]}
    email = f"b.{uuid.uuid4().hex[:8]}@customers.example"
    created = await create_customer(http, gateway, merchant_b["api_key"], email)
    customer_b = created.json()["customer_id"]

    changed = await change_settings(http, gateway, merchant_a["api_key"], banner_message="A only")
    assert changed.status_code == 200
    await change_preferences(http, gateway, merchant_a["api_key"], portal={"reviews": True})
    b_settings = await http.get(
        f"{gateway}/admin/v1/portal/settings", headers={"X-API-Key": merchant_b["api_key"]}
    )
    assert b_settings.json()["banner_message"] is None
    assert b_settings.json()["portal_slug"] == merchant_b["slug"]
    b_prefs = await http.get(
        f"{gateway}/admin/v1/portal/preferences", headers={"X-API-Key": merchant_b["api_key"]}
    )
    assert b_prefs.json()["portal"]["reviews"] is False

    base = f"{gateway}/admin/v1/customers/{customer_b}"
    attempts = [
        await http.get(f"{base}/details", headers=key_a),
        await http.patch(f"{base}/details", json={"phone": "+1 555 0100"}, headers=key_a),
        await http.post(f"{base}/contacts", json={"first_name": "Eve"}, headers=key_a),
        await http.delete(f"{base}/contacts/anything", headers=key_a),
    ]
    assert [r.status_code for r in attempts] == [404, 404, 404, 404]
    details = await http.get(f"{base}/details", headers={"X-API-Key": merchant_b["api_key"]})
    assert details.json()["details"]["phone"] is None
    assert len(details.json()["contacts"]) == 1

    for method, path in [
        ("GET", "/admin/v1/portal/settings"),
        ("PATCH", "/admin/v1/portal/settings"),
        ("PATCH", "/admin/v1/portal/preferences"),
        ("PATCH", f"/admin/v1/customers/{customer_b}/details"),
    ]:
        anonymous = await http.request(method, f"{gateway}{path}", json={})
        assert anonymous.status_code == 401, (method, path)
