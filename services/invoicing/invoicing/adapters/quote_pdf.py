"""A quote as a PDF (for forwarding it by email)."""

from __future__ import annotations

from typing import Any

from invoicing.adapters.pdf_layout import finish, latin1, money, new_document, row
from invoicing.domain.quotes import Quote


def render_quote_pdf(quote: Quote, merchant_name: str, customer_name: str) -> bytes:
    pdf = new_document(f"Quote {quote.number}", merchant_name or "Quote")
    pdf.cell(0, 6, latin1(f"For: {customer_name}"), new_x="LMARGIN", new_y="NEXT")
    pdf.cell(0, 6, f"Date: {quote.created_at.date().isoformat()}", new_x="LMARGIN", new_y="NEXT")
    if quote.expires_on is not None:
        pdf.cell(
            0, 6, f"Valid until: {quote.expires_on.isoformat()}", new_x="LMARGIN", new_y="NEXT"
        )
    pdf.cell(0, 6, f"Status: {quote.status}", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    row(
        pdf,
        [("Description", 90, "L"), ("Qty", 20, "R"), ("Unit price", 40, "R"), ("Amount", 40, "R")],
        bold=True,
    )
    for line in quote.lines:
        row(pdf, _line_cells(line, quote.currency))
    row(pdf, [("Total", 150, "L"), (money(quote.total_minor, quote.currency), 40, "R")], bold=True)
    if quote.notes:
        pdf.ln(4)
        pdf.multi_cell(0, 5, latin1(quote.notes))
    return finish(pdf)


def _line_cells(line: dict[str, Any], currency: str) -> list[tuple[str, float, str]]:
    quantity, unit = int(line["quantity"]), int(line["unit_amount_minor"])
    return [
        (str(line["description"])[:60], 90, "L"),
        (str(quantity), 20, "R"),
        (money(unit, currency), 40, "R"),
        (money(quantity * unit, currency), 40, "R"),
    ]
