"""Statements and credit notes over the real database, with invoices and payments made by the
invoicing service's own use cases (so the fields a statement reads are the ones they write)."""

from __future__ import annotations

import base64
import io
import json
import uuid
from datetime import timedelta
from typing import Any

import pytest
from pypdf import PdfReader

from invoicing.adapters import document_repositories
from invoicing.service_layer.document_commands import handle_document_command
from portal_contracts import documents as d
from tests.support.invoicing import (
    clock,
    configure,
    fields,
    invoice,
    invoicing,
    open_customer,
    pay,
    pay_command,
    raise_invoice,
    sent,
)

pytestmark = pytest.mark.connected


async def outbox_bodies(ctx: Any, message_type: str, correlation_id: str) -> list[dict[str, Any]]:
    rows = ctx.store.db["outbox"].find({"type": message_type}).sort([("key", 1), ("seq", 1)])
    bodies = [json.loads(row["body"]) async for row in rows]
    return [b for b in bodies if b["correlation_id"] == correlation_id]


async def test_a_statement_adds_up_what_invoicing_recorded_and_reassembles_into_its_pdf(
    mongo_uri: str, database_name: str
) -> None:
    org, customer = f"org_{uuid.uuid4().hex[:8]}", f"cus_{uuid.uuid4().hex[:8]}"
    at = clock()
    start = at.now().date()
    async with invoicing(mongo_uri, database_name, at) as ctx:
        store = ctx.store
        await document_repositories.ensure_indexes(store.db)
        await configure(ctx, org)  # VAT 20%, 14 days to pay
        await open_customer(ctx, org, customer)
        paid_invoice = await raise_invoice(ctx, org, customer, 10_000)  # 120.00 with VAT
        await pay(ctx, pay_command(org, customer, (paid_invoice,)))
        assert (await invoice(ctx, org, paid_invoice))["status"] == "paid"
        credited = await raise_invoice(ctx, org, customer, 5_000)  # 60.00
        at.advance(timedelta(days=50))
        late = await raise_invoice(ctx, org, customer, 2_500)  # 30.00, not due at the end

        note = d.IssueCreditNote(
            **fields(org),
            data=d.NewCreditNote(
                credit_note_id="cn_1",
                customer_id=customer,
                currency="EUR",
                lines=(
                    d.DocumentLine(description="Goodwill", quantity=1, unit_amount_minor=2_000),
                ),
            ),
        )
        assert await handle_document_command(store, note)
        apply = d.ApplyCredit(
            **fields(org),
            data=d.CreditApplication(
                credit_note_id="cn_1", customer_id=customer, invoice_id=credited, amount_minor=2_000
            ),
        )
        await handle_document_command(store, apply)
        assert (await invoice(ctx, org, credited))["balance_minor"] == 4_000
        assert len(await sent(ctx, "CreditApplied", customer_id=customer)) == 1

        ask = d.GenerateStatement(
            **fields(org),
            data=d.StatementRequest(
                statement_id="st_1",
                customer_id=customer,
                period_start=start,
                period_end=start + timedelta(days=60),
                merchant_name="Keller Billing",
            ),
        )
        await handle_document_command(store, ask)
        await handle_document_command(store, ask)  # a redelivery changes nothing

        [summary] = await outbox_bodies(ctx, "StatementGenerated", ask.correlation_id)
        parts = await outbox_bodies(ctx, "StatementPartGenerated", ask.correlation_id)
        data = summary["data"]
        assert data["opening_balance_minor"] == 0
        assert data["invoiced_minor"] == 12_000 + 6_000 + 3_000
        assert data["paid_minor"] == 12_000
        assert data["credited_minor"] == 2_000
        assert data["closing_balance_minor"] == 21_000 - 12_000 - 2_000 == 7_000
        # At the period's end (day 60): the 60.00 invoice (due day 14) is 46 days late with
        # 40.00 left; the one raised on day 50 is not due yet.
        assert data["ageing"] == {
            "current": 3_000,
            "days_1_30": 0,
            "days_31_60": 4_000,
            "days_61_90": 0,
            "over_90": 0,
        }
        assert len(parts) == data["parts"] == 1
        lines = parts[0]["data"]["lines"]
        assert [line["kind"] for line in lines] == [
            "invoice",  # same day: invoices first, then payments
            "invoice",
            "payment",
            "invoice",
            "credit_note",
        ]
        assert lines[-1]["balance_minor"] == 7_000

        pdf = base64.b64decode("".join(p["data"]["pdf_base64"] for p in parts))
        text = PdfReader(io.BytesIO(pdf)).pages[0].extract_text()
        assert "Keller Billing" in text
        assert "Keller Physiotherapie" in text
        assert "Closing balance 70.00 EUR" in text
        assert "CN-00001" in text
        assert late  # raised inside the period, counted above


async def test_a_statement_for_an_unknown_customer_is_refused_as_not_found(
    mongo_uri: str, database_name: str
) -> None:
    org = f"org_{uuid.uuid4().hex[:8]}"
    async with invoicing(mongo_uri, database_name, clock()) as ctx:
        ask = d.GenerateStatement(
            **fields(org),
            data=d.StatementRequest(
                statement_id="st_x",
                customer_id="cus_nobody",
                period_start=ctx.store.clock.now().date(),
                period_end=ctx.store.clock.now().date(),
            ),
        )
        await handle_document_command(ctx.store, ask)

        [refusal] = await sent(ctx, "CommandRejected", customer_id="cus_nobody")
        assert refusal["data"]["kind"] == "not_found"
        assert refusal["correlation_id"] == ask.correlation_id
