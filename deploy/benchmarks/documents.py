"""Statement of account for a customer with 10,000 transactions.

The customer is made through the public APIs; its history (invoices, payments, credit notes
over two years, in the shapes the invoicing service writes them) is written straight into the
invoicing database. Then the customer asks the portal for a statement of the whole period a few
times: each request goes gateway -> `GenerateStatement` -> invoicing (one indexed query per
kind, streamed; the PDF drawn) -> parts and summary as events -> the gateway's read model ->
the answer; the PDF is then downloaded from the gateway. Reported: p50/p99 of the request (JSON
ready) and of request + PDF download; and, in this process against the same database, the read
and the PDF drawing separately, with the rows read per second against the raw `find` rate.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
from pymongo import AsyncMongoClient

from deploy.benchmarks._client import answer, register_merchant, signed_in_customer
from deploy.benchmarks._measuring import latency_summary
from deploy.local.stack import LocalStack
from invoicing.adapters.document_repositories import StatementSource
from invoicing.adapters.statement_pdf import render_statement_pdf
from invoicing.domain.statements import Statement

DATABASE = "invoicing"
TRANSACTIONS = 10_000
DAYS = 730
DUE = timedelta(days=14)
ACCOUNT_TIMEOUT_SECONDS = 60.0
POLL_SECONDS = 0.5
STATEMENT_TIMEOUT_SECONDS = 300.0


def history(org: str, customer: str, currency: str, today: date) -> dict[str, list[dict[str, Any]]]:
    """Half invoices, 40% payments, 10% credit notes, spread over two years."""
    first = datetime.combine(today - timedelta(days=DAYS), datetime.min.time(), UTC)
    now = datetime.now(UTC)
    invoices, payments, credits = [], [], []
    for i in range(TRANSACTIONS):
        at = first + timedelta(minutes=i * DAYS * 24 * 60 // TRANSACTIONS)
        amount = 1_000 + (i * 7919) % 90_000
        scope = {"organisation_id": org, "customer_id": customer, "currency": currency}
        kind = i % 10
        if kind < 5:
            invoice_id = f"inv_b{i}"
            invoices.append(
                {
                    "_id": f"{org}:{invoice_id}",
                    **scope,
                    "invoice_id": invoice_id,
                    "number": f"INV-{i:06d}",
                    # Unpaid and past due is "overdue", as invoicing's clock would have made
                    # it; seeded as "sent", thousands of invoices would be marked overdue one
                    # transaction and event at a time for many minutes after this area.
                    "status": "paid" if i % 3 else ("overdue" if at + DUE < now else "sent"),
                    "lines": [
                        {
                            "description": "Subscription",
                            "quantity": 1,
                            "unit_amount_minor": amount,
                            "amount_minor": amount,
                        }
                    ],
                    "discount_minor": 0,
                    "tax": {"name": "VAT", "rate_basis_points": 0},
                    "issued_at": at,
                    "due_at": at + DUE,
                    "allow_partial_payments": False,
                    "amount_paid_minor": amount if i % 3 else 0,
                    "total_minor": amount,
                    "balance_minor": 0 if i % 3 else amount,
                }
            )
        elif kind < 9:
            payment_id = f"pay_b{i}"
            payments.append(
                {
                    "_id": f"{org}:{payment_id}",
                    **scope,
                    "payment_id": payment_id,
                    "number": f"PAY-{i:06d}",
                    "status": "succeeded",
                    "amount_minor": amount,
                    "method": {"kind": "card", "brand": "visa", "last4": "4242"},
                    "allocations": [],
                    "created_at": at,
                    "settled_at": at,
                }
            )
        else:
            credits.append(
                {
                    **scope,
                    "credit_note_id": f"cn_b{i}",
                    "number": f"CN-{i:06d}",
                    "lines": [
                        {"description": "Credit", "quantity": 1, "unit_amount_minor": amount}
                    ],
                    "total_minor": amount,
                    "issued_at": at,
                    "reason": "",
                    "applications": [],
                    "refunds": [],
                    "available_minor": amount,
                    "status": "open",
                }
            )
    return {"invoices": invoices, "payments": payments, "credit_notes": credits}


async def wait_for_account(db: Any, customer: str) -> dict[str, Any]:
    """Invoicing opens the account from `CustomerCreated` (customer ids are unique)."""
    deadline = time.monotonic() + ACCOUNT_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        account = await db["customer_accounts"].find_one({"customer_id": customer})
        if account:
            return dict(account)
        await asyncio.sleep(0.1)
    raise TimeoutError("invoicing never opened the customer's account")


async def portal_statement(
    http: httpx.AsyncClient, portal: str, auth: dict[str, str], period: dict[str, str]
) -> tuple[float, float, dict[str, Any]]:
    """(seconds until the JSON is ready, seconds until the PDF is downloaded, the JSON)."""
    began = time.perf_counter()
    response = await http.post(
        f"{portal}/statements", json=period, headers=auth, timeout=STATEMENT_TIMEOUT_SECONDS
    )
    body = answer(response, 201, 202)
    deadline = began + STATEMENT_TIMEOUT_SECONDS
    while response.status_code == 202 and time.perf_counter() < deadline:
        await asyncio.sleep(POLL_SECONDS)
        response = await http.get(f"{portal}/statements/{body['statement_id']}", headers=auth)
        body = answer(response, 200, 202)
    ready = time.perf_counter() - began
    pdf = await http.get(f"{portal}/statements/{body['statement_id']}/pdf", headers=auth)
    if pdf.status_code != 200 or not pdf.content.startswith(b"%PDF"):
        raise RuntimeError(f"statement PDF: {pdf.status_code}")
    return ready, time.perf_counter() - began, body


async def measure(
    stack: LocalStack, http: httpx.AsyncClient, raw: dict[str, float], scale: int
) -> dict[str, Any]:
    runs = max(3, min(scale, 20))
    merchant = await register_merchant(stack, http)
    customer = await signed_in_customer(stack, http, merchant)
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(stack.mongo_uri, tz_aware=True)
    try:
        db = client[DATABASE]
        portal = f"{stack.urls.gateway}/portal/{merchant.slug}/api"
        account = await wait_for_account(db, customer.customer_id)
        org, currency = str(account["organisation_id"]), str(account["currency"])
        today = datetime.now(UTC).date()
        seeded = history(org, customer.customer_id, currency, today)
        began = time.perf_counter()
        for name, documents in seeded.items():
            for offset in range(0, len(documents), 1000):
                await db[name].insert_many(documents[offset : offset + 1000], ordered=False)
        seed_s = time.perf_counter() - began

        period = {
            "period_start": (today - timedelta(days=DAYS // 2)).isoformat(),
            "period_end": today.isoformat(),
        }
        # The work invoicing does, in this process first, split into its two halves.
        read_s, draw_s, pages_bytes = [], [], 0
        start, end = date.fromisoformat(period["period_start"]), today
        for _ in range(runs):
            t0 = time.perf_counter()
            statement = Statement(start, end)
            rows = 0
            source = StatementSource(db)
            async for entry in source.entries(org, customer.customer_id, currency, end):
                statement.add(entry)
                rows += 1
            _ = statement.lines
            t1 = time.perf_counter()
            pdf = render_statement_pdf(statement, currency, "Bench", "Bench Customer")
            read_s.append(t1 - t0)
            draw_s.append(time.perf_counter() - t1)
            pages_bytes = len(pdf)
        ready, downloaded, lines = [], [], 0
        for _ in range(runs):
            json_s, pdf_s, body = await portal_statement(http, portal, customer.auth, period)
            ready.append(json_s)
            downloaded.append(pdf_s)
            lines = int(body.get("line_count", 0))

        read_p50 = sorted(read_s)[len(read_s) // 2]
        rows_per_s = rows / read_p50 if read_p50 else 0.0
        find_per_s = raw.get("mongo_find_per_s") or 0.0
        return {
            "transactions": TRANSACTIONS,
            "runs": runs,
            "seed_seconds": round(seed_s, 3),
            "statement_lines_in_period": lines,
            "pdf_bytes": pages_bytes,
            "portal_statement_json": latency_summary(ready),
            "portal_statement_with_pdf": latency_summary(downloaded),
            "in_process_read": latency_summary(read_s),
            "in_process_pdf": latency_summary(draw_s),
            "rows_read_per_s": round(rows_per_s),
            "rows_read_vs_raw_find": round(rows_per_s / find_per_s, 2) if find_per_s else None,
            "ok": True,
            "history_documents_read": rows,
        }
    finally:
        await client.close()
