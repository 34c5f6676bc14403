"""Secure public links through the whole local stack: the merchant shares an invoice or a quote;
whoever holds the link sees it (behind a one-time code from the real mailbox when the merchant
asks for identity verification), pays the invoice or answers the quote without a code; revoked,
expired and unknown links are refused; nothing crosses to another customer or merchant."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from deploy.local.stack import LocalStack
from portal_gateway.domain.public_links import code_digest
from tests.support.documents import create_quote, signed_in_customer
from tests.support.invoicing import merchant_invoice, pdf_text, portal_customer, set_up_invoicing
from tests.support.portal import register_merchant
from tests.support.public_links import (
    codes_sent_to,
    long_ago,
    next_code,
    set_link_preferences,
    share,
    shared,
    with_gateway_db,
)
from tests.support.waiting import eventually

pytestmark = pytest.mark.e2e


async def merchant_with_invoice(
    stack: LocalStack, http: httpx.AsyncClient, name: str = "Orbit Software"
) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    gateway = stack.urls["gateway"]
    merchant = await register_merchant(http, gateway, stack.operator_token, name)
    await set_up_invoicing(http, gateway, merchant["api_key"])
    customer = await portal_customer(http, gateway, stack.urls["mailbox"], merchant)
    created = await merchant_invoice(
        http, gateway, merchant["api_key"], customer["customer_id"], 12_500
    )
    assert created.status_code == 201, created.text
    return merchant, customer, created.json()


async def pdf_of(http: httpx.AsyncClient, url: str, headers: dict[str, str] | None = None) -> str:
    async def ready() -> str | None:
        response = await http.get(f"{url}/pdf", headers=headers or {})
        return pdf_text(response.content) if response.status_code == 200 else None

    return await eventually(ready)


async def test_a_shared_invoice_is_seen_downloaded_and_paid_without_verification(
    stack: LocalStack, http: httpx.AsyncClient
) -> None:
    merchant, customer, invoice = await merchant_with_invoice(stack, http)
    link = await shared(http, stack.urls["gateway"], merchant, "invoice", invoice["invoice_id"])
    assert not {"token", "token_digest"} & set(link)
    url = link["url"]

    summary = (await http.get(url)).json()
    assert summary["number"] == invoice["number"]
    assert (summary["amount_due_minor"], summary["currency"]) == (15_000, invoice["currency"])
    assert summary["verification_required"] is False
    document = await http.get(f"{url}/document")
    assert document.status_code == 200, document.text
    assert document.json()["invoice_id"] == invoice["invoice_id"]
    assert "customer_id" not in document.json()
    assert invoice["number"] in await pdf_of(http, url)

    assert (await http.post(f"{url}/code")).status_code == 409
    no_key = await http.post(f"{url}/pay", json={"token": "tok_visa"})
    assert no_key.status_code == 400
    key = {"Idempotency-Key": uuid.uuid4().hex}
    paid = await http.post(f"{url}/pay", json={"token": "tok_visa"}, headers=key)
    assert paid.status_code == 201, paid.text
    assert paid.json()["status"] == "succeeded"
    again = await http.post(f"{url}/pay", json={"token": "tok_visa"}, headers=key)
    assert again.json()["payment_id"] == paid.json()["payment_id"]

    async def settled() -> bool:
        now = (await http.get(url)).json()
        return bool(now["status"] == "paid" and now["amount_due_minor"] == 0)

    await eventually(settled)

    # The merchant's portal activity report shows what happened through the link.
    async def in_activity() -> set[str] | None:
        report = await http.get(
            f"{stack.urls['gateway']}/admin/v1/portal-activity",
            params={"customer_id": customer["customer_id"]},
            headers={"X-API-Key": merchant["api_key"]},
        )
        actions = {r["action"] for r in report.json()["recent"]}
        wanted = {"public_link.view", "public_link.download", "public_link.pay"}
        return actions if wanted <= actions else None

    await eventually(in_activity)


async def test_with_identity_verification_the_document_needs_a_code_from_the_mailbox(
    stack: LocalStack, http: httpx.AsyncClient
) -> None:
    gateway, mailbox = stack.urls["gateway"], stack.urls["mailbox"]
    merchant, customer, invoice = await merchant_with_invoice(stack, http)
    await set_link_preferences(http, gateway, merchant, verify_identity=True)
    link = await shared(http, gateway, merchant, "invoice", invoice["invoice_id"])
    other = await shared(http, gateway, merchant, "invoice", invoice["invoice_id"])
    url = link["url"]

    refused = await http.get(f"{url}/document")
    assert (refused.status_code, refused.json()["code"]) == (401, "verification_required")
    assert (await http.get(f"{url}/pdf")).status_code == 401
    summary = (await http.get(url)).json()
    assert summary["verification_required"] is True
    assert set(summary) >= {"number", "amount_due_minor", "currency"}
    assert "lines" not in summary

    seen = len(await codes_sent_to(http, mailbox, customer["email"]))
    asked = await http.post(f"{url}/code")
    assert asked.status_code == 202, asked.text
    assert customer["email"] not in asked.text
    code = await next_code(http, mailbox, customer["email"], seen)
    too_soon = await http.post(f"{url}/code")
    assert too_soon.status_code == 429
    assert int(too_soon.headers["Retry-After"]) > 0

    wrong = "000000" if code != "000000" else "111111"
    first = await http.post(f"{url}/verify", json={"code": wrong})
    second = await http.post(f"{url}/verify", json={"code": wrong})
    assert (first.status_code, first.json()["tries_left"]) == (401, 4)
    assert (second.status_code, second.json()["tries_left"]) == (401, 3)

    verified = await http.post(f"{url}/verify", json={"code": code})
    assert verified.status_code == 200, verified.text
    grant = {"X-Link-Grant": verified.json()["grant"]}
    document = await http.get(f"{url}/document", headers=grant)
    assert document.status_code == 200, document.text
    assert document.json()["number"] == invoice["number"]
    assert invoice["number"] in await pdf_of(http, url, grant)
    # The grant opens this link only.
    assert (await http.get(f"{other['url']}/document", headers=grant)).status_code == 401
    reused = await http.post(f"{url}/verify", json={"code": code})
    assert (reused.status_code, reused.json()["code"]) == (401, "code_used")

    # An expired code and a code whose tries ran out, planted straight in the database.
    async def plant(db: Any, tries_left: int, expired: bool, day: int) -> None:
        code_id = f"otc_{uuid.uuid4().hex[:20]}"
        await db["public_link_codes"].insert_one(
            {
                "_id": code_id,
                "link_id": link["link_id"],
                "digest": code_digest(code_id, "424242"),
                "created_at": datetime(2100, 1, day, tzinfo=UTC),
                "expires_at": long_ago() if expired else long_ago().replace(year=2100),
                "tries_left": tries_left,
                "used_at": None,
            }
        )

    await with_gateway_db(stack.mongo_uri, lambda db: plant(db, 5, expired=True, day=1))
    expired = await http.post(f"{url}/verify", json={"code": "424242"})
    assert (expired.status_code, expired.json()["code"]) == (401, "code_expired")
    await with_gateway_db(stack.mongo_uri, lambda db: plant(db, 1, expired=False, day=2))
    last_try = await http.post(f"{url}/verify", json={"code": "999999"})
    assert last_try.status_code == 429
    burnt = await http.post(f"{url}/verify", json={"code": "424242"})
    assert burnt.status_code == 429

    # Paying needs no code.
    paid = await http.post(
        f"{other['url']}/pay",
        json={"token": "tok_visa"},
        headers={"Idempotency-Key": uuid.uuid4().hex},
    )
    assert paid.status_code == 201, paid.text


async def test_a_shared_quote_is_accepted_or_declined_through_its_link(
    stack: LocalStack, http: httpx.AsyncClient
) -> None:
    gateway, mailbox = stack.urls["gateway"], stack.urls["mailbox"]
    merchant = await register_merchant(http, gateway, stack.operator_token, "Quote Works")
    await set_link_preferences(http, gateway, merchant, verify_identity=True)
    grace = await signed_in_customer(http, gateway, mailbox, merchant, "Grace")
    first = await create_quote(http, gateway, merchant, grace.customer_id)
    second = await create_quote(http, gateway, merchant, grace.customer_id)
    first_url = (await shared(http, gateway, merchant, "quote", first["quote_id"]))["url"]
    second_url = (await shared(http, gateway, merchant, "quote", second["quote_id"]))["url"]

    summary = (await http.get(first_url)).json()
    assert (summary["number"], summary["total_minor"]) == (first["number"], 102_050)
    accepted = await http.post(first_url + "/accept")
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["status"] == "accepted"
    assert (await http.post(first_url + "/accept")).status_code == 409
    cannot_pay = await http.post(
        first_url + "/pay", json={"token": "tok_visa"}, headers={"Idempotency-Key": "k1"}
    )
    assert cannot_pay.status_code == 409

    declined = await http.post(second_url + "/decline", json={"reason": "Too expensive"})
    assert declined.status_code == 200, declined.text
    assert declined.json()["status"] == "declined"
    seen_in_portal = await http.get(
        f"{grace.portal}/quotes/{first['quote_id']}", headers=grace.headers
    )
    assert seen_in_portal.json()["status"] == "accepted"


async def test_revoked_expired_unknown_and_switched_off_links_are_refused(
    stack: LocalStack, http: httpx.AsyncClient
) -> None:
    gateway = stack.urls["gateway"]
    merchant, _, invoice = await merchant_with_invoice(stack, http)
    revoked = await shared(http, gateway, merchant, "invoice", invoice["invoice_id"])
    aged = await shared(http, gateway, merchant, "invoice", invoice["invoice_id"])
    kept = await shared(http, gateway, merchant, "invoice", invoice["invoice_id"])
    api_key = {"X-API-Key": merchant["api_key"]}

    withdrawn = await http.post(
        f"{gateway}/admin/v1/public-links/{revoked['link_id']}/revoke", headers=api_key
    )
    assert (withdrawn.status_code, withdrawn.json()["state"]) == (200, "revoked")
    gone = await http.get(revoked["url"])
    assert (gone.status_code, gone.json()["code"]) == (410, "link_revoked")
    pay_gone = await http.post(
        f"{revoked['url']}/pay", json={"token": "tok_visa"}, headers={"Idempotency-Key": "x1"}
    )
    assert pay_gone.status_code == 410

    async def age(db: Any) -> None:
        await db["public_links"].update_one(
            {"_id": aged["link_id"]}, {"$set": {"expires_at": long_ago()}}
        )

    await with_gateway_db(stack.mongo_uri, age)
    expired = await http.get(aged["url"])
    assert (expired.status_code, expired.json()["code"]) == (410, "link_expired")

    token = kept["url"].rsplit("/", 1)[1]
    tampered = kept["url"][: -len(token)] + ("A" if token[0] != "A" else "B") + token[1:]
    assert (await http.get(tampered)).status_code == 404
    assert (await http.get(f"{gateway}/public/v1/links/{uuid.uuid4().hex}")).status_code == 404

    listed = await http.get(
        f"{gateway}/admin/v1/public-links",
        params={"document_kind": "invoice", "document_id": invoice["invoice_id"]},
        headers=api_key,
    )
    states = {item["link_id"]: item["state"] for item in listed.json()["items"]}
    assert states == {
        revoked["link_id"]: "revoked",
        aged["link_id"]: "expired",
        kept["link_id"]: "active",
    }
    short = await share(
        http, gateway, merchant, "invoice", invoice["invoice_id"], expires_in_days=3
    )
    assert short.json()["expires_at"] is not None

    await set_link_preferences(http, gateway, merchant, enabled=False)
    assert (await http.get(kept["url"])).status_code == 404
    refused = await share(http, gateway, merchant, "invoice", invoice["invoice_id"])
    assert refused.status_code == 403


async def test_links_never_cross_to_another_customer_or_merchant(
    stack: LocalStack, http: httpx.AsyncClient
) -> None:
    gateway, mailbox = stack.urls["gateway"], stack.urls["mailbox"]
    merchant_a, _, invoice_a = await merchant_with_invoice(stack, http, "Alpha Ltd")
    other_customer = await portal_customer(http, gateway, mailbox, merchant_a, "Ada")
    other_invoice = await merchant_invoice(
        http, gateway, merchant_a["api_key"], other_customer["customer_id"], 999
    )
    assert other_invoice.status_code == 201
    merchant_b, _, invoice_b = await merchant_with_invoice(stack, http, "Beta Ltd")
    link = await shared(http, gateway, merchant_a, "invoice", invoice_a["invoice_id"])

    document = (await http.get(f"{link['url']}/document")).json()
    assert document["invoice_id"] == invoice_a["invoice_id"]
    assert document["number"] == invoice_a["number"]
    assert other_invoice.json()["invoice_id"] not in str(document)

    b_key = {"X-API-Key": merchant_b["api_key"]}
    listed = await http.get(
        f"{gateway}/admin/v1/public-links",
        params={"document_kind": "invoice", "document_id": invoice_a["invoice_id"]},
        headers=b_key,
    )
    assert (listed.status_code, listed.json()["items"]) == (200, [])
    revoke = await http.post(
        f"{gateway}/admin/v1/public-links/{link['link_id']}/revoke", headers=b_key
    )
    assert revoke.status_code == 404
    assert (await http.get(link["url"])).status_code == 200
    stolen = await share(http, gateway, merchant_b, "invoice", invoice_a["invoice_id"])
    assert stolen.status_code == 404
    no_key = await http.get(
        f"{gateway}/admin/v1/public-links",
        params={"document_kind": "invoice", "document_id": invoice_b["invoice_id"]},
    )
    assert no_key.status_code == 401
