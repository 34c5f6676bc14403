"""Shared page layout for the documents' PDFs (fpdf2, built-in Helvetica)."""

from __future__ import annotations

from fpdf import FPDF


def latin1(text: str) -> str:
    """The built-in PDF fonts cover Latin-1 only; anything else prints as '?'."""
    return text.encode("latin-1", "replace").decode("latin-1")


def money(amount_minor: int, currency: str) -> str:
    sign = "-" if amount_minor < 0 else ""
    units, cents = divmod(abs(amount_minor), 100)
    return f"{sign}{units:,}.{cents:02d} {currency}"


def new_document(title: str, merchant_name: str) -> FPDF:
    pdf = FPDF(format="A4")
    pdf.set_title(latin1(title))
    pdf.set_author(latin1(merchant_name))
    pdf.set_auto_page_break(auto=True, margin=15)
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 16)
    pdf.cell(0, 10, latin1(merchant_name), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "B", 13)
    pdf.cell(0, 8, latin1(title), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", size=10)
    return pdf


def row(pdf: FPDF, cells: list[tuple[str, float, str]], bold: bool = False) -> None:
    """One table row: (text, width in mm, alignment L/R)."""
    pdf.set_font("Helvetica", "B" if bold else "", 9)
    for text, width, align in cells:
        pdf.cell(width, 6, latin1(text), align=align)
    pdf.ln(6)


def finish(pdf: FPDF) -> bytes:
    return bytes(pdf.output())
