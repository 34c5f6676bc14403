"""The foundation flow through the whole local stack, each service its own process:
merchant creates a customer -> subscriptions -> identity invites -> notifications emails over
SMTP -> the contact sets a password -> signs in -> the portal home shows who they are."""

from __future__ import annotations

import uuid

import httpx
import pytest

from deploy.local.stack import LocalStack
from tests.support.portal import (
    create_customer,
    invitation_email,
    register_merchant,
    token_from,
)
from tests.support.waiting import eventually

pytestmark = pytest.mark.e2e
PASSWORD = "correct-horse-42"


async def test_invited_contact_signs_in_and_sees_their_portal_home(
    stack: LocalStack, http: httpx.AsyncClient
) -> None:
    gateway, mailbox = stack.urls["gateway"], stack.urls["mailbox"]
    merchant = await register_merchant(http, gateway, stack.operator_token, "Orbit Software")
    email = f"grace.{uuid.uuid4().hex[:8]}@compilers.example"

    created = await create_customer(http, gateway, merchant["api_key"], email)
    assert created.status_code == 201, created.text
    customer = created.json()
    assert customer["display_name"] == "Grace Hopper"
    assert customer["contacts"][0]["email"] == email

    message = await invitation_email(http, mailbox, email)
    assert "Orbit Software" in message["subject"] + message["text"]
    link, token = token_from(message)
    assert link.startswith(f"{gateway}/portal/{merchant['slug']}/")

    weak = await http.post(
        f"{gateway}/portal/{merchant['slug']}/api/invitations/accept",
        json={"token": token, "password": "short"},
    )
    assert weak.status_code == 400, weak.text
    accepted = await http.post(
        f"{gateway}/portal/{merchant['slug']}/api/invitations/accept",
        json={"token": token, "password": PASSWORD},
    )
    assert accepted.status_code == 200, accepted.text
    reused = await http.post(
        f"{gateway}/portal/{merchant['slug']}/api/invitations/accept",
        json={"token": token, "password": PASSWORD + "x"},
    )
    assert reused.status_code == 410
    assert reused.json()["code"] == "invitation_used"

    wrong = await http.post(
        f"{gateway}/portal/{merchant['slug']}/api/sessions",
        json={"email": email, "password": PASSWORD + "wrong"},
    )
    unknown = await http.post(
        f"{gateway}/portal/{merchant['slug']}/api/sessions",
        json={"email": f"nobody.{uuid.uuid4().hex[:6]}@x.example", "password": PASSWORD},
    )
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json()["detail"] == unknown.json()["detail"]

    signed_in = await http.post(
        f"{gateway}/portal/{merchant['slug']}/api/sessions",
        json={"email": email, "password": PASSWORD},
    )
    assert signed_in.status_code == 201, signed_in.text
    access_token = signed_in.json()["access_token"]

    home = await http.get(
        f"{gateway}/portal/{merchant['slug']}/api/home",
        headers={"Authorization": f"Bearer {access_token}"},
    )
    assert home.status_code == 200, home.text
    view = home.json()
    assert view["contact"]["name"] == "Grace Hopper"
    assert view["merchant"]["name"] == "Orbit Software"
    assert view["customer"]["customer_id"] == customer["customer_id"]

    async def access_accepted() -> bool:
        details = await http.get(
            f"{gateway}/admin/v1/customers/{customer['customer_id']}",
            headers={"X-API-Key": merchant["api_key"]},
        )
        contact = details.json()["contacts"][0]
        return bool(
            contact["portal_access"]["status"] == "accepted"
            and details.json()["outstanding"] == {"amount_minor": 0, "currency": "USD"}
        )

    await eventually(access_accepted, timeout=20)


async def test_a_contact_of_one_merchant_cannot_use_another_merchants_portal(
    stack: LocalStack, http: httpx.AsyncClient
) -> None:
    gateway, mailbox = stack.urls["gateway"], stack.urls["mailbox"]
    first = await register_merchant(http, gateway, stack.operator_token, "First Merchant")
    second = await register_merchant(http, gateway, stack.operator_token, "Second Merchant")
    email = f"lin.{uuid.uuid4().hex[:8]}@shared.example"
    assert (await create_customer(http, gateway, first["api_key"], email)).status_code == 201
    _, token = token_from(await invitation_email(http, mailbox, email))
    accepted = await http.post(
        f"{gateway}/portal/{first['slug']}/api/invitations/accept",
        json={"token": token, "password": PASSWORD},
    )
    assert accepted.status_code == 200

    # The invitation token of merchant A is not valid on merchant B's portal...
    elsewhere = await http.post(
        f"{gateway}/portal/{second['slug']}/api/invitations/accept",
        json={"token": token, "password": PASSWORD},
    )
    assert elsewhere.status_code == 404
    # ...the contact cannot sign in there...
    other_portal = await http.post(
        f"{gateway}/portal/{second['slug']}/api/sessions",
        json={"email": email, "password": PASSWORD},
    )
    assert other_portal.status_code == 401
    # ...and a session of portal A is useless on portal B.
    session = await http.post(
        f"{gateway}/portal/{first['slug']}/api/sessions",
        json={"email": email, "password": PASSWORD},
    )
    token_a = session.json()["access_token"]
    home_b = await http.get(
        f"{gateway}/portal/{second['slug']}/api/home",
        headers={"Authorization": f"Bearer {token_a}"},
    )
    assert home_b.status_code == 401
    assert home_b.json()["code"] == "token_wrong_portal"
    # The merchant's API key of B does not reach A's customers.
    customer_id = (
        await http.get(
            f"{gateway}/portal/{first['slug']}/api/home",
            headers={"Authorization": f"Bearer {token_a}"},
        )
    ).json()["customer"]["customer_id"]
    foreign = await http.get(
        f"{gateway}/admin/v1/customers/{customer_id}", headers={"X-API-Key": second["api_key"]}
    )
    assert foreign.status_code == 404
