"""Driving the invoicing service's use cases against a real database, and reading what it
sent (its outbox), for the invoicing tests."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

from pymongo import AsyncMongoClient

from invoicing.adapters import invoices as invoice_store
from invoicing.adapters import payments as payment_store
from invoicing.adapters.accounts import AccountRepository
from invoicing.adapters.payment_gateway import MongoChargeBook, SandboxGateway
from invoicing.service_layer import invoices, payments
from invoicing.service_layer.accounts import handle_customer_created
from invoicing.service_layer.payments import Payments
from portal_contracts import Actor
from portal_contracts.common import Contact
from portal_contracts.customers import CustomerCreated, CustomerSnapshot
from portal_contracts.invoicing import (
    ConfigureInvoicing,
    CreateInvoice,
    GatewaySetup,
    InvoiceLine,
    InvoicingSetup,
    NewInvoice,
    PayInvoices,
    PaymentRequest,
    Tax,
)
from portal_runtime.clock import MovableClock
from portal_runtime.store import Store

MERCHANT = Actor(kind="merchant", id="key_test")
CONTACT = Actor(kind="contact", id="ct_test")
VAT = Tax(name="VAT", rate_basis_points=2000)


def clock() -> MovableClock:
    return MovableClock(datetime.now(UTC))


@asynccontextmanager
async def invoicing(mongo_uri: str, database: str, at: MovableClock) -> AsyncIterator[Payments]:
    """The invoicing use cases over a fresh database, with the sandbox gateway."""
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongo_uri, tz_aware=True)
    store = Store(client, database, at)
    await store.ensure_indexes()
    await AccountRepository.ensure_indexes(store.db)
    await invoice_store.ensure_indexes(store.db)
    await payment_store.ensure_indexes(store.db)
    charges = MongoChargeBook(store.db)
    await charges.ensure_indexes()
    try:
        yield Payments(store, SandboxGateway(charges, at))
    finally:
        await client.close()


def fields(org: str, actor: Actor = MERCHANT) -> dict[str, Any]:
    return {
        "organisation_id": org,
        "correlation_id": f"req_{uuid.uuid4().hex}",
        "actor": actor,
        "occurred_at": datetime.now(UTC),
    }


async def open_customer(ctx: Payments, org: str, customer_id: str, currency: str = "EUR") -> None:
    await handle_customer_created(
        ctx.store,
        CustomerCreated(
            **fields(org),
            data=CustomerSnapshot(
                customer_id=customer_id,
                display_name="Keller Physiotherapie",
                currency=currency,
                contacts=(
                    Contact(
                        contact_id="ct_1",
                        first_name="Anna",
                        last_name="Keller",
                        email="anna@keller.example",
                        is_primary=True,
                    ),
                ),
                portal_enabled=True,
            ),
        ),
    )


async def configure(
    ctx: Payments, org: str, tax: Tax | None = VAT, gateway: GatewaySetup | None = None
) -> None:
    setup = InvoicingSetup(default_tax=tax, gateway=gateway or GatewaySetup())
    await invoices.configure(ctx.store, ConfigureInvoicing(**fields(org), data=setup))


async def raise_invoice(
    ctx: Payments,
    org: str,
    customer_id: str,
    amount_minor: int = 10_000,
    *,
    currency: str = "EUR",
    allow_partial: bool = False,
) -> str:
    invoice_id = f"inv_{uuid.uuid4().hex[:12]}"
    line = InvoiceLine(
        description="Physiotherapy sessions",
        quantity=1,
        unit_amount_minor=amount_minor,
        amount_minor=amount_minor,
    )
    await invoices.create_invoice(
        ctx.store,
        CreateInvoice(
            **fields(org),
            data=NewInvoice(
                customer_id=customer_id,
                invoice_id=invoice_id,
                currency=currency,
                lines=(line,),
                allow_partial_payments=allow_partial,
            ),
        ),
    )
    return invoice_id


async def invoice_to_pay(
    ctx: Payments, org: str, customer_id: str, amount_minor: int = 10_000
) -> str:
    """A configured merchant, its customer's account and one open invoice: its id."""
    await configure(ctx, org)
    await open_customer(ctx, org, customer_id)
    return await raise_invoice(ctx, org, customer_id, amount_minor)


def pay_command(
    org: str, customer_id: str, invoice_ids: tuple[str, ...], **request: Any
) -> PayInvoices:
    request.setdefault("token", "tok_visa")
    return PayInvoices(
        **fields(org, CONTACT),
        data=PaymentRequest(
            customer_id=customer_id,
            payment_id=f"pay_{uuid.uuid4().hex[:16]}",
            invoice_ids=invoice_ids,
            **request,
        ),
    )


async def pay(ctx: Payments, command: PayInvoices) -> None:
    await payments.pay(ctx, command)


async def sent(ctx: Payments, message_type: str, **data: Any) -> list[dict[str, Any]]:
    """Messages of `message_type` in the outbox whose data has the given values."""
    found = []
    async for row in ctx.store.db["outbox"].find({"type": message_type}).sort("created_at", 1):
        body = json.loads(row["body"])
        if all(body["data"].get(key) == value for key, value in data.items()):
            found.append(body)
    return found


async def invoice(ctx: Payments, org: str, invoice_id: str) -> dict[str, Any]:
    doc = await ctx.store.db["invoices"].find_one({"_id": f"{org}:{invoice_id}"})
    assert doc is not None, f"no invoice {invoice_id}"
    return doc


async def charges_at_sandbox(
    ctx: Payments, org: str, customer_id: str, status: str = "succeeded"
) -> int:
    gateway = ctx.gateway
    assert isinstance(gateway, SandboxGateway)
    return await gateway.count(org, customer_id, status)


# --- through the whole stack (e2e, benchmark) ----------------------------------------------------

PASSWORD = "correct-horse-42"


async def portal_customer(
    http: Any, gateway: str, mailbox: str, merchant: dict[str, Any], first_name: str = "Grace"
) -> dict[str, Any]:
    """A customer of `merchant` whose contact accepted the invitation and signed in:
    {"customer_id", "headers" (bearer), "portal" (the portal API root)}."""
    from tests.support.portal import create_customer, invitation_email, token_from

    email = f"{first_name.lower()}.{uuid.uuid4().hex[:8]}@customer.example"
    created = await create_customer(http, gateway, merchant["api_key"], email, first_name)
    assert created.status_code == 201, created.text
    _, token = token_from(await invitation_email(http, mailbox, email))
    portal = f"{gateway}/portal/{merchant['slug']}/api"
    accepted = await http.post(
        f"{portal}/invitations/accept", json={"token": token, "password": PASSWORD}
    )
    assert accepted.status_code == 200, accepted.text
    session = await http.post(f"{portal}/sessions", json={"email": email, "password": PASSWORD})
    assert session.status_code == 201, session.text
    return {
        "customer_id": created.json()["customer_id"],
        "headers": {"Authorization": f"Bearer {session.json()['access_token']}"},
        "portal": portal,
        "email": email,
    }


async def set_up_invoicing(http: Any, gateway: str, api_key: str, **setup: Any) -> dict[str, Any]:
    setup.setdefault("default_tax", {"name": "VAT", "rate_basis_points": 2000})
    response = await http.put(
        f"{gateway}/admin/v1/invoicing/setup", json=setup, headers={"X-API-Key": api_key}
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def merchant_invoice(
    http: Any, gateway: str, api_key: str, customer_id: str, amount_minor: int = 10_000, **more: Any
) -> Any:
    """The admin API's answer to raising an invoice (201 with the invoice, or a problem)."""
    return await http.post(
        f"{gateway}/admin/v1/customers/{customer_id}/invoices",
        json={
            "lines": [
                {"description": "Consulting", "quantity": 1, "unit_amount_minor": amount_minor}
            ],
            **more,
        },
        headers={"X-API-Key": api_key, "Idempotency-Key": uuid.uuid4().hex},
    )


async def pay_over_http(
    http: Any, customer: dict[str, Any], key: str | None = None, **body: Any
) -> Any:
    body.setdefault("token", "tok_visa")
    headers = dict(customer["headers"])
    headers["Idempotency-Key"] = key or uuid.uuid4().hex
    return await http.post(f"{customer['portal']}/payments", json=body, headers=headers)


def pdf_text(content: bytes) -> str:
    import io

    from pypdf import PdfReader

    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)
