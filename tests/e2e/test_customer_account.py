"""A customer's own details in the portal, within the access the merchant set per field, and
the merchant changing details and contact persons through the admin API."""

from __future__ import annotations

import uuid

import httpx
import pytest

from deploy.local.stack import LocalStack
from tests.support.portal import register_merchant
from tests.support.settings import (
    change_preferences,
    field_access,
    signed_in_customer,
)

pytestmark = pytest.mark.e2e

ADDRESS = {"street": "Hauptstrasse 12", "city": "Berlin", "postal_code": "10115", "country": "DE"}


async def test_a_customer_changes_their_details_and_sees_the_change_at_once(
    stack: LocalStack, http: httpx.AsyncClient
) -> None:
    gateway = stack.urls["gateway"]
    merchant = await register_merchant(http, gateway, stack.operator_token)
    customer = await signed_in_customer(http, stack, merchant)
    account_url = f"{gateway}/portal/{merchant['slug']}/api/account"

    before = await http.get(account_url, headers=customer.headers)
    assert before.status_code == 200, before.text
    assert before.json()["details"]["company_name"] == "Compilers Inc"
    assert before.json()["access"]["display_name"] == "mandatory"
    assert before.json()["contacts"][0]["email"] == customer.email

    changed = await http.patch(
        account_url,
        json={"phone": "+49 30 1234567", "billing_address": ADDRESS, "company_name": None},
        headers=customer.headers,
    )

    assert changed.status_code == 200, changed.text
    details = changed.json()["details"]
    assert details["phone"] == "+49 30 1234567"
    assert details["billing_address"]["city"] == "Berlin"
    assert details["company_name"] is None
    again = (await http.get(account_url, headers=customer.headers)).json()
    assert again["details"] == details
    admin = await http.get(
        f"{gateway}/admin/v1/customers/{customer.customer_id}/details",
        headers={"X-API-Key": merchant["api_key"]},
    )
    assert admin.json()["details"]["billing_address"]["postal_code"] == "10115"

    wrong = await http.patch(
        account_url,
        json={"billing_address": {"city": "Berlin", "country": "Germany"}},
        headers=customer.headers,
    )
    assert wrong.status_code == 422
    assert "billing_address.country" in wrong.json()["detail"]
    unknown = await http.patch(account_url, json={"shoe_size": "42"}, headers=customer.headers)
    assert unknown.status_code == 422
    assert "shoe_size" in unknown.json()["detail"]


async def test_field_access_levels_are_enforced_on_the_server(
    stack: LocalStack, http: httpx.AsyncClient
) -> None:
    gateway = stack.urls["gateway"]
    merchant = await register_merchant(http, gateway, stack.operator_token)
    customer = await signed_in_customer(http, stack, merchant)
    account_url = f"{gateway}/portal/{merchant['slug']}/api/account"
    admin_headers = {"X-API-Key": merchant["api_key"]}
    merchant_set = await http.patch(
        f"{gateway}/admin/v1/customers/{customer.customer_id}/details",
        json={"phone": "+1 555 0100", "tax_id": "DE123456789"},
        headers=admin_headers,
    )
    assert merchant_set.status_code == 200, merchant_set.text

    await field_access(
        http,
        gateway,
        merchant["api_key"],
        phone="hidden",
        tax_id="read_only",
        company_name="mandatory",
        website="optional",
    )
    view = (await http.get(account_url, headers=customer.headers)).json()
    assert "phone" not in view["details"]
    assert "phone" not in view["access"]
    assert "+1 555 0100" not in str(view)
    assert view["details"]["tax_id"] == "DE123456789"
    assert view["access"]["tax_id"] == "read_only"

    hidden = await http.patch(account_url, json={"phone": "+1 999"}, headers=customer.headers)
    assert hidden.status_code == 403
    assert "phone" in hidden.json()["detail"]
    read_only = await http.patch(account_url, json={"tax_id": "X1"}, headers=customer.headers)
    assert read_only.status_code == 403
    assert "tax_id" in read_only.json()["detail"]
    emptied = await http.patch(account_url, json={"company_name": ""}, headers=customer.headers)
    assert emptied.status_code == 422
    assert "company_name" in emptied.json()["detail"]
    # A refused change changes nothing, not even the allowed fields sent with it.
    mixed = await http.patch(
        account_url, json={"website": "https://a.example", "tax_id": "X"}, headers=customer.headers
    )
    assert mixed.status_code == 403
    optional = await http.patch(
        account_url,
        json={"company_name": "Analytical Engines Ltd", "website": None},
        headers=customer.headers,
    )
    assert optional.status_code == 200, optional.text
    stored = await http.get(
        f"{gateway}/admin/v1/customers/{customer.customer_id}/details", headers=admin_headers
    )
    assert stored.json()["details"]["phone"] == "+1 555 0100"
    assert stored.json()["details"]["tax_id"] == "DE123456789"
    assert stored.json()["details"]["website"] is None
    assert stored.json()["details"]["company_name"] == "Analytical Engines Ltd"

    # "Disable" hides every field at once.
    await field_access(http, gateway, merchant["api_key"], disabled=True)
    disabled = (await http.get(account_url, headers=customer.headers)).json()
    assert disabled["details"] == {}
    refused = await http.patch(account_url, json={"display_name": "New"}, headers=customer.headers)
    assert refused.status_code == 403
    # Enabling the fields again brings back the levels set before.
    await field_access(http, gateway, merchant["api_key"], disabled=False)
    enabled = (await http.get(account_url, headers=customer.headers)).json()
    assert "phone" not in enabled["details"]
    assert enabled["access"]["tax_id"] == "read_only"
    assert enabled["details"]["display_name"] == "Ada Lovelace"


async def test_gst_treatment_is_editable_only_when_the_merchant_allows_it(
    stack: LocalStack, http: httpx.AsyncClient
) -> None:
    gateway = stack.urls["gateway"]
    merchant = await register_merchant(http, gateway, stack.operator_token)
    customer = await signed_in_customer(http, stack, merchant)
    account_url = f"{gateway}/portal/{merchant['slug']}/api/account"

    before = (await http.get(account_url, headers=customer.headers)).json()
    assert before["access"]["gst_treatment"] == "read_only"
    refused = await http.patch(
        account_url, json={"gst_treatment": "consumer"}, headers=customer.headers
    )
    assert refused.status_code == 403
    assert refused.json()["code"] == "not_enabled"

    enabled = await change_preferences(
        http, gateway, merchant["api_key"], portal={"edit_gst_treatment": True}
    )
    assert enabled.status_code == 200
    after = (await http.get(account_url, headers=customer.headers)).json()
    assert after["access"]["gst_treatment"] == "optional"
    layout_url = f"{gateway}/portal/{merchant['slug']}/api/layout"
    layout = await http.get(layout_url, headers=customer.headers)
    assert layout.status_code == 200, layout.text
    assert layout.json()["modules"]["share_documents"] is True
    assert layout.json()["modules"]["sales_orders"] is False
    assert (await http.get(layout_url)).status_code == 401
    allowed = await http.patch(
        account_url, json={"gst_treatment": "consumer"}, headers=customer.headers
    )
    assert allowed.status_code == 200, allowed.text
    assert allowed.json()["details"]["gst_treatment"] == "consumer"
    # The subscriptions service's own rule: a registered business needs its tax id.
    no_tax_id = await http.patch(
        account_url, json={"gst_treatment": "business_gst"}, headers=customer.headers
    )
    assert no_tax_id.status_code == 422
    assert no_tax_id.json()["code"] == "tax_id_required"


async def test_a_customer_only_ever_reaches_their_own_account(
    stack: LocalStack, http: httpx.AsyncClient
) -> None:
    gateway = stack.urls["gateway"]
    merchant = await register_merchant(http, gateway, stack.operator_token)
    other_merchant = await register_merchant(http, gateway, stack.operator_token)
    ada = await signed_in_customer(http, stack, merchant, "Ada")
    bob = await signed_in_customer(http, stack, merchant, "Bob")
    account_url = f"{gateway}/portal/{merchant['slug']}/api/account"

    changed = await http.patch(account_url, json={"phone": "+1 111"}, headers=ada.headers)
    assert changed.status_code == 200
    assert changed.json()["customer_id"] == ada.customer_id
    bobs = (await http.get(account_url, headers=bob.headers)).json()
    assert bobs["customer_id"] == bob.customer_id
    assert bobs["details"]["phone"] is None
    assert ada.email not in str(bobs)

    elsewhere = await http.get(
        f"{gateway}/portal/{other_merchant['slug']}/api/account", headers=ada.headers
    )
    assert elsewhere.status_code == 401
    assert elsewhere.json()["code"] == "token_wrong_portal"
    written_elsewhere = await http.patch(
        f"{gateway}/portal/{other_merchant['slug']}/api/account",
        json={"phone": "+1 222"},
        headers=ada.headers,
    )
    assert written_elsewhere.status_code == 401
    assert (await http.get(account_url)).status_code == 401
    forged = await http.get(account_url, headers={"Authorization": "Bearer not-a-token"})
    assert forged.status_code == 401
    still = (await http.get(account_url, headers=ada.headers)).json()
    assert still["details"]["phone"] == "+1 111"


async def test_the_merchant_manages_contact_persons(
    stack: LocalStack, http: httpx.AsyncClient
) -> None:
    gateway = stack.urls["gateway"]
    merchant = await register_merchant(http, gateway, stack.operator_token)
    customer = await signed_in_customer(http, stack, merchant)
    headers = {"X-API-Key": merchant["api_key"]}
    contacts_url = f"{gateway}/admin/v1/customers/{customer.customer_id}/contacts"
    email = f"jonas.{uuid.uuid4().hex[:8]}@customers.example"

    added = await http.post(
        contacts_url,
        json={"first_name": "Jonas", "last_name": "Weber", "email": email},
        headers=headers,
    )
    assert added.status_code == 201, added.text
    jonas = next(c for c in added.json()["contacts"] if c["email"] == email)
    assert jonas["is_primary"] is False

    duplicate = await http.post(
        contacts_url, json={"first_name": "J", "email": email.upper()}, headers=headers
    )
    assert duplicate.status_code == 409
    assert duplicate.json()["code"] == "contact_email_taken"

    promoted = await http.patch(
        f"{contacts_url}/{jonas['contact_id']}",
        json={"last_name": "Weber-Keller", "make_primary": True},
        headers=headers,
    )
    assert promoted.status_code == 200, promoted.text
    by_id = {c["contact_id"]: c for c in promoted.json()["contacts"]}
    assert by_id[jonas["contact_id"]]["is_primary"] is True
    assert by_id[jonas["contact_id"]]["last_name"] == "Weber-Keller"
    assert by_id[customer.contact_id]["is_primary"] is False

    # The customer's portal lists the contact persons as they are now.
    account = await http.get(
        f"{gateway}/portal/{merchant['slug']}/api/account", headers=customer.headers
    )
    listed = {c["contact_id"]: c["is_primary"] for c in account.json()["contacts"]}
    assert listed == {jonas["contact_id"]: True, customer.contact_id: False}

    primary = await http.delete(f"{contacts_url}/{jonas['contact_id']}", headers=headers)
    assert primary.status_code == 409
    assert primary.json()["code"] == "primary_contact"
    removed = await http.delete(f"{contacts_url}/{customer.contact_id}", headers=headers)
    assert removed.status_code == 200, removed.text
    assert [c["contact_id"] for c in removed.json()["contacts"]] == [jonas["contact_id"]]
    missing = await http.delete(f"{contacts_url}/{customer.contact_id}", headers=headers)
    assert missing.status_code == 404


async def test_the_merchant_changes_any_field_whatever_the_portal_access(
    stack: LocalStack, http: httpx.AsyncClient
) -> None:
    gateway = stack.urls["gateway"]
    merchant = await register_merchant(http, gateway, stack.operator_token)
    customer = await signed_in_customer(http, stack, merchant)
    headers = {"X-API-Key": merchant["api_key"]}
    await field_access(http, gateway, merchant["api_key"], custom_fields="hidden")

    changed = await http.patch(
        f"{gateway}/admin/v1/customers/{customer.customer_id}/details",
        json={
            "custom_fields": {"member_number": "A-1042"},
            "gst_treatment": "overseas",
            "shipping_address": ADDRESS,
        },
        headers=headers,
    )

    assert changed.status_code == 200, changed.text
    assert changed.json()["details"]["custom_fields"] == {"member_number": "A-1042"}
    assert changed.json()["details"]["gst_treatment"] == "overseas"
    view = (
        await http.get(f"{gateway}/portal/{merchant['slug']}/api/account", headers=customer.headers)
    ).json()
    assert "custom_fields" not in view["details"]
    assert "A-1042" not in str(view)
    no_name = await http.patch(
        f"{gateway}/admin/v1/customers/{customer.customer_id}/details",
        json={"display_name": ""},
        headers=headers,
    )
    assert no_name.status_code == 422
    assert no_name.json()["code"] == "display_name_required"
