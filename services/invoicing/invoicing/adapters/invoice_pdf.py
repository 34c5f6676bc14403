"""Printable PDFs of invoices and payment receipts (fpdf2, core fonts only).

`render_invoice_pdf` draws any priced document (invoice, credit note, quote...) from plain
values; `render_receipt_pdf` draws a payment receipt with the invoices it paid.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from fpdf import FPDF

# ISO 4217 currencies without minor units; every other currency here has two.
_ZERO_DECIMAL = {"JPY", "KRW", "VND", "CLP", "ISK", "HUF", "XOF", "XAF"}


def format_money(amount_minor: int, currency: str) -> str:
    if currency in _ZERO_DECIMAL:
        return f"{currency} {amount_minor:,}"
    sign = "-" if amount_minor < 0 else ""
    whole, cents = divmod(abs(amount_minor), 100)
    return f"{sign}{currency} {whole:,}.{cents:02d}"


@dataclass(frozen=True)
class PdfLine:
    description: str
    quantity: int
    unit_amount_minor: int
    amount_minor: int


@dataclass(frozen=True)
class PdfTotal:
    label: str
    amount_minor: int


def _latin(text: str) -> str:
    # Core PDF fonts are Latin-1: replace what they cannot draw rather than fail.
    return text.encode("latin-1", "replace").decode("latin-1")


def _document(title: str) -> FPDF:
    pdf = FPDF(format="A4")
    pdf.set_title(title)
    pdf.set_auto_page_break(auto=True, margin=15)
    pdf.add_page()
    return pdf


def _header(pdf: FPDF, merchant_name: str, title: str, number: str, status: str) -> None:
    pdf.set_font("Helvetica", "B", 18)
    pdf.cell(0, 10, _latin(merchant_name), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "B", 14)
    pdf.cell(0, 8, _latin(f"{title} {number}"), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 10)
    pdf.cell(
        0, 6, _latin(f"Status: {status.replace('_', ' ').upper()}"), new_x="LMARGIN", new_y="NEXT"
    )


def _field(pdf: FPDF, label: str, value: str) -> None:
    pdf.set_font("Helvetica", "B", 10)
    pdf.cell(40, 6, _latin(label))
    pdf.set_font("Helvetica", "", 10)
    pdf.cell(0, 6, _latin(value), new_x="LMARGIN", new_y="NEXT")


def render_invoice_pdf(
    *,
    merchant_name: str,
    customer_name: str,
    number: str,
    status: str,
    issued_at: datetime,
    due_at: datetime | None,
    currency: str,
    lines: Sequence[PdfLine],
    totals: Sequence[PdfTotal],
    title: str = "Invoice",
    notes: str | None = None,
) -> bytes:
    """A priced document: header, bill-to, line items and the totals given (in order)."""
    pdf = _document(f"{title} {number}")
    _header(pdf, merchant_name, title, number, status)
    pdf.ln(4)
    _field(pdf, "Bill to:", customer_name)
    _field(pdf, "Date:", issued_at.date().isoformat())
    if due_at is not None:
        _field(pdf, "Due date:", due_at.date().isoformat())
    pdf.ln(4)
    widths = (95, 20, 35, 35)
    pdf.set_font("Helvetica", "B", 10)
    for width, heading in zip(widths, ("Item", "Qty", "Rate", "Amount"), strict=True):
        pdf.cell(width, 7, heading, border="B", align="L" if heading == "Item" else "R")
    pdf.ln()
    pdf.set_font("Helvetica", "", 10)
    for line in lines:
        pdf.cell(widths[0], 7, _latin(line.description[:60]))
        pdf.cell(widths[1], 7, str(line.quantity), align="R")
        pdf.cell(widths[2], 7, format_money(line.unit_amount_minor, currency), align="R")
        pdf.cell(widths[3], 7, format_money(line.amount_minor, currency), align="R")
        pdf.ln()
    pdf.ln(2)
    for index, total in enumerate(totals):
        pdf.set_font("Helvetica", "B" if index == len(totals) - 1 else "", 10)
        pdf.cell(sum(widths[:3]), 7, _latin(total.label), align="R")
        pdf.cell(widths[3], 7, format_money(total.amount_minor, currency), align="R")
        pdf.ln()
    if notes:
        pdf.ln(4)
        pdf.set_font("Helvetica", "", 9)
        pdf.multi_cell(0, 5, _latin(notes))
    return bytes(pdf.output())


@dataclass(frozen=True)
class ReceiptInvoice:
    number: str
    amount_minor: int


def render_receipt_pdf(
    *,
    merchant_name: str,
    customer_name: str,
    payment_number: str,
    paid_at: datetime,
    currency: str,
    amount_minor: int,
    method: str,
    invoices: Sequence[ReceiptInvoice],
) -> bytes:
    """A payment receipt: who paid what, how, and which invoices it settled."""
    pdf = _document(f"Payment receipt {payment_number}")
    _header(pdf, merchant_name, "Payment receipt", payment_number, "paid")
    pdf.ln(4)
    _field(pdf, "Received from:", customer_name)
    _field(pdf, "Payment date:", paid_at.date().isoformat())
    _field(pdf, "Paid with:", method)
    _field(pdf, "Amount:", format_money(amount_minor, currency))
    pdf.ln(4)
    pdf.set_font("Helvetica", "B", 10)
    pdf.cell(110, 7, "Invoice", border="B")
    pdf.cell(40, 7, "Amount applied", border="B", align="R")
    pdf.ln()
    pdf.set_font("Helvetica", "", 10)
    for invoice in invoices:
        pdf.cell(110, 7, _latin(invoice.number))
        pdf.cell(40, 7, format_money(invoice.amount_minor, currency), align="R")
        pdf.ln()
    return bytes(pdf.output())
