"""Statement of account: the arithmetic, the ageing buckets, splitting into parts, the PDF."""

from __future__ import annotations

import base64
import datetime as dt
import io

import pytest
from pypdf import PdfReader

from invoicing.adapters.statement_pdf import render_statement_pdf
from invoicing.domain.statements import Entry, ageing_bucket, statement_for
from invoicing.service_layer.statements import split_into_parts

pytestmark = pytest.mark.unit

JAN_1, MAR_31 = dt.date(2025, 1, 1), dt.date(2025, 3, 31)


def day(month: int, d: int, year: int = 2025) -> dt.date:
    return dt.date(year, month, d)


HISTORY = [
    # before the period: owed 1000 - 400 = 600
    Entry(day(11, 10, 2024), "invoice", "INV-00001", 1000, due_date=day(12, 10, 2024)),
    Entry(day(11, 20, 2024), "payment", "PAY-00001", 400),
    # in the period
    Entry(day(1, 5), "invoice", "INV-00002", 5000, due_date=day(2, 4), outstanding_minor=2000),
    Entry(day(2, 1), "payment", "PAY-00002", 3000),
    Entry(day(2, 10), "credit_note", "CN-00001", 700),
    Entry(day(3, 1), "refund", "CN-00001 refund", 200),
    Entry(day(3, 20), "invoice", "INV-00003", 900, due_date=day(4, 19), outstanding_minor=900),
    # after the period: ignored
    Entry(day(4, 2), "invoice", "INV-00004", 123456, due_date=day(5, 2), outstanding_minor=1),
]


def test_closing_is_opening_plus_invoices_and_refunds_minus_payments_and_credits() -> None:
    statement = statement_for(HISTORY, JAN_1, MAR_31)

    assert statement.opening_balance_minor == 600
    assert statement.totals == {"invoice": 5900, "payment": 3000, "credit_note": 700, "refund": 200}
    assert statement.closing_balance_minor == 600 + 5900 + 200 - 3000 - 700 == 3000


def test_lines_are_in_date_order_with_a_running_balance_ending_at_the_closing_balance() -> None:
    # The order entries arrive in does not matter (one query per kind).
    statement = statement_for(list(reversed(HISTORY)), JAN_1, MAR_31)

    lines = statement.lines
    assert [line.reference for line in lines] == [
        "INV-00002",
        "PAY-00002",
        "CN-00001",
        "CN-00001 refund",
        "INV-00003",
    ]
    assert [line.amount_minor for line in lines] == [5000, -3000, -700, 200, 900]
    assert [line.balance_minor for line in lines] == [5600, 2600, 1900, 2100, 3000]
    assert lines[-1].balance_minor == statement.closing_balance_minor


def test_an_empty_period_carries_the_opening_balance_through() -> None:
    statement = statement_for(HISTORY[:2], JAN_1, MAR_31)

    assert statement.lines == []
    assert statement.opening_balance_minor == statement.closing_balance_minor == 600


@pytest.mark.parametrize(
    ("due", "bucket"),
    [
        (day(3, 31), "current"),
        (day(4, 30), "current"),
        (day(3, 30), "days_1_30"),
        (day(3, 1), "days_1_30"),
        (day(2, 28), "days_31_60"),
        (day(1, 30), "days_31_60"),
        (day(1, 29), "days_61_90"),
        (day(12, 31, 2024), "days_61_90"),
        (day(12, 30, 2024), "over_90"),
    ],
)
def test_ageing_buckets_count_days_past_due_at_the_end_of_the_period(
    due: dt.date, bucket: str
) -> None:
    assert ageing_bucket(due, MAR_31) == bucket


def test_ageing_sums_what_is_still_owed_per_bucket() -> None:
    statement = statement_for(HISTORY, JAN_1, MAR_31)

    # INV-00002 due Feb 4 (55 days late on Mar 31), INV-00003 not due yet; the April invoice
    # is after the period.
    assert statement.ageing == {
        "current": 900,
        "days_1_30": 0,
        "days_31_60": 2000,
        "days_61_90": 0,
        "over_90": 0,
    }


def test_a_period_ending_before_it_starts_is_refused() -> None:
    with pytest.raises(ValueError, match="ends before"):
        statement_for(HISTORY, MAR_31, JAN_1)


def test_the_pdf_shows_the_summary_ageing_and_every_line() -> None:
    statement = statement_for(HISTORY, JAN_1, MAR_31)

    pdf = render_statement_pdf(statement, "EUR", "Orbit Software", "Compilers Inc")

    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    assert "Statement of account" in text
    assert "Orbit Software" in text
    assert "Compilers Inc" in text
    assert "2025-01-01 to 2025-03-31" in text
    assert "Opening balance 6.00 EUR" in text
    assert "Closing balance 30.00 EUR" in text
    assert "31-60 days" in text
    assert "20.00 EUR" in text
    for reference in ("INV-00002", "PAY-00002", "CN-00001", "INV-00003"):
        assert reference in text
    assert "INV-00004" not in text


def test_a_long_statement_is_split_into_parts_that_join_back_into_the_same_pdf() -> None:
    history = [
        Entry(JAN_1 + dt.timedelta(days=i % 89), "invoice", f"INV-{i:05d}", 100 + i)
        for i in range(1_200)
    ]
    statement = statement_for(history, JAN_1, MAR_31)
    pdf = render_statement_pdf(statement, "USD", "Orbit", "Grace")
    encoded = base64.b64encode(pdf).decode()

    parts = split_into_parts("st_1", "cus_1", statement.lines, encoded)

    assert len(parts) == 3  # 500 lines per part
    assert [p.index for p in parts] == [0, 1, 2]
    assert sum(len(p.lines) for p in parts) == 1_200
    assert all(len(p.model_dump_json()) < 900_000 for p in parts)
    assert base64.b64decode("".join(p.pdf_base64 for p in parts)) == pdf
    pages = PdfReader(io.BytesIO(pdf)).pages
    assert len(pages) > 15
    text = "".join(page.extract_text() for page in pages)
    assert all(f"INV-{i:05d}" in text for i in range(1_200))
    assert "Closing balance" in pages[-1].extract_text()
