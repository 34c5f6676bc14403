"""Quotes, credit notes, sales orders, statements and forwarding through the whole local
stack: the merchant's admin API -> invoicing -> events -> the gateway's read models -> the
customer's portal (and the mailbox, for emails)."""

from __future__ import annotations

import io
import uuid
from typing import Any

import httpx
import pytest
from pypdf import PdfReader

from deploy.local.stack import LocalStack
from tests.support.documents import (
    LINES,
    SignedIn,
    admin_post,
    attachment_of,
    create_quote,
    mail_to,
    open_shop,
    set_preferences,
)
from tests.support.waiting import eventually

pytestmark = pytest.mark.e2e


async def quote_status(http: httpx.AsyncClient, who: SignedIn, quote_id: str) -> str:
    response = await http.get(f"{who.portal}/quotes/{quote_id}", headers=who.headers)
    assert response.status_code == 200, response.text
    return str(response.json()["status"])


async def test_customer_views_accepts_and_declines_quotes_and_sees_only_portal_comments(
    stack: LocalStack, http: httpx.AsyncClient
) -> None:
    shop = await open_shop(http, stack)
    gateway, merchant = shop.gateway, shop.merchant
    grace = await shop.customer("Grace")
    first = await create_quote(http, gateway, merchant, grace.customer_id, notes="30 days")
    second = await create_quote(http, gateway, merchant, grace.customer_id)
    draft = await create_quote(http, gateway, merchant, grace.customer_id, send=False)
    assert first["status"] == "sent"
    assert first["total"] == {"amount_minor": 102_050, "currency": "USD"}
    assert draft["status"] == "draft"
    assert [first["number"], second["number"]] == ["QT-00001", "QT-00002"]

    listed = await http.get(f"{grace.portal}/quotes", headers=grace.headers)
    assert listed.status_code == 200
    quotes = listed.json()["items"]
    assert {q["quote_id"] for q in quotes} == {first["quote_id"], second["quote_id"]}
    hidden = await http.get(f"{grace.portal}/quotes/{draft['quote_id']}", headers=grace.headers)
    assert hidden.status_code == 404

    # Opening a sent quote marks it viewed (an event from invoicing, then the read model).
    assert await quote_status(http, grace, first["quote_id"]) == "sent"

    async def viewed() -> bool:
        return await quote_status(http, grace, first["quote_id"]) == "viewed"

    await eventually(viewed)

    quote_url = f"{gateway}/admin/v1/quotes/{first['quote_id']}"
    api_key = {"X-API-Key": merchant["api_key"]}
    internal = await http.post(
        f"{quote_url}/comments", json={"text": "Margin is thin here"}, headers=api_key
    )
    shared = await http.post(
        f"{quote_url}/comments",
        json={"text": "We add onboarding for free", "show_in_portal": True},
        headers=api_key,
    )
    assert internal.status_code == shared.status_code == 201, internal.text + shared.text
    asked = await http.post(
        f"{grace.portal}/quotes/{first['quote_id']}/comments",
        json={"text": "Can we pay yearly?"},
        headers=grace.headers,
    )
    assert asked.status_code == 201, asked.text

    seen = await http.get(f"{grace.portal}/quotes/{first['quote_id']}", headers=grace.headers)
    assert [c["text"] for c in seen.json()["comments"]] == [
        "We add onboarding for free",
        "Can we pay yearly?",
    ]
    everything = (await http.get(quote_url, headers=api_key)).json()
    assert [c["text"] for c in everything["comments"]] == [
        "Margin is thin here",
        "We add onboarding for free",
        "Can we pay yearly?",
    ]
    assert everything["comments"][2]["author"] == "contact"

    accepted = await http.post(
        f"{grace.portal}/quotes/{first['quote_id']}/accept", headers=grace.headers
    )
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["status"] == "accepted"
    too_late = await http.post(
        f"{grace.portal}/quotes/{first['quote_id']}/decline",
        json={"reason": "changed my mind"},
        headers=grace.headers,
    )
    assert too_late.status_code == 409, too_late.text
    assert too_late.json()["code"] == "quote_not_open"

    # The quote's PDF, redrawn by invoicing when it was accepted.
    async def accepted_pdf() -> str | None:
        pdf = await http.get(
            f"{grace.portal}/quotes/{first['quote_id']}/pdf", headers=grace.headers
        )
        if pdf.status_code != 200:
            return None
        text = PdfReader(io.BytesIO(pdf.content)).pages[0].extract_text()
        return text if "Status: accepted" in text else None

    text = await eventually(accepted_pdf)
    assert "Quote QT-00001" in text
    assert "Annual support plan" in text

    no_reason = await http.post(
        f"{grace.portal}/quotes/{second['quote_id']}/decline",
        json={"reason": ""},
        headers=grace.headers,
    )
    assert no_reason.status_code == 400
    declined = await http.post(
        f"{grace.portal}/quotes/{second['quote_id']}/decline",
        json={"reason": "Found a cheaper offer"},
        headers=grace.headers,
    )
    assert declined.status_code == 200, declined.text
    assert declined.json()["status"] == "declined"
    assert declined.json()["decline_reason"] == "Found a cheaper offer"
    by_status = await http.get(
        f"{grace.portal}/quotes", params={"status": "declined"}, headers=grace.headers
    )
    assert [q["quote_id"] for q in by_status.json()["items"]] == [second["quote_id"]]


async def test_the_customer_is_emailed_about_a_portal_comment_only_when_the_merchant_wants(
    stack: LocalStack, http: httpx.AsyncClient
) -> None:
    shop = await open_shop(http, stack)
    gateway, mailbox, merchant = shop.gateway, shop.mailbox, shop.merchant
    ada = await shop.customer("Ada")
    quote = await create_quote(http, gateway, merchant, ada.customer_id)
    url = f"/quotes/{quote['quote_id']}/comments"

    quiet = await admin_post(
        http, gateway, merchant, url, {"text": "Quiet", "show_in_portal": True}
    )
    assert quiet.status_code == 201
    await set_preferences(http, gateway, merchant, {"email_customers_on_comments": True})
    unmarked = await admin_post(http, gateway, merchant, url, {"text": "Internal only"})
    loud = await admin_post(
        http, gateway, merchant, url, {"text": "Discount approved", "show_in_portal": True}
    )
    assert unmarked.status_code == loud.status_code == 201

    async def comment_mail() -> list[dict[str, Any]]:
        return [
            m for m in await mail_to(http, mailbox, ada.email) if "Discount approved" in m["text"]
        ]

    mails = await eventually(comment_mail)
    assert len(mails) == 1
    everything = " ".join(m["text"] for m in await mail_to(http, mailbox, ada.email))
    assert "Internal only" not in everything
    assert "Quiet" not in everything


async def test_another_customers_quote_is_not_found_in_the_same_or_another_portal(
    stack: LocalStack, http: httpx.AsyncClient
) -> None:
    shop = await open_shop(http, stack)
    gateway, merchant = shop.gateway, shop.merchant
    rival = await open_shop(http, stack, "Rival Ltd")
    grace = await shop.customer("Grace")
    neighbour = await shop.customer("Linus")
    stranger = await rival.customer("Barbara")
    quote = await create_quote(http, gateway, merchant, grace.customer_id)
    quote_id = quote["quote_id"]

    for intruder in (neighbour, stranger):
        listed = await http.get(f"{intruder.portal}/quotes", headers=intruder.headers)
        assert listed.json()["items"] == []
        seen = await http.get(f"{intruder.portal}/quotes/{quote_id}", headers=intruder.headers)
        assert seen.status_code == 404
        accept = await http.post(
            f"{intruder.portal}/quotes/{quote_id}/accept", headers=intruder.headers
        )
        assert accept.status_code == 404
        forward = await http.post(
            f"{intruder.portal}/quotes/{quote_id}/forward",
            json={"email": "x@evil.example", "first_name": "X"},
            headers=intruder.headers,
        )
        assert forward.status_code == 404
    # The other merchant's token is no key to this portal, nor is no token at all.
    foreign = await http.get(f"{grace.portal}/quotes/{quote_id}", headers=stranger.headers)
    assert foreign.status_code == 401
    anonymous = await http.get(f"{grace.portal}/quotes/{quote_id}")
    assert anonymous.status_code == 401
    other_admin = await http.get(
        f"{gateway}/admin/v1/quotes/{quote_id}", headers={"X-API-Key": rival.merchant["api_key"]}
    )
    assert other_admin.status_code == 404
    assert await quote_status(http, grace, quote_id) in ("sent", "viewed")


async def test_credit_notes_apply_to_invoices_refund_and_follow_the_preference(
    stack: LocalStack, http: httpx.AsyncClient
) -> None:
    shop = await open_shop(http, stack)
    gateway, mailbox, merchant = shop.gateway, shop.mailbox, shop.merchant
    grace = await shop.customer("Grace")
    api_key = {"X-API-Key": merchant["api_key"]}
    setup = await http.put(
        f"{gateway}/admin/v1/invoicing/setup",
        json={"default_tax": {"name": "VAT", "rate_basis_points": 0}},
        headers=api_key,
    )
    assert setup.status_code == 200, setup.text
    invoice = await admin_post(
        http,
        gateway,
        merchant,
        f"/customers/{grace.customer_id}/invoices",
        {"lines": [{"description": "Consulting", "quantity": 1, "unit_amount_minor": 30_000}]},
    )
    assert invoice.status_code == 201, invoice.text
    invoice_id, invoice_number = invoice.json()["invoice_id"], invoice.json()["number"]

    # Forwarding the invoice: its PDF reaches the other person through the real SMTP server.
    accountant = f"lin.{uuid.uuid4().hex[:8]}@compilers.example"
    forwarded = await http.post(
        f"{grace.portal}/invoices/{invoice_id}/forward",
        json={"email": accountant, "first_name": "Lin", "last_name": "Ledger"},
        headers=grace.headers,
    )
    assert forwarded.status_code == 200, forwarded.text
    unknown = await http.post(
        f"{grace.portal}/invoices/inv_not_hers/forward",
        json={"email": accountant, "first_name": "Lin"},
        headers=grace.headers,
    )
    assert unknown.status_code == 404, unknown.text

    async def invoice_mail() -> list[dict[str, Any]]:
        return await mail_to(http, mailbox, accountant)

    [message] = await eventually(invoice_mail)
    filename, pdf = await attachment_of(http, mailbox, message)
    assert filename == f"{invoice_number}.pdf"
    assert invoice_number in PdfReader(io.BytesIO(pdf)).pages[0].extract_text()

    issued = await admin_post(
        http,
        gateway,
        merchant,
        "/credit-notes",
        {"customer_id": grace.customer_id, "lines": LINES[:1], "reason": "Returned equipment"},
    )
    assert issued.status_code == 201, issued.text
    note = issued.json()
    assert note["number"] == "CN-00001"
    assert note["available"]["amount_minor"] == 90_000

    url = f"/credit-notes/{note['credit_note_id']}"
    too_much = await admin_post(
        http,
        gateway,
        merchant,
        f"{url}/applications",
        {"invoice_id": invoice_id, "amount_minor": 30_001},
    )
    assert too_much.status_code == 409, too_much.text
    applied = await admin_post(
        http,
        gateway,
        merchant,
        f"{url}/applications",
        {"invoice_id": invoice_id, "amount_minor": 30_000},
    )
    assert applied.status_code == 200, applied.text
    assert applied.json()["available"]["amount_minor"] == 60_000
    refunded = await admin_post(
        http, gateway, merchant, f"{url}/refunds", {"amount_minor": 10_000, "reference": "Wire"}
    )
    assert refunded.status_code == 200, refunded.text

    # The invoice's balance went down by the credit: it is paid.
    async def invoice_paid() -> bool:
        found = await http.get(f"{grace.portal}/invoices/{invoice_id}", headers=grace.headers)
        return found.status_code == 200 and found.json()["status"] == "paid"

    await eventually(invoice_paid)

    # 900.00 credited, 300.00 used, 100.00 refunded: 500.00 left, shown on the home page.
    async def credits_left() -> bool:
        home = await http.get(f"{grace.portal}/home", headers=grace.headers)
        return (home.json().get("unused_credits") or {}).get("amount_minor") == 50_000

    await eventually(credits_left)

    seen = await http.get(f"{grace.portal}{url}", headers=grace.headers)
    assert seen.status_code == 200, seen.text
    view = seen.json()
    assert view["available"]["amount_minor"] == 50_000
    assert [a["invoice_id"] for a in view["applications"]] == [invoice_id]
    assert [r["amount"]["amount_minor"] for r in view["refunds"]] == [10_000]
    listed = await http.get(f"{grace.portal}/credit-notes", headers=grace.headers)
    assert [n["number"] for n in listed.json()["items"]] == ["CN-00001"]

    await set_preferences(http, gateway, merchant, {"credit_notes": False})
    for path in ("/credit-notes", url):
        off = await http.get(f"{grace.portal}{path}", headers=grace.headers)
        assert off.status_code == 403, off.text


async def test_sales_orders_are_shown_only_when_enabled_with_the_invoice_once_fulfilled(
    stack: LocalStack, http: httpx.AsyncClient
) -> None:
    shop = await open_shop(http, stack)
    gateway, merchant = shop.gateway, shop.merchant
    grace = await shop.customer("Grace")
    neighbour = await shop.customer("Linus")
    created = await admin_post(
        http,
        gateway,
        merchant,
        "/sales-orders",
        {"customer_id": grace.customer_id, "lines": LINES, "reference": "PO-7781"},
    )
    assert created.status_code == 201, created.text
    order = created.json()
    assert order["number"] == "SO-00001"
    assert order["status"] == "confirmed"

    off = await http.get(f"{grace.portal}/sales-orders", headers=grace.headers)
    assert off.status_code == 403
    await set_preferences(http, gateway, merchant, {"sales_orders": True})

    fulfilled = await admin_post(
        http,
        gateway,
        merchant,
        f"/sales-orders/{order['sales_order_id']}/fulfil",
        {"invoice_id": "inv_external_1", "invoice_number": "INV-00042"},
    )
    assert fulfilled.status_code == 200, fulfilled.text
    listed = await http.get(f"{grace.portal}/sales-orders", headers=grace.headers)
    assert listed.status_code == 200
    assert [o["status"] for o in listed.json()["items"]] == ["fulfilled"]
    one = await http.get(
        f"{grace.portal}/sales-orders/{order['sales_order_id']}", headers=grace.headers
    )
    assert one.json()["invoice"] == {"invoice_id": "inv_external_1", "number": "INV-00042"}
    theirs = await http.get(
        f"{neighbour.portal}/sales-orders/{order['sales_order_id']}", headers=neighbour.headers
    )
    assert theirs.status_code == 404


async def test_a_statement_is_generated_as_json_and_pdf_for_the_customer_only(
    stack: LocalStack, http: httpx.AsyncClient
) -> None:
    shop = await open_shop(http, stack)
    gateway, merchant = shop.gateway, shop.merchant
    grace = await shop.customer("Grace")
    neighbour = await shop.customer("Linus")
    issued = await admin_post(
        http,
        gateway,
        merchant,
        "/credit-notes",
        {"customer_id": grace.customer_id, "lines": LINES[:1]},
    )
    assert issued.status_code == 201, issued.text

    period = {"period_start": "2020-01-01", "period_end": "2029-12-31"}
    bad = await http.post(
        f"{grace.portal}/statements",
        json={"period_start": "2025-03-01", "period_end": "2025-01-01"},
        headers=grace.headers,
    )
    assert bad.status_code == 400
    made = await http.post(f"{grace.portal}/statements", json=period, headers=grace.headers)
    assert made.status_code == 201, made.text
    statement = made.json()
    assert statement["opening_balance_minor"] == 0
    assert statement["credited_minor"] == 90_000
    assert statement["closing_balance_minor"] == -90_000
    assert [line["kind"] for line in statement["lines"]] == ["credit_note"]
    assert set(statement["ageing"]) == {
        "current",
        "days_1_30",
        "days_31_60",
        "days_61_90",
        "over_90",
    }

    pdf = await http.get(f"{gateway}{statement['pdf_url']}", headers=grace.headers)
    assert pdf.status_code == 200
    assert pdf.headers["content-type"].startswith("application/pdf")
    text = PdfReader(io.BytesIO(pdf.content)).pages[0].extract_text()
    assert "Statement of account" in text
    assert "CN-00001" in text
    assert "Closing balance -900.00 USD" in text

    again = await http.get(
        f"{grace.portal}/statements/{statement['statement_id']}", headers=grace.headers
    )
    assert again.json()["closing_balance_minor"] == -90_000
    # Same portal, another customer: neither the statement nor its PDF.
    for url in (
        f"{grace.portal}/statements/{statement['statement_id']}",
        f"{gateway}{statement['pdf_url']}",
    ):
        theirs = await http.get(url, headers=neighbour.headers)
        assert theirs.status_code == 404, url


async def test_forwarding_a_quote_emails_its_pdf_and_makes_the_person_a_contact(
    stack: LocalStack, http: httpx.AsyncClient
) -> None:
    shop = await open_shop(http, stack)
    gateway, mailbox, merchant = shop.gateway, shop.mailbox, shop.merchant
    grace = await shop.customer("Grace")
    quote = await create_quote(http, gateway, merchant, grace.customer_id)
    colleague = f"ada.{uuid.uuid4().hex[:8]}@compilers.example"

    forwarded = await http.post(
        f"{grace.portal}/quotes/{quote['quote_id']}/forward",
        json={"email": colleague, "first_name": "Ada", "last_name": "Lovelace"},
        headers=grace.headers,
    )
    assert forwarded.status_code == 200, forwarded.text
    assert forwarded.json()["document_number"] == quote["number"]

    async def delivered() -> list[dict[str, Any]]:
        return await mail_to(http, mailbox, colleague)

    [message] = await eventually(delivered)
    filename, pdf = await attachment_of(http, mailbox, message)
    assert filename == f"{quote['number']}.pdf"
    text = PdfReader(io.BytesIO(pdf)).pages[0].extract_text()
    assert f"Quote {quote['number']}" in text
    assert "Annual support plan" in text

    async def contact_added() -> bool:
        found = await http.get(
            f"{gateway}/admin/v1/customers/{grace.customer_id}",
            headers={"X-API-Key": merchant["api_key"]},
        )
        return any(c.get("email") == colleague for c in found.json().get("contacts", []))

    await eventually(contact_added)

    await set_preferences(http, gateway, merchant, {"forward_documents": False})
    refused = await http.post(
        f"{grace.portal}/quotes/{quote['quote_id']}/forward",
        json={"email": colleague, "first_name": "Ada"},
        headers=grace.headers,
    )
    assert refused.status_code == 403
