"""Portal access through the whole local stack: the merchant enables, disables and resends
access over the admin API; identity invites over email; contacts accept, sign up and sign in;
a disabled contact's live session is refused on the next request."""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from pymongo import AsyncMongoClient

from deploy.local.stack import LocalStack
from tests.support.access import (
    PASSWORD,
    accept,
    access_of,
    admin,
    bearer,
    emails_to,
    fresh_email,
    no_email_to,
    portal_link,
    sign_in,
    sign_up_token,
)
from tests.support.portal import create_customer, register_merchant, token_from
from tests.support.waiting import eventually

pytestmark = pytest.mark.e2e


async def _customer(
    http: httpx.AsyncClient, gateway: str, merchant: dict[str, Any], email: str | None
) -> dict[str, Any]:
    created = await create_customer(http, gateway, merchant["api_key"], email, enable_portal=False)
    assert created.status_code == 201, created.text
    customer: dict[str, Any] = created.json()
    return customer


def _contact_path(customer: dict[str, Any], contact_id: str | None = None) -> str:
    contact_id = contact_id or customer["contacts"][0]["contact_id"]
    return f"/admin/v1/customers/{customer['customer_id']}/contacts/{contact_id}/portal-access"


async def _signed_in_contact(
    http: httpx.AsyncClient, stack: LocalStack, merchant: dict[str, Any]
) -> tuple[dict[str, Any], str, str]:
    """A customer whose primary contact was enabled, accepted and signed in: (customer,
    email, access token)."""
    gateway, mailbox = stack.urls["gateway"], stack.urls["mailbox"]
    email = fresh_email()
    customer = await _customer(http, gateway, merchant, email)
    enabled = await http.post(gateway + _contact_path(customer), headers=admin(merchant))
    assert enabled.status_code == 200, enabled.text
    _, token = token_from((await emails_to(http, mailbox, email))[0])
    assert (await accept(http, gateway, merchant["slug"], token)).status_code == 200
    signed_in = await sign_in(http, gateway, merchant["slug"], email)
    assert signed_in.status_code == 201, signed_in.text
    return customer, email, signed_in.json()["access_token"]


async def test_merchant_enables_one_contact_and_follows_its_status(
    stack: LocalStack, http: httpx.AsyncClient
) -> None:
    gateway, mailbox = stack.urls["gateway"], stack.urls["mailbox"]
    merchant = await register_merchant(http, gateway, stack.operator_token, "Kestrel Labs")
    email = fresh_email()
    customer = await _customer(http, gateway, merchant, email)
    contact_id = customer["contacts"][0]["contact_id"]
    assert (await access_of(http, gateway, merchant, customer["customer_id"]))[contact_id][
        "status"
    ] == "not_invited"
    assert await no_email_to(http, mailbox, email)

    enabled = await http.post(gateway + _contact_path(customer), headers=admin(merchant))
    assert enabled.status_code == 200, enabled.text
    [entry] = enabled.json()["contacts"]
    assert entry["portal_access"]["status"] == "invited"
    expires_at = datetime.fromisoformat(entry["portal_access"]["expires_at"])
    assert timedelta(days=6) < expires_at - datetime.now(UTC) <= timedelta(days=7)

    message = (await emails_to(http, mailbox, email))[0]
    assert "Kestrel Labs" in message["subject"] + message["text"]
    link, token = token_from(message)
    assert link.startswith(f"{gateway}/portal/{merchant['slug']}/")
    assert (await accept(http, gateway, merchant["slug"], token)).status_code == 200
    reused = await accept(http, gateway, merchant["slug"], token, PASSWORD + "-again")
    assert reused.status_code == 410
    assert reused.json()["code"] == "invitation_used"

    async def accepted() -> bool:
        access = await access_of(http, gateway, merchant, customer["customer_id"])
        return access[contact_id]["status"] == "accepted"

    await eventually(accepted)
    assert (await sign_in(http, gateway, merchant["slug"], email)).status_code == 201


async def test_a_contact_without_email_cannot_be_enabled(
    stack: LocalStack, http: httpx.AsyncClient
) -> None:
    gateway = stack.urls["gateway"]
    merchant = await register_merchant(http, gateway, stack.operator_token)
    customer = await _customer(http, gateway, merchant, None)

    one = await http.post(gateway + _contact_path(customer), headers=admin(merchant))
    assert one.status_code == 422, one.text
    assert one.json()["code"] == "contact_without_email"
    assert "email" in one.json()["detail"]
    every = await http.post(
        f"{gateway}/admin/v1/customers/{customer['customer_id']}/portal-access",
        headers=admin(merchant),
    )
    assert every.status_code == 422
    assert every.json()["code"] == "contact_without_email"
    contact_id = customer["contacts"][0]["contact_id"]
    access = await access_of(http, gateway, merchant, customer["customer_id"])
    assert access[contact_id]["status"] == "not_invited"


async def test_enable_every_contact_of_a_customer(
    stack: LocalStack, http: httpx.AsyncClient
) -> None:
    gateway, mailbox = stack.urls["gateway"], stack.urls["mailbox"]
    merchant = await register_merchant(http, gateway, stack.operator_token)
    first, second = fresh_email("first"), fresh_email("second")
    customer = await _customer(http, gateway, merchant, first)
    added = await http.post(
        f"{gateway}/admin/v1/customers/{customer['customer_id']}/contacts",
        json={"first_name": "Linus", "last_name": "Second", "email": second},
        headers=admin(merchant),
    )
    assert added.status_code == 201, added.text
    no_email = await http.post(
        f"{gateway}/admin/v1/customers/{customer['customer_id']}/contacts",
        json={"first_name": "Nomail"},
        headers=admin(merchant),
    )
    assert no_email.status_code == 201, no_email.text

    async def three_contacts() -> bool:
        access = await access_of(http, gateway, merchant, customer["customer_id"])
        return len(access) == 3

    await eventually(three_contacts)
    enabled = await http.post(
        f"{gateway}/admin/v1/customers/{customer['customer_id']}/portal-access",
        headers=admin(merchant),
    )
    assert enabled.status_code == 200, enabled.text
    body = enabled.json()
    statuses = {c["email"]: c["portal_access"]["status"] for c in body["contacts"]}
    assert statuses == {first: "invited", second: "invited", None: "not_invited"}
    assert len(body["skipped_without_email"]) == 1
    for email in (first, second):
        _, token = token_from((await emails_to(http, mailbox, email))[0])
        assert (await accept(http, gateway, merchant["slug"], token)).status_code == 200
        assert (await sign_in(http, gateway, merchant["slug"], email)).status_code == 201


async def test_bulk_enable_invites_each_customers_primary_contact(
    stack: LocalStack, http: httpx.AsyncClient
) -> None:
    gateway, mailbox = stack.urls["gateway"], stack.urls["mailbox"]
    merchant = await register_merchant(http, gateway, stack.operator_token)
    emails = [fresh_email("bulk"), fresh_email("bulk")]
    customers = [await _customer(http, gateway, merchant, e) for e in emails]
    without = await _customer(http, gateway, merchant, None)
    ids = [c["customer_id"] for c in customers] + [without["customer_id"], "cus_nobody"]

    answer = await http.post(
        f"{gateway}/admin/v1/portal-access/bulk-enable",
        json={"customer_ids": ids},
        headers=admin(merchant),
    )
    assert answer.status_code == 200, answer.text
    results = {r["customer_id"]: r for r in answer.json()["results"]}
    assert [results[c["customer_id"]]["status"] for c in customers] == ["enabled", "enabled"]
    assert results[without["customer_id"]] == {
        "customer_id": without["customer_id"],
        "status": "refused",
        "code": "contact_without_email",
    }
    assert results["cus_nobody"]["status"] == "not_found"
    for email in emails:
        assert token_from((await emails_to(http, mailbox, email))[0])
    too_many = await http.post(
        f"{gateway}/admin/v1/portal-access/bulk-enable",
        json={"customer_ids": [f"cus_{i}" for i in range(101)]},
        headers=admin(merchant),
    )
    assert too_many.status_code == 400


async def test_resend_sends_a_new_link_and_the_old_one_stops_working(
    stack: LocalStack, http: httpx.AsyncClient
) -> None:
    gateway, mailbox = stack.urls["gateway"], stack.urls["mailbox"]
    merchant = await register_merchant(http, gateway, stack.operator_token, "Heron Hosting")
    email = fresh_email()
    customer = await _customer(http, gateway, merchant, email)
    assert (await http.post(gateway + _contact_path(customer), headers=admin(merchant))).is_success
    _, first = token_from((await emails_to(http, mailbox, email))[0])

    resent = await http.post(gateway + _contact_path(customer) + "/resend", headers=admin(merchant))
    assert resent.status_code == 200, resent.text
    assert resent.json()["contacts"][0]["portal_access"]["status"] == "invited"
    second_message = (await emails_to(http, mailbox, email, count=2))[1]
    assert "Heron Hosting" in second_message["subject"] + second_message["text"]
    _, second = token_from(second_message)
    assert second != first

    old = await accept(http, gateway, merchant["slug"], first)
    assert old.status_code == 410
    assert old.json()["code"] == "invitation_superseded"
    assert (await accept(http, gateway, merchant["slug"], second)).status_code == 200
    # Once accepted, resending sends the portal's address (no token: they have a password).
    again = await http.post(gateway + _contact_path(customer) + "/resend", headers=admin(merchant))
    assert again.status_code == 200, again.text
    assert again.json()["contacts"][0]["portal_access"]["status"] == "accepted"
    third = (await emails_to(http, mailbox, email, count=3))[2]
    assert portal_link(third) == f"{gateway}/portal/{merchant['slug']}/"


async def test_an_expired_invitation_cannot_be_accepted(
    stack: LocalStack, http: httpx.AsyncClient
) -> None:
    gateway, mailbox = stack.urls["gateway"], stack.urls["mailbox"]
    merchant = await register_merchant(http, gateway, stack.operator_token)
    email = fresh_email()
    customer = await _customer(http, gateway, merchant, email)
    assert (await http.post(gateway + _contact_path(customer), headers=admin(merchant))).is_success
    await emails_to(http, mailbox, email)
    # An invitation issued eight days ago, stored the way identity stores them (a digest).
    token = f"expired-{uuid.uuid4().hex}"
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(stack.mongo_uri)
    try:
        issued = datetime.now(UTC) - timedelta(days=8)
        await client["identity"]["invitations"].insert_one(
            {
                "organisation_id": merchant["organisation_id"],
                "customer_id": customer["customer_id"],
                "contact_id": customer["contacts"][0]["contact_id"],
                "token_digest": hashlib.sha256(token.encode()).hexdigest(),
                "expires_at": issued + timedelta(days=7),
                "status": "pending",
                "created_at": issued,
                "accepted_at": None,
            }
        )
    finally:
        await client.close()
    expired = await accept(http, gateway, merchant["slug"], token)
    assert expired.status_code == 410, expired.text
    assert expired.json()["code"] == "invitation_expired"
    assert (await sign_in(http, gateway, merchant["slug"], email)).status_code == 401


async def test_disabling_a_contact_ends_its_live_session_at_once(
    stack: LocalStack, http: httpx.AsyncClient
) -> None:
    gateway, mailbox = stack.urls["gateway"], stack.urls["mailbox"]
    merchant = await register_merchant(http, gateway, stack.operator_token)
    customer, email, token = await _signed_in_contact(http, stack, merchant)
    home = f"{gateway}/portal/{merchant['slug']}/api/home"
    assert (await http.get(home, headers=bearer(token))).status_code == 200

    disabled = await http.delete(gateway + _contact_path(customer), headers=admin(merchant))
    assert disabled.status_code == 200, disabled.text
    assert disabled.json()["contacts"][0]["portal_access"]["status"] == "disabled"

    refused = await http.get(home, headers=bearer(token))
    assert refused.status_code == 401
    assert refused.json()["code"] == "session_revoked"
    assert (await sign_in(http, gateway, merchant["slug"], email)).status_code == 401

    # Enabled again: a new invitation, a new password, a new session that works.
    assert (await http.post(gateway + _contact_path(customer), headers=admin(merchant))).is_success
    _, again = token_from((await emails_to(http, mailbox, email, count=2))[1])
    assert (await accept(http, gateway, merchant["slug"], again, PASSWORD + "-2")).is_success
    fresh = await sign_in(http, gateway, merchant["slug"], email, PASSWORD + "-2")
    assert fresh.status_code == 201, fresh.text
    assert (await http.get(home, headers=bearer(fresh.json()["access_token"]))).is_success
    assert (await http.get(home, headers=bearer(token))).status_code == 401


async def test_disabling_a_whole_customer_ends_every_session(
    stack: LocalStack, http: httpx.AsyncClient
) -> None:
    gateway = stack.urls["gateway"]
    merchant = await register_merchant(http, gateway, stack.operator_token)
    customer, email, token = await _signed_in_contact(http, stack, merchant)
    other, _, other_token = await _signed_in_contact(http, stack, merchant)
    home = f"{gateway}/portal/{merchant['slug']}/api/home"

    disabled = await http.delete(
        f"{gateway}/admin/v1/customers/{customer['customer_id']}/portal-access",
        headers=admin(merchant),
    )
    assert disabled.status_code == 200, disabled.text
    assert (await http.get(home, headers=bearer(token))).status_code == 401
    assert (await sign_in(http, gateway, merchant["slug"], email)).status_code == 401
    # Another customer of the same merchant is not touched.
    assert (await http.get(home, headers=bearer(other_token))).status_code == 200
    assert other["customer_id"] != customer["customer_id"]


async def test_self_sign_up_verifies_the_email_before_granting_access(
    stack: LocalStack, http: httpx.AsyncClient
) -> None:
    gateway, mailbox = stack.urls["gateway"], stack.urls["mailbox"]
    merchant = await register_merchant(http, gateway, stack.operator_token, "Puffin Press")
    email = fresh_email("signup")
    customer = await _customer(http, gateway, merchant, email)
    sign_up = f"{gateway}/portal/{merchant['slug']}/api/sign-up"

    off = await http.post(sign_up, json={"email": email})
    assert off.status_code == 403
    turned_on = await http.patch(
        f"{gateway}/admin/v1/portal/preferences",
        json={"portal": {"self_sign_up": True}},
        headers=admin(merchant),
    )
    assert turned_on.status_code == 200, turned_on.text

    stranger = fresh_email("stranger")
    known = await http.post(sign_up, json={"email": email, "name": "Grace H"})
    unknown = await http.post(sign_up, json={"email": stranger})
    assert known.status_code == unknown.status_code == 202
    assert known.json() == unknown.json()

    message = (await emails_to(http, mailbox, email))[0]
    assert "Puffin Press" in message["subject"] + message["text"]
    link, token = sign_up_token(message)
    assert link.startswith(f"{gateway}/portal/{merchant['slug']}/")
    # Not signed up until the link is opened.
    assert (await sign_in(http, gateway, merchant["slug"], email)).status_code == 401

    done = await http.post(f"{sign_up}/complete", json={"token": token, "password": PASSWORD})
    assert done.status_code == 200, done.text
    reused = await http.post(
        f"{sign_up}/complete", json={"token": token, "password": PASSWORD + "-x"}
    )
    assert reused.status_code == 410
    assert reused.json()["code"] == "sign_up_used"
    assert (await sign_in(http, gateway, merchant["slug"], email)).status_code == 201

    contact_id = customer["contacts"][0]["contact_id"]

    async def accepted() -> bool:
        access = await access_of(http, gateway, merchant, customer["customer_id"])
        return access[contact_id]["status"] == "accepted"

    await eventually(accepted)
    assert await no_email_to(http, mailbox, stranger)


async def test_hosted_page_payment_enables_the_portal_only_when_the_merchant_wants_it(
    stack: LocalStack, http: httpx.AsyncClient
) -> None:
    gateway, mailbox = stack.urls["gateway"], stack.urls["mailbox"]
    merchant = await register_merchant(http, gateway, stack.operator_token)
    email = fresh_email("hosted")
    customer = await _customer(http, gateway, merchant, email)
    paid = f"{gateway}/admin/v1/customers/{customer['customer_id']}/hosted-page-payments"

    unchanged = await http.post(paid, headers=admin(merchant))
    assert unchanged.status_code == 200, unchanged.text
    assert unchanged.json()["portal_access"] == "unchanged"
    assert await no_email_to(http, mailbox, email)

    turned_on = await http.patch(
        f"{gateway}/admin/v1/portal/preferences",
        json={"portal": {"auto_enable_for_hosted_payments": True}},
        headers=admin(merchant),
    )
    assert turned_on.status_code == 200, turned_on.text
    enabled = await http.post(paid, headers=admin(merchant))
    assert enabled.json()["portal_access"] == "enabled"
    assert token_from((await emails_to(http, mailbox, email))[0])


async def test_one_merchant_can_never_reach_another_merchants_contacts(
    stack: LocalStack, http: httpx.AsyncClient
) -> None:
    gateway = stack.urls["gateway"]
    merchant_a = await register_merchant(http, gateway, stack.operator_token, "A Corp")
    merchant_b = await register_merchant(http, gateway, stack.operator_token, "B Corp")
    customer, email, token = await _signed_in_contact(http, stack, merchant_a)
    as_b = admin(merchant_b)
    base = f"{gateway}/admin/v1/customers/{customer['customer_id']}/portal-access"

    assert (await http.get(base, headers=as_b)).status_code == 404
    assert (await http.post(base, headers=as_b)).status_code == 404
    assert (await http.delete(base, headers=as_b)).status_code == 404
    assert (await http.post(gateway + _contact_path(customer), headers=as_b)).status_code == 404
    assert (await http.delete(gateway + _contact_path(customer), headers=as_b)).status_code == 404
    resend = await http.post(gateway + _contact_path(customer) + "/resend", headers=as_b)
    assert resend.status_code == 404
    bulk = await http.post(
        f"{gateway}/admin/v1/portal-access/bulk-enable",
        json={"customer_ids": [customer["customer_id"]]},
        headers=as_b,
    )
    assert bulk.json()["results"][0]["status"] == "not_found"
    assert (await http.get(base, headers={"X-API-Key": "pk_wrong"})).status_code == 401
    assert (await http.get(base)).status_code == 401

    # A's contact cannot sign in to B's portal, nor use A's token there.
    assert (await sign_in(http, gateway, merchant_b["slug"], email)).status_code == 401
    other_home = f"{gateway}/portal/{merchant_b['slug']}/api/home"
    assert (await http.get(other_home, headers=bearer(token))).status_code == 401
    # A's contact still works at A.
    own_home = f"{gateway}/portal/{merchant_a['slug']}/api/home"
    assert (await http.get(own_home, headers=bearer(token))).status_code == 200


async def test_resent_link_follows_a_renamed_portal_and_the_old_address_is_gone(
    stack: LocalStack, http: httpx.AsyncClient
) -> None:
    gateway, mailbox = stack.urls["gateway"], stack.urls["mailbox"]
    merchant = await register_merchant(http, gateway, stack.operator_token)
    customer, email, _ = await _signed_in_contact(http, stack, merchant)

    new_name = f"Moved Portal {uuid.uuid4().hex[:8]}"
    renamed = await http.patch(
        f"{gateway}/admin/v1/portal/settings",
        json={"portal_name": new_name},
        headers=admin(merchant),
    )
    assert renamed.status_code == 200, renamed.text
    new_slug = renamed.json()["portal_slug"]
    assert new_slug != merchant["slug"]
    sent = 1

    async def resent_with_new_address() -> bool:
        nonlocal sent
        resent = await http.post(
            gateway + _contact_path(customer) + "/resend", headers=admin(merchant)
        )
        assert resent.status_code == 200, resent.text
        sent += 1
        message = (await emails_to(http, mailbox, email, count=sent))[sent - 1]
        return portal_link(message) == f"{gateway}/portal/{new_slug}/"

    await eventually(resent_with_new_address, timeout=30, interval=1.0)
    assert (await sign_in(http, gateway, new_slug, email)).status_code == 201
    old = await sign_in(http, gateway, merchant["slug"], email)
    assert old.status_code == 404
    assert "no portal" in old.json()["detail"]
