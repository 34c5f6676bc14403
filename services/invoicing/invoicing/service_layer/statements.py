"""Generating a statement of account and handing it to the portal as events.

The history is read and the PDF drawn before the transaction (reads only, no lock held while
drawing 200 pages); the transaction then records the statement and emits its parts and summary
together, once per command (inbox)."""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import logging
import math
from collections.abc import Sequence

from invoicing.adapters.accounts import AccountRepository
from invoicing.adapters.document_repositories import StatementRepository, StatementSource
from invoicing.adapters.invoices import MerchantNames
from invoicing.adapters.statement_pdf import render_statement_pdf
from invoicing.domain.statements import Line, Statement
from invoicing.service_layer.refusals import refuse
from portal_contracts.documents import (
    Ageing,
    GenerateStatement,
    StatementGenerated,
    StatementLine,
    StatementPart,
    StatementPartGenerated,
    StatementSummary,
)
from portal_contracts.topics import CREDIT_EVENTS
from portal_runtime.store import Store, Transaction

CONSUMER = "invoicing.documents"
LINES_PER_PART = 500
PDF_CHARS_PER_PART = 400_000
log = logging.getLogger(__name__)


async def build_statement(
    store: Store,
    organisation_id: str,
    customer_id: str,
    currency: str,
    start: dt.date,
    end: dt.date,
) -> Statement:
    """Stream the customer's history into a statement (one indexed query per kind)."""
    statement = Statement(start, end)
    async for entry in StatementSource(store.db).entries(
        organisation_id, customer_id, currency, end
    ):
        statement.add(entry)
    return statement


def split_into_parts(
    statement_id: str, customer_id: str, lines: Sequence[Line], pdf_base64: str
) -> list[StatementPart]:
    count = max(
        1, math.ceil(len(lines) / LINES_PER_PART), math.ceil(len(pdf_base64) / PDF_CHARS_PER_PART)
    )
    return [
        StatementPart(
            statement_id=statement_id,
            customer_id=customer_id,
            index=i,
            lines=tuple(
                StatementLine(
                    date=line.date,
                    kind=line.kind,
                    reference=line.reference,
                    amount_minor=line.amount_minor,
                    balance_minor=line.balance_minor,
                )
                for line in lines[i * LINES_PER_PART : (i + 1) * LINES_PER_PART]
            ),
            pdf_base64=pdf_base64[i * PDF_CHARS_PER_PART : (i + 1) * PDF_CHARS_PER_PART],
        )
        for i in range(count)
    ]


async def generate_statement(store: Store, command: GenerateStatement) -> None:
    ask = command.data
    org = command.organisation_id
    account = await AccountRepository(store.db).get(org, ask.customer_id)
    if account is None or ask.period_end < ask.period_start:

        async def refusal(tx: Transaction) -> None:
            now = store.clock.now()
            if account is None:
                reason = "there is no account for this customer"
                await refuse(
                    tx,
                    CREDIT_EVENTS,
                    command,
                    ask.customer_id,
                    "customer_not_found",
                    reason,
                    "not_found",
                    now,
                )
            else:
                reason = "the period ends before it starts"
                await refuse(
                    tx,
                    CREDIT_EVENTS,
                    command,
                    ask.customer_id,
                    "invalid_period",
                    reason,
                    "invalid",
                    now,
                )

        await store.transaction(refusal, handling=(CONSUMER, command))
        return
    statement = await build_statement(
        store, org, ask.customer_id, account.currency, ask.period_start, ask.period_end
    )
    merchant_name = ask.merchant_name or await MerchantNames(store.db).name(org)
    pdf = await asyncio.to_thread(
        render_statement_pdf, statement, account.currency, merchant_name, account.billing_name
    )
    parts = split_into_parts(
        ask.statement_id, ask.customer_id, statement.lines, base64.b64encode(pdf).decode()
    )
    now = store.clock.now()
    totals = statement.totals
    summary = StatementSummary(
        statement_id=ask.statement_id,
        customer_id=ask.customer_id,
        period_start=ask.period_start,
        period_end=ask.period_end,
        currency=account.currency,
        opening_balance_minor=statement.opening_balance_minor,
        invoiced_minor=totals["invoice"],
        paid_minor=totals["payment"],
        credited_minor=totals["credit_note"],
        refunded_minor=totals["refund"],
        closing_balance_minor=statement.closing_balance_minor,
        ageing=Ageing(**statement.ageing),
        line_count=len(statement.lines),
        parts=len(parts),
        generated_at=now,
    )

    async def work(tx: Transaction) -> None:
        await StatementRepository(tx.db, tx.session).save(
            {"organisation_id": org, **summary.model_dump(mode="json"), "pdf_bytes": len(pdf)}
        )
        follow = command.follow_up()
        # Parts first, summary last: same key, same topic, so the portal has every part when
        # the summary (the command's outcome) arrives.
        for part in parts:
            await tx.emit(
                CREDIT_EVENTS, StatementPartGenerated(**follow, occurred_at=now, data=part)
            )
        await tx.emit(CREDIT_EVENTS, StatementGenerated(**follow, occurred_at=now, data=summary))

    await store.transaction(work, handling=(CONSUMER, command))
    log.info("statement %s: %d lines, %d parts", ask.statement_id, len(statement.lines), len(parts))
