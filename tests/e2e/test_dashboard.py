"""The portal home dashboard, built from the services' events: what is owed (open invoices,
soonest due first), the last payment, quotes awaiting an answer, the account and contact
persons (without the fields the merchant hid), the merchant's contact details, and the
portal's banner and custom tabs. Each customer sees only their own figures."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from deploy.local.stack import LocalStack
from tests.support.documents import create_quote
from tests.support.invoicing import (
    merchant_invoice,
    pay_over_http,
    portal_customer,
    set_up_invoicing,
)
from tests.support.portal import register_merchant
from tests.support.settings import change_settings, field_access
from tests.support.waiting import eventually

pytestmark = pytest.mark.e2e


async def home(http: httpx.AsyncClient, customer: dict[str, Any]) -> dict[str, Any]:
    response = await http.get(f"{customer['portal']}/home", headers=customer["headers"])
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_the_dashboard_shows_what_is_owed_paid_and_waiting(
    stack: LocalStack, http: httpx.AsyncClient
) -> None:
    gateway, mailbox = stack.urls["gateway"], stack.urls["mailbox"]
    merchant = await register_merchant(http, gateway, stack.operator_token, "Dashboard Co")
    await set_up_invoicing(http, gateway, merchant["api_key"])
    grace = await portal_customer(http, gateway, mailbox, merchant, "Grace")
    alan = await portal_customer(http, gateway, mailbox, merchant, "Alan")
    settings = await change_settings(
        http,
        gateway,
        merchant["api_key"],
        banner_message="Invoices are due within 14 days.",
        custom_tabs=[{"name": "Catalogue", "url": "https://dashboard.example/catalogue"}],
    )
    assert settings.status_code == 200, settings.text
    await field_access(http, gateway, merchant["api_key"], company_name="hidden")

    invoices = []
    for amount in (10_000, 5_000):
        created = await merchant_invoice(
            http, gateway, merchant["api_key"], grace["customer_id"], amount
        )
        assert created.status_code == 201, created.text
        invoices.append(created.json())
    await create_quote(http, gateway, merchant, grace["customer_id"])
    owed = sum(invoice["balance_minor"] for invoice in invoices)

    async def two_open_and_a_quote() -> dict[str, Any] | None:
        board = await home(http, grace)
        ready = board["open_invoices"]["count"] == 2 and board["quotes_awaiting"] == 1
        return board if ready else None

    board = await eventually(two_open_and_a_quote, timeout=30)
    assert board["open_invoices"]["owed"] == [{"amount_minor": owed, "currency": "USD"}]
    assert {i["invoice_id"] for i in board["open_invoices"]["soonest_due"]} == {
        i["invoice_id"] for i in invoices
    }
    assert board["last_payment"] is None
    assert board["portal"]["banner_message"] == "Invoices are due within 14 days."
    assert board["portal"]["custom_tabs"] == [
        {"name": "Catalogue", "url": "https://dashboard.example/catalogue"}
    ]
    assert board["merchant"]["name"] == "Dashboard Co"
    assert board["merchant"]["contact_email"]
    assert "company_name" not in board["customer"]
    assert board["customer"]["display_name"]
    assert [p["email"] for p in board["contact_persons"]] == [grace["email"]]

    paid = await pay_over_http(http, grace, invoice_ids=[invoices[0]["invoice_id"]])
    assert paid.status_code in (200, 201), paid.text

    async def one_open_and_paid() -> dict[str, Any] | None:
        board = await home(http, grace)
        done = board["open_invoices"]["count"] == 1 and board["last_payment"] is not None
        return board if done else None

    board = await eventually(one_open_and_paid, timeout=30)
    assert board["last_payment"]["number"] == paid.json()["number"]
    assert board["open_invoices"]["soonest_due"][0]["invoice_id"] == invoices[1]["invoice_id"]

    # Another customer of the same merchant sees none of it.
    other = await home(http, alan)
    assert other["open_invoices"]["count"] == 0
    assert other["quotes_awaiting"] == 0
    assert other["last_payment"] is None
    assert [p["email"] for p in other["contact_persons"]] == [alan["email"]]
