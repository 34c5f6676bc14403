"""Changes to an invoice leave the service together: the new state, its PDF, the balance."""

from __future__ import annotations

import base64
from typing import Any

from invoicing.adapters.accounts import AccountRepository
from invoicing.adapters.invoice_pdf import (
    PdfLine,
    PdfTotal,
    ReceiptInvoice,
    render_invoice_pdf,
    render_receipt_pdf,
)
from invoicing.adapters.invoices import InvoiceRepository, MerchantNames
from invoicing.domain.invoices import Invoice
from portal_contracts.common import Money
from portal_contracts.invoicing import (
    AccountBalanceChanged,
    DocumentRendered,
    InvoiceIssued,
    InvoiceUpdated,
    PaymentSnapshot,
    RenderedDocument,
)
from portal_contracts.topics import INVOICE_EVENTS, INVOICING_ACCOUNT_EVENTS
from portal_runtime.store import Transaction

Cause = dict[str, Any]
"""Envelope fields of the message that caused a change: organisation, correlation, cause."""


async def customer_name(tx: Transaction, organisation_id: str, customer_id: str) -> str:
    account = await AccountRepository(tx.db, tx.session).get(organisation_id, customer_id)
    return account.billing_name if account else customer_id


def invoice_pdf(invoice: Invoice, merchant_name: str, customer: str) -> bytes:
    totals = [PdfTotal("Subtotal", invoice.subtotal_minor)]
    if invoice.discount_minor:
        totals.append(PdfTotal("Discount", -invoice.discount_minor))
    rate = invoice.tax.rate_basis_points / 100
    totals.append(PdfTotal(f"{invoice.tax.name} ({rate:g}%)", invoice.tax_minor))
    totals.append(PdfTotal("Total", invoice.total_minor))
    if invoice.amount_paid_minor:
        totals.append(PdfTotal("Paid", -invoice.amount_paid_minor))
    totals.append(PdfTotal("Balance due", invoice.balance_minor))
    return render_invoice_pdf(
        merchant_name=merchant_name,
        customer_name=customer,
        number=invoice.number,
        status=invoice.status,
        issued_at=invoice.issued_at,
        due_at=invoice.due_at,
        currency=invoice.currency,
        lines=[
            PdfLine(line.description, line.quantity, line.unit_amount_minor, line.amount_minor)
            for line in invoice.lines
        ],
        totals=totals,
    )


async def emit_document(
    tx: Transaction,
    cause: Cause,
    now: Any,
    *,
    customer_id: str,
    document_id: str,
    kind: str,
    number: str,
    pdf: bytes,
) -> None:
    await tx.emit(
        INVOICE_EVENTS,
        DocumentRendered(
            **cause,
            occurred_at=now,
            data=RenderedDocument(
                customer_id=customer_id,
                document_id=document_id,
                kind=kind,
                number=number,
                filename=f"{number}.pdf",
                content_base64=base64.b64encode(pdf).decode(),
            ),
        ),
    )


async def publish_invoice(
    tx: Transaction, cause: Cause, invoice: Invoice, *, issued: bool = False
) -> None:
    """The invoice as it is now (issued or updated) and its PDF."""
    now = tx_now(tx)
    event_type = InvoiceIssued if issued else InvoiceUpdated
    await tx.emit(INVOICE_EVENTS, event_type(**cause, occurred_at=now, data=invoice.snapshot()))
    merchant = await MerchantNames(tx.db, tx.session).name(invoice.organisation_id)
    customer = await customer_name(tx, invoice.organisation_id, invoice.customer_id)
    await emit_document(
        tx,
        cause,
        now,
        customer_id=invoice.customer_id,
        document_id=invoice.invoice_id,
        kind="invoice",
        number=invoice.number,
        pdf=invoice_pdf(invoice, merchant, customer),
    )


def receipt_pdf(payment: PaymentSnapshot, merchant_name: str, customer: str) -> bytes:
    method = payment.method
    return render_receipt_pdf(
        merchant_name=merchant_name,
        customer_name=customer,
        payment_number=payment.number,
        paid_at=payment.settled_at or payment.created_at,
        currency=payment.amount.currency,
        amount_minor=payment.amount.amount_minor,
        method=f"{method.brand} ending {method.last4}",
        invoices=[ReceiptInvoice(a.invoice_number, a.amount_minor) for a in payment.allocations],
    )


async def refresh_balance(
    tx: Transaction, cause: Cause, organisation_id: str, customer_id: str, currency: str
) -> None:
    """What the customer owes: the balances of their open invoices (in the account currency)."""
    invoices = await InvoiceRepository(tx.db, tx.session).of_customer(organisation_id, customer_id)
    accounts = AccountRepository(tx.db, tx.session)
    known = await accounts.get(organisation_id, customer_id)
    account_currency = known.currency if known else currency
    outstanding = sum(
        invoice.balance_minor
        for invoice in invoices
        if invoice.is_open and invoice.currency == account_currency
    )
    account = await accounts.set_balance(
        organisation_id, customer_id, outstanding, account_currency
    )
    await tx.emit(
        INVOICING_ACCOUNT_EVENTS,
        AccountBalanceChanged(
            **cause,
            occurred_at=tx_now(tx),
            data=account.balance().model_copy(
                update={"outstanding": Money(amount_minor=outstanding, currency=account_currency)}
            ),
        ),
    )


def tx_now(tx: Transaction) -> Any:
    return tx.outbox.clock.now()
