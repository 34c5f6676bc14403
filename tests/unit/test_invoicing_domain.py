"""Invoice totals, statuses and payment plans: pure rules of the invoicing service."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import pytest
from pypdf import PdfReader

from invoicing.adapters.invoice_pdf import PdfLine, PdfTotal, format_money, render_invoice_pdf
from invoicing.domain import invoices as rules
from invoicing.domain.invoices import Invoice, MissingDefaultTax
from invoicing.domain.payments import (
    AUTOCHARGE_RETRY_AFTER,
    InvalidPayment,
    after_failed_autocharge,
    plan_payment,
)
from invoicing.service_layer.documents import invoice_pdf
from portal_contracts.invoicing import InvoiceLine, Tax
from portal_runtime.errors import Conflict, Forbidden

pytestmark = pytest.mark.unit

NOW = datetime(2026, 5, 4, 10, 0, tzinfo=UTC)
VAT = Tax(name="VAT", rate_basis_points=1900)


def draw(amount: int = 10_000, **changes: object) -> Invoice:
    values: dict[str, object] = {
        "organisation_id": "org_1",
        "customer_id": "cus_1",
        "invoice_id": "inv_1",
        "number": "INV-000001",
        "currency": "EUR",
        "lines": (
            InvoiceLine(
                description="Studio plan",
                quantity=2,
                unit_amount_minor=amount // 2,
                amount_minor=amount,
            ),
        ),
        "discount_minor": 0,
        "default_tax": VAT,
        "now": NOW,
        "due_in_days": 14,
    }
    values.update(changes)
    return rules.draw_up(**values)  # type: ignore[arg-type]


def test_totals_apply_the_discount_before_the_tax_rounded_half_up() -> None:
    invoice = draw(10_005, discount_minor=1_000)
    assert invoice.subtotal_minor == 10_005
    assert invoice.tax_minor == 1_711  # 19% of 9005 = 1710.95
    assert invoice.total_minor == 10_716
    assert invoice.due_at == NOW + timedelta(days=14)
    assert invoice.status == "sent"


def test_without_a_default_tax_no_invoice_is_drawn_up() -> None:
    with pytest.raises(MissingDefaultTax) as missing:
        draw(default_tax=None)
    assert missing.value.code == "CP2001"


def test_payments_move_an_invoice_to_partially_paid_then_paid() -> None:
    invoice = draw(allow_partial_payments=True)
    part = rules.apply_payment(invoice, 5_000, NOW)
    assert (part.status, part.balance_minor) == ("partially_paid", 6_900)
    paid = rules.apply_payment(part, 6_900, NOW)
    assert (paid.status, paid.balance_minor, paid.is_open) == ("paid", 0, False)


def test_an_unpaid_invoice_becomes_overdue_by_the_clock_only() -> None:
    invoice = draw()
    assert rules.mark_overdue(invoice, NOW + timedelta(days=14)) is None
    overdue = rules.mark_overdue(invoice, NOW + timedelta(days=15))
    assert overdue is not None
    assert overdue.status == "overdue"
    assert (
        rules.mark_overdue(rules.apply_payment(invoice, 11_900, NOW), NOW + timedelta(days=30))
        is None
    )


def test_the_first_view_only_is_recorded_and_never_on_a_draft() -> None:
    viewed = rules.mark_viewed(draw(), NOW)
    assert viewed is not None
    assert viewed.status == "viewed"
    assert rules.mark_viewed(viewed, NOW + timedelta(hours=1)) is None
    assert rules.mark_viewed(draw(as_draft=True), NOW) is None


def test_void_only_while_nothing_was_paid() -> None:
    assert rules.void(draw()).status == "void"
    with pytest.raises(Conflict):
        rules.void(rules.apply_payment(draw(allow_partial_payments=True), 100, NOW))


def test_a_payment_plan_pays_whole_balances_in_one_currency() -> None:
    first, second = draw(1_000), draw(2_000, invoice_id="inv_2", number="INV-000002")
    plan = plan_payment([first, second])
    assert (plan.currency, plan.amount_minor) == ("EUR", 3_570)
    with pytest.raises(InvalidPayment) as mixed:
        plan_payment([first, draw(1_000, invoice_id="inv_3", currency="USD")])
    assert mixed.value.code == "mixed_currencies"
    with pytest.raises(Conflict) as paid:
        plan_payment([rules.apply_payment(first, 1_190, NOW)])
    assert paid.value.code == "already_paid"


def test_part_payment_needs_the_merchants_permission_and_no_more_than_the_balance() -> None:
    with pytest.raises(Forbidden):
        plan_payment([draw()], 3_000)
    lenient = draw(allow_partial_payments=True)
    assert plan_payment([lenient], 3_000).amount_minor == 3_000
    with pytest.raises(InvalidPayment):
        plan_payment([lenient], 50_000)


def test_failed_automatic_charges_are_retried_on_a_schedule_then_final() -> None:
    invoice = draw(autocharge=True)
    for attempt, wait in enumerate(AUTOCHARGE_RETRY_AFTER, start=1):
        invoice, final = after_failed_autocharge(invoice, NOW)
        assert (invoice.autocharge_attempts, final) == (attempt, False)
        assert invoice.next_autocharge_at == NOW + wait
    invoice, final = after_failed_autocharge(invoice, NOW)
    assert final
    assert invoice.next_autocharge_at is None


def test_the_invoice_pdf_shows_the_lines_tax_and_balance() -> None:
    pdf = invoice_pdf(draw(10_000, discount_minor=500), "Orbit Software", "Keller Physio")
    text = PdfReader(io.BytesIO(pdf)).pages[0].extract_text()
    for expected in (
        "Orbit Software",
        "INV-000001",
        "Keller Physio",
        "Studio plan",
        "VAT (19%)",
        "EUR 113.05",
        "Balance due",
        "2026-05-18",
    ):
        assert expected in text


def test_the_pdf_renderer_takes_any_priced_document_and_odd_characters() -> None:
    pdf = render_invoice_pdf(
        merchant_name="Zoë & Søn",
        customer_name="Ünal GmbH",
        number="QT-000003",
        status="sent",
        issued_at=NOW,
        due_at=None,
        currency="JPY",
        lines=[PdfLine("Beratung \u2013 2h", 2, 15_000, 30_000)],
        totals=[PdfTotal("Total", 30_000)],
        title="Quote",
    )
    text = PdfReader(io.BytesIO(pdf)).pages[0].extract_text()
    assert "Quote QT-000003" in text
    assert "JPY 30,000" in text
    assert format_money(-1_234, "EUR") == "-EUR 12.34"
