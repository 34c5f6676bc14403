"""Two merchants and three signed-in customers, where one customer (A1) owns a real document
of every kind, for the tests that try every route as someone else (tenant isolation) and
with modules turned off."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx
import jwt
from pymongo import AsyncMongoClient

from deploy.local.stack import LocalStack
from tests.support.documents import LINES, SignedIn, admin_post, create_quote, signed_in_customer
from tests.support.invoicing import merchant_invoice, pay_over_http, set_up_invoicing
from tests.support.portal import register_merchant
from tests.support.projects import create_project, log_time, submit_timesheet
from tests.support.settings import change_preferences
from tests.support.subscriptions import BASIC, PRO
from tests.support.waiting import eventually

# Every preference that gates a module or an action, turned on (so a refusal seen by another
# customer comes from the ownership check, not from a switched-off module).
EVERYTHING_ON: dict[str, dict[str, Any]] = {
    "portal": {
        "add_payment_methods": True,
        "self_sign_up": True,
        "share_documents": True,
        "forward_documents": True,
        "bulk_payments": True,
        "reviews": True,
        "credit_notes": True,
        "sales_orders": True,
        "projects_and_timesheets": True,
    },
    "trials": {"extend_trials": True, "activate_trials": True},
    "cancellations": {"cancel": True, "reactivate": True, "remove_scheduled_cancellation": True},
    "pause_and_resume": {"pause": True, "resume": True},
    "payments": {"toggle_autocharge": True, "remove_payment_method": True},
    "advanced": {
        "remove_end_of_term_changes": True,
        "change_plan": True,
        "change_plan_quantity": True,
        "manage_addons": True,
        "addon_quantities": True,
        "coupons": True,
    },
}

# The same preferences turned off: every module they gate must be unreachable.
EVERYTHING_OFF: dict[str, dict[str, Any]] = {
    section: dict.fromkeys(flags, False) for section, flags in EVERYTHING_ON.items()
}


@dataclass
class Customer:
    """A signed-in contact of a customer, with the merchant whose portal it belongs to."""

    merchant: dict[str, Any]
    who: SignedIn
    contact_id: str
    session_id: str
    first_name: str

    @property
    def headers(self) -> dict[str, str]:
        return self.who.headers

    @property
    def customer_id(self) -> str:
        return self.who.customer_id


@dataclass
class Tenants:
    """Merchant A (customers A1, A2) and merchant B (customer B1); `ids` names A1's real
    documents by the route parameter that carries them, `secrets` is everything that
    identifies A1 (ids, numbers, email, names)."""

    gateway: str
    a: dict[str, Any]
    b: dict[str, Any]
    a1: Customer
    a2: Customer
    b1: Customer
    ids: dict[str, str] = field(default_factory=dict)
    secrets: set[str] = field(default_factory=set)


async def prefer(
    http: httpx.AsyncClient, gateway: str, merchant: dict[str, Any], prefs: dict[str, Any]
) -> None:
    response = await change_preferences(http, gateway, merchant["api_key"], **prefs)
    assert response.status_code == 200, response.text


async def _merchant(http: httpx.AsyncClient, stack: LocalStack, name: str) -> dict[str, Any]:
    gateway = stack.urls["gateway"]
    merchant = await register_merchant(http, gateway, stack.operator_token, name)
    await set_up_invoicing(http, gateway, merchant["api_key"])
    await prefer(http, gateway, merchant, EVERYTHING_ON)
    admin = {"X-API-Key": merchant["api_key"]}
    for kind, item in (("plans", BASIC), ("plans", PRO)):
        body = item.model_dump(mode="json", exclude={"item_type"})
        body["price"]["currency"] = merchant.get("currency", "USD")
        made = await http.post(f"{gateway}/admin/v1/catalogue/{kind}", json=body, headers=admin)
        assert made.status_code == 201, made.text
    return merchant


async def _customer(
    http: httpx.AsyncClient, stack: LocalStack, merchant: dict[str, Any], first_name: str
) -> Customer:
    gateway = stack.urls["gateway"]
    who = await signed_in_customer(http, gateway, stack.urls["mailbox"], merchant, first_name)
    details = await http.get(
        f"{gateway}/admin/v1/customers/{who.customer_id}",
        headers={"X-API-Key": merchant["api_key"]},
    )
    assert details.status_code == 200, details.text
    contact_id = details.json()["contacts"][0]["contact_id"]
    claims = jwt.decode(who.token, options={"verify_signature": False})
    return Customer(merchant, who, contact_id, str(claims["sid"]), first_name)


def _distinct_name(prefix: str) -> str:
    """A first name nobody else has, so finding it in an answer means a leak."""
    return prefix + "".join(chr(ord("a") + int(c, 16) % 26) for c in uuid.uuid4().hex[:8])


async def tenants(http: httpx.AsyncClient, stack: LocalStack) -> Tenants:
    """Set up both merchants; A1 gets an invoice (paid, with a saved card), an open invoice, a
    quote, a credit note, a sales order, a subscription, a statement and a review."""
    gateway = stack.urls["gateway"]
    a, b = await asyncio.gather(_merchant(http, stack, "Alpha"), _merchant(http, stack, "Beta"))
    a1, a2, b1 = await asyncio.gather(
        _customer(http, stack, a, _distinct_name("Aone")),
        _customer(http, stack, a, _distinct_name("Atwo")),
        _customer(http, stack, b, _distinct_name("Bone")),
    )
    key = a["api_key"]
    admin = {"X-API-Key": key}
    cid = a1.customer_id
    paid, open_, quote, note, order, sub, endpoint = await asyncio.gather(
        merchant_invoice(http, gateway, key, cid, 10_000),
        merchant_invoice(http, gateway, key, cid, 20_000),
        create_quote(http, gateway, a, cid),
        admin_post(http, gateway, a, "/credit-notes", {"customer_id": cid, "lines": LINES[:1]}),
        admin_post(http, gateway, a, "/sales-orders", {"customer_id": cid, "lines": LINES}),
        admin_post(http, gateway, a, "/subscriptions", {"customer_id": cid, "plan_code": "basic"}),
        admin_post(
            http, gateway, a, "/webhooks/endpoints", {"url": "https://hooks.alpha.example/in"}
        ),
    )
    for made in (paid, open_, note, order, sub, endpoint):
        assert made.status_code == 201, made.text
    portal = {"customer": {"customer_id": cid}, "headers": a1.headers, "portal": a1.who.portal}
    payment = await pay_over_http(http, portal, invoice_ids=[paid.json()["invoice_id"]])
    assert payment.status_code == 201, payment.text
    statement, review = await asyncio.gather(
        http.post(
            f"{a1.who.portal}/statements",
            json={"period_start": "2020-01-01", "period_end": "2029-12-31"},
            headers=a1.headers,
        ),
        http.post(
            f"{a1.who.portal}/reviews",
            json={"rating": 5, "text": "Alpha is great"},
            headers=a1.headers,
        ),
    )
    assert statement.status_code == 201, statement.text
    assert review.status_code in (201, 202), review.text

    async def saved_card() -> str | None:
        listed = await http.get(f"{a1.who.portal}/payment-methods", headers=a1.headers)
        items = listed.json().get("items") or []
        return str(items[0]["payment_method_id"]) if items else None

    async def a_delivery() -> str | None:
        listed = await http.get(f"{gateway}/admin/v1/webhooks/deliveries", headers=admin)
        found = listed.json().get("deliveries") or []
        return str(found[0]["delivery_id"]) if found else None

    card, delivery = await asyncio.gather(eventually(saved_card), eventually(a_delivery))
    link = await admin_post(
        http,
        gateway,
        a,
        "/public-links/",
        {"document_kind": "invoice", "document_id": open_.json()["invoice_id"]},
    )
    assert link.status_code == 201, link.text
    project = await create_project(http, gateway, a, cid)
    await log_time(http, gateway, a, project["project_id"], 60)
    timesheet = await submit_timesheet(http, gateway, a, project["project_id"])
    command_id = await _a_command_of(stack, a1)
    ids = {
        "customer_id": cid,
        "contact_id": a1.contact_id,
        "session_id": a1.session_id,
        "invoice_id": open_.json()["invoice_id"],
        "payment_id": payment.json()["payment_id"],
        "payment_method_id": card,
        "quote_id": quote["quote_id"],
        "credit_note_id": note.json()["credit_note_id"],
        "sales_order_id": order.json()["sales_order_id"],
        "subscription_id": sub.json()["subscription_id"],
        "statement_id": statement.json()["statement_id"],
        "command_id": command_id,
        "request_id": command_id,
        "endpoint_id": endpoint.json()["endpoint_id"],
        "delivery_id": delivery,
        "link_id": link.json()["link_id"],
        "project_id": project["project_id"],
        "timesheet_id": timesheet["timesheet_id"],
        # in bodies: the document a merchant shares as a public link
        "document_id": open_.json()["invoice_id"],
    }
    secrets = set(ids.values()) | {a1.who.email, a1.first_name, paid.json()["invoice_id"]}
    secrets |= {quote["number"], note.json()["number"], order.json()["number"]}
    secrets |= {paid.json()["number"], open_.json()["number"], link.json()["url"]}
    return Tenants(gateway, a, b, a1, a2, b1, ids, secrets)


async def _a_command_of(stack: LocalStack, customer: Customer) -> str:
    """One command the gateway recorded for the customer (a payment request's id)."""
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(stack.mongo_uri)
    try:
        found = await client["portal_gateway"]["commands"].find_one(
            {"customer_id": customer.customer_id}
        )
    finally:
        await client.close()
    assert found is not None, "the gateway recorded no command for A1"
    return str(found["_id"])
