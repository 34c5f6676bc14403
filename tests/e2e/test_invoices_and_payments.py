"""Invoices and payments through the whole local stack: the merchant sets up invoicing and
raises invoices; the customer sees, opens and downloads them, pays (once, however often the
button is pressed), and gets receipts; failures carry their codes; nobody sees another
customer's invoices."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
import pytest
from pymongo import AsyncMongoClient

from deploy.local.stack import LocalStack
from tests.support.invoicing import (
    merchant_invoice,
    pay_over_http,
    pdf_text,
    portal_customer,
    set_up_invoicing,
)
from tests.support.portal import register_merchant
from tests.support.waiting import eventually

pytestmark = pytest.mark.e2e


async def merchant_with_customer(
    stack: LocalStack, http: httpx.AsyncClient, name: str = "Orbit Software", **setup: Any
) -> tuple[dict[str, Any], dict[str, Any]]:
    gateway = stack.urls["gateway"]
    merchant = await register_merchant(http, gateway, stack.operator_token, name)
    await set_up_invoicing(http, gateway, merchant["api_key"], **setup)
    customer = await portal_customer(http, gateway, stack.urls["mailbox"], merchant)
    return merchant, customer


async def invoice_for(
    stack: LocalStack,
    http: httpx.AsyncClient,
    merchant: dict[str, Any],
    customer_id: str,
    amount_minor: int = 10_000,
    **more: Any,
) -> dict[str, Any]:
    created = await merchant_invoice(
        http, stack.urls["gateway"], merchant["api_key"], customer_id, amount_minor, **more
    )
    assert created.status_code == 201, created.text
    invoice: dict[str, Any] = created.json()
    return invoice


async def status_of(http: httpx.AsyncClient, customer: dict[str, Any], invoice_id: str) -> str:
    response = await http.get(
        f"{customer['portal']}/invoices/{invoice_id}", headers=customer["headers"]
    )
    return str(response.json()["status"])


async def test_a_customer_opens_downloads_and_pays_an_invoice_once(
    stack: LocalStack, http: httpx.AsyncClient
) -> None:
    merchant, customer = await merchant_with_customer(stack, http)
    invoice = await invoice_for(stack, http, merchant, customer["customer_id"], 12_500)
    assert (invoice["number"], invoice["total_minor"]) == ("INV-000001", 15_000)

    listed = await http.get(f"{customer['portal']}/invoices", headers=customer["headers"])
    assert [i["invoice_id"] for i in listed.json()["items"]] == [invoice["invoice_id"]]

    opened = await http.get(
        f"{customer['portal']}/invoices/{invoice['invoice_id']}", headers=customer["headers"]
    )
    assert opened.status_code == 200

    async def viewed() -> bool:
        return await status_of(http, customer, invoice["invoice_id"]) == "viewed"

    await eventually(viewed, timeout=20)
    pdf = await http.get(
        f"{customer['portal']}/invoices/{invoice['invoice_id']}/pdf", headers=customer["headers"]
    )
    assert pdf.headers["content-type"] == "application/pdf"
    text = pdf_text(pdf.content)
    for expected in ("Orbit Software", "INV-000001", "USD 150.00"):
        assert expected in text

    key = uuid.uuid4().hex
    paid = await pay_over_http(http, customer, key, invoice_ids=[invoice["invoice_id"]])
    assert paid.status_code == 201, paid.text
    again = await pay_over_http(http, customer, key, invoice_ids=[invoice["invoice_id"]])
    assert again.status_code == 201
    assert again.json()["payment_id"] == paid.json()["payment_id"]

    async def is_paid() -> bool:
        return await status_of(http, customer, invoice["invoice_id"]) == "paid"

    await eventually(is_paid, timeout=20)
    payments = await http.get(f"{customer['portal']}/payments", headers=customer["headers"])
    assert [p["payment_id"] for p in payments.json()["items"]] == [paid.json()["payment_id"]]
    later = await http.get(
        f"{customer['portal']}/payments",
        params={"from": "2999-01-01T00:00:00+00:00", "sort": "amount"},
        headers=customer["headers"],
    )
    assert later.status_code == 200, later.text
    assert later.json()["total"] == 0

    async def receipt() -> httpx.Response | None:
        response = await http.get(
            f"{customer['portal']}/payments/{paid.json()['payment_id']}/receipt",
            headers=customer["headers"],
        )
        return response if response.status_code == 200 else None

    receipt_text = pdf_text((await eventually(receipt, timeout=20)).content)
    for expected in ("Payment receipt", "INV-000001", "USD 150.00"):
        assert expected in receipt_text

    home = await http.get(f"{customer['portal']}/home", headers=customer["headers"])
    assert home.status_code == 200


@pytest.mark.timeout(600)
async def test_one_hundred_concurrent_pay_requests_charge_once(
    stack: LocalStack, http: httpx.AsyncClient
) -> None:
    merchant, customer = await merchant_with_customer(stack, http)
    invoice = await invoice_for(stack, http, merchant, customer["customer_id"])

    # 100 requests at once queue up on two cores: allow them time, the point is the count.
    async with httpx.AsyncClient(timeout=300) as patient:
        answers = await asyncio.gather(
            *(
                pay_over_http(patient, customer, invoice_ids=[invoice["invoice_id"]])
                for _ in range(100)
            )
        )

    # One payment; the others are refused (already paid / pending) or still being answered.
    codes = [answer.status_code for answer in answers]
    assert codes.count(201) <= 1, codes
    assert set(codes) <= {201, 202, 409}, codes
    assert codes.count(409) >= 90, codes

    async def one_payment() -> bool:
        made = await http.get(f"{customer['portal']}/payments", headers=customer["headers"])
        return [p["status"] for p in made.json()["items"]] == ["succeeded"]

    await eventually(one_payment, timeout=30)
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(stack.mongo_uri)
    try:
        charges = await client["invoicing"]["sandbox_charges"].count_documents(
            {"customer_id": customer["customer_id"]}
        )
    finally:
        await client.close()
    assert charges == 1


async def test_a_pending_bank_payment_blocks_another_until_it_fails(
    stack: LocalStack, http: httpx.AsyncClient
) -> None:
    merchant, customer = await merchant_with_customer(stack, http)
    invoice = await invoice_for(stack, http, merchant, customer["customer_id"])
    pending = await pay_over_http(
        http, customer, invoice_ids=[invoice["invoice_id"]], token="btok_ach_fails"
    )
    assert pending.status_code == 202, pending.text
    assert pending.json()["status"] == "pending"

    second = await pay_over_http(http, customer, invoice_ids=[invoice["invoice_id"]])
    assert second.status_code == 409
    assert second.json()["code"] == "payment_pending"

    failed = await http.post(
        f"{stack.urls['gateway']}/admin/v1/sandbox/payments/{pending.json()['payment_id']}/failed",
        headers={"X-API-Key": merchant["api_key"]},
    )
    assert failed.status_code == 202

    async def payment_failed() -> bool:
        response = await http.get(
            f"{customer['portal']}/payments?status=failed", headers=customer["headers"]
        )
        return bool(response.json()["total"] == 1)

    await eventually(payment_failed, timeout=20)
    third = await pay_over_http(http, customer, invoice_ids=[invoice["invoice_id"]])
    assert third.status_code == 201, third.text


async def test_declined_payments_answer_their_code_and_a_message_for_the_customer(
    stack: LocalStack, http: httpx.AsyncClient
) -> None:
    merchant, customer = await merchant_with_customer(stack, http)
    invoice = await invoice_for(stack, http, merchant, customer["customer_id"])
    for token, code in (("tok_fraud", "CP3003"), ("tok_declined", "card_declined")):
        answer = await pay_over_http(
            http, customer, invoice_ids=[invoice["invoice_id"]], token=token
        )
        assert answer.status_code == 402, answer.text
        assert answer.json()["code"] == code
        assert "another" in answer.json()["detail"]
    failed = await http.get(
        f"{stack.urls['gateway']}/admin/v1/customers/{customer['customer_id']}/payments",
        headers={"X-API-Key": merchant["api_key"]},
    )
    remedies = {p["failure"]["code"]: p["failure"]["remedy"] for p in failed.json()["items"]}
    assert "fraud filters" in remedies["CP3003"]


async def test_without_a_default_tax_the_merchant_gets_cp2001(
    stack: LocalStack, http: httpx.AsyncClient
) -> None:
    gateway = stack.urls["gateway"]
    merchant = await register_merchant(http, gateway, stack.operator_token, "No Tax Ltd")
    customer = await portal_customer(http, gateway, stack.urls["mailbox"], merchant)
    refused = await merchant_invoice(http, gateway, merchant["api_key"], customer["customer_id"])
    assert refused.status_code == 422, refused.text
    assert refused.json()["code"] == "CP2001"
    assert "default tax" in refused.json()["detail"]


async def test_part_payment_only_where_the_merchant_allowed_it(
    stack: LocalStack, http: httpx.AsyncClient
) -> None:
    merchant, customer = await merchant_with_customer(stack, http)
    strict = await invoice_for(stack, http, merchant, customer["customer_id"])
    lenient = await invoice_for(
        stack, http, merchant, customer["customer_id"], allow_partial_payments=True
    )
    refused = await pay_over_http(
        http, customer, invoice_ids=[strict["invoice_id"]], amount_minor=2_000
    )
    assert refused.status_code == 403
    assert refused.json()["code"] == "partial_payment_not_allowed"
    part = await pay_over_http(
        http, customer, invoice_ids=[lenient["invoice_id"]], amount_minor=2_000
    )
    assert part.status_code == 201, part.text

    async def partially_paid() -> bool:
        return await status_of(http, customer, lenient["invoice_id"]) == "partially_paid"

    await eventually(partially_paid, timeout=20)


async def test_another_customers_invoice_is_not_found_in_any_portal(
    stack: LocalStack, http: httpx.AsyncClient
) -> None:
    gateway, mailbox = stack.urls["gateway"], stack.urls["mailbox"]
    merchant, customer = await merchant_with_customer(stack, http)
    neighbour = await portal_customer(http, gateway, mailbox, merchant, "Ada")
    theirs = await invoice_for(stack, http, merchant, neighbour["customer_id"])
    other_merchant, stranger = await merchant_with_customer(stack, http, "Other Merchant")
    foreign = await invoice_for(stack, http, other_merchant, stranger["customer_id"])

    for invoice_id in (theirs["invoice_id"], foreign["invoice_id"]):
        for path in (f"/invoices/{invoice_id}", f"/invoices/{invoice_id}/pdf"):
            response = await http.get(f"{customer['portal']}{path}", headers=customer["headers"])
            assert response.status_code == 404, (path, response.text)
        paying = await pay_over_http(http, customer, invoice_ids=[invoice_id])
        assert paying.status_code == 404
    listed = await http.get(f"{customer['portal']}/invoices", headers=customer["headers"])
    assert listed.json()["items"] == []

    no_token = await http.get(f"{customer['portal']}/invoices")
    assert no_token.status_code == 401
    elsewhere = await http.get(
        f"{gateway}/portal/{other_merchant['slug']}/api/invoices", headers=customer["headers"]
    )
    assert elsewhere.status_code == 401
    other_key = await http.get(
        f"{gateway}/admin/v1/invoices/{theirs['invoice_id']}",
        headers={"X-API-Key": other_merchant["api_key"]},
    )
    assert other_key.status_code == 404


async def test_saved_payment_methods_pay_the_whole_outstanding_amount(
    stack: LocalStack, http: httpx.AsyncClient
) -> None:
    merchant, customer = await merchant_with_customer(stack, http)
    portal, headers = customer["portal"], customer["headers"]
    first = await invoice_for(stack, http, merchant, customer["customer_id"], 1_000)
    second = await invoice_for(stack, http, merchant, customer["customer_id"], 2_000)
    third = await invoice_for(stack, http, merchant, customer["customer_id"], 3_000)

    async def owes_all_three() -> bool:
        home = (await http.get(f"{portal}/home", headers=headers)).json()
        return bool((home.get("outstanding") or {}).get("amount_minor") == 7_200)

    await eventually(owes_all_three, timeout=20)
    options = await http.get(f"{portal}/payment-methods", headers=headers)
    assert options.json() == {
        "items": [],
        "save_by_default": True,
        "can_add": True,
        "can_remove": False,
    }
    # Paying with a new card keeps it for later (the merchant preselects "save").
    paid = await pay_over_http(http, customer, invoice_ids=[first["invoice_id"]])
    assert paid.status_code == 201, paid.text

    async def saved() -> list[dict[str, Any]] | None:
        listed = (await http.get(f"{portal}/payment-methods", headers=headers)).json()
        return listed["items"] or None

    [card] = await eventually(saved, timeout=20)
    assert (card["brand"], card["last4"], card["exp_year"]) == ("visa", "4242", 2034)
    assert "token" not in card

    replaced = await http.put(
        f"{portal}/payment-methods/{card['payment_method_id']}",
        json={"token": "tok_mastercard"},
        headers=headers,
    )
    assert replaced.status_code == 200, replaced.text
    new_id = replaced.json()["new_payment_method_id"]
    [current] = (await http.get(f"{portal}/payment-methods", headers=headers)).json()["items"]
    assert (current["payment_method_id"], current["last4"]) == (new_id, "4444")

    everything = await pay_over_http(
        http, customer, all_outstanding=True, payment_method_id=new_id, token=None
    )
    assert everything.status_code == 201, everything.text
    assert everything.json()["amount"] == {"amount_minor": 6_000, "currency": "USD"}
    assert {a["invoice_id"] for a in everything.json()["allocations"]} == {
        second["invoice_id"],
        third["invoice_id"],
    }
    removal = await http.delete(f"{portal}/payment-methods/{new_id}", headers=headers)
    assert removal.status_code == 403

    async def nothing_owed() -> bool:
        home = (await http.get(f"{portal}/home", headers=headers)).json()
        paid = (await http.get(f"{portal}/invoices?status=paid", headers=headers)).json()
        return bool(home["outstanding"]["amount_minor"] == 0 and paid["total"] == 3)

    await eventually(nothing_owed, timeout=20)
