"""Quotes: who may answer them when, which comments the customer sees, the PDF."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from pypdf import PdfReader

from invoicing.adapters.quote_pdf import render_quote_pdf
from invoicing.domain.credit_notes import CreditNote, CreditRuleBroken
from invoicing.domain.quotes import Quote, QuoteRuleBroken, quote_total, visible_in_portal
from portal_gateway.service_layer.document_views import portal_quote

pytestmark = pytest.mark.unit

NOW = dt.datetime(2025, 3, 4, 9, 0, tzinfo=dt.UTC)
LINES = [
    {"description": "Annual support plan", "quantity": 2, "unit_amount_minor": 45_000},
    {"description": "Onboarding workshop", "quantity": 1, "unit_amount_minor": 12_050},
]


def quote(status: str = "sent", expires_on: dt.date | None = None) -> Quote:
    return Quote(
        organisation_id="org_1",
        quote_id="qt_1",
        customer_id="cus_1",
        number="QT-00007",
        status=status,  # type: ignore[arg-type]
        currency="EUR",
        lines=LINES,
        total_minor=quote_total(LINES),
        created_at=NOW,
        expires_on=expires_on,
        notes="Prices valid for 30 days",
    )


def test_the_total_is_quantity_times_unit_price_summed() -> None:
    assert quote_total(LINES) == 102_050


def test_the_first_view_of_a_sent_quote_marks_it_viewed_and_later_views_change_nothing() -> None:
    q = quote("sent")

    assert q.record_view(NOW) is True
    assert q.status == "viewed"
    assert q.record_view(NOW) is False
    assert quote("draft").record_view(NOW) is False


@pytest.mark.parametrize("status", ["sent", "viewed"])
def test_a_sent_or_viewed_quote_can_be_accepted_or_declined(status: str) -> None:
    accepted, declined = quote(status), quote(status)

    accepted.accept("ct_1", NOW)
    declined.decline("ct_1", "  Too expensive  ", NOW)

    assert accepted.status == "accepted"
    assert accepted.answered_by == "ct_1"
    assert declined.status == "declined"
    assert declined.decline_reason == "Too expensive"


@pytest.mark.parametrize("status", ["draft", "accepted", "declined"])
def test_answering_a_quote_that_is_not_open_is_a_conflict(status: str) -> None:
    with pytest.raises(QuoteRuleBroken) as refused:
        quote(status).decline("ct_1", "no", NOW)
    assert refused.value.code == "quote_not_open"
    with pytest.raises(QuoteRuleBroken):
        quote(status).accept("ct_1", NOW)


def test_an_expired_quote_cannot_be_accepted_and_a_decline_needs_a_reason() -> None:
    with pytest.raises(QuoteRuleBroken, match="expired"):
        quote("sent", expires_on=dt.date(2025, 3, 3)).accept("ct_1", NOW)
    with pytest.raises(QuoteRuleBroken, match="say why"):
        quote("sent").decline("ct_1", "   ", NOW)


def test_an_open_quote_expires_once_the_day_after_its_expiry_date_begins() -> None:
    valid_through_march_3 = dt.date(2025, 3, 3)
    last_moment = dt.datetime(2025, 3, 3, 23, 59, 59, tzinfo=dt.UTC)
    for status in ("sent", "viewed"):
        q = quote(status, expires_on=valid_through_march_3)

        assert q.expire(last_moment) is False
        assert q.status == status
        assert q.expire(NOW) is True
        assert (q.status, q.expired_at) == ("expired", NOW)
        assert q.expire(NOW + dt.timedelta(days=1)) is False
        assert q.expired_at == NOW


@pytest.mark.parametrize("status", ["draft", "accepted", "declined", "expired"])
def test_drafts_answered_and_undated_quotes_never_expire(status: str) -> None:
    later = NOW + dt.timedelta(days=365)

    assert quote(status, expires_on=dt.date(2025, 3, 3)).expire(later) is False
    undated = quote("sent")
    assert undated.expire(later) is False
    assert undated.status == "sent"


def test_an_expired_quote_refuses_answers_as_expired_whether_or_not_the_job_ran() -> None:
    answered_late = quote("sent", expires_on=dt.date(2025, 3, 3))
    expired = quote("sent", expires_on=dt.date(2025, 3, 3))
    expired.expire(NOW)

    for late in (answered_late, expired):
        with pytest.raises(QuoteRuleBroken) as refused:
            late.decline("ct_1", "too late", NOW)
        assert refused.value.code == "quote_expired"
        with pytest.raises(QuoteRuleBroken, match="expired"):
            late.accept("ct_1", NOW)
        assert late.answered_at is None


def test_the_portal_sees_its_own_comments_and_only_the_merchant_comments_marked_for_it() -> None:
    comments = [
        {"comment_id": "1", "author": "merchant", "text": "internal note", "show_in_portal": False},
        {
            "comment_id": "2",
            "author": "merchant",
            "text": "free onboarding",
            "show_in_portal": True,
        },
        {"comment_id": "3", "author": "contact", "text": "thanks!", "show_in_portal": True},
    ]

    shown = portal_quote({"quote_id": "qt_1", "comments": comments})

    assert [c["text"] for c in shown["comments"]] == ["free onboarding", "thanks!"]
    assert [visible_in_portal(c) for c in comments] == [False, True, True]


def test_the_quote_pdf_shows_number_lines_and_total() -> None:
    pdf = render_quote_pdf(quote("sent", dt.date(2025, 4, 3)), "Orbit Software", "Compilers Inc")

    text = PdfReader(io.BytesIO(pdf)).pages[0].extract_text()
    assert "Quote QT-00007" in text
    assert "Orbit Software" in text
    assert "Compilers Inc" in text
    assert "Annual support plan" in text
    assert "900.00 EUR" in text
    assert "Total" in text
    assert "1,020.50 EUR" in text
    assert "Valid until: 2025-04-03" in text


def test_credit_is_spent_at_most_once_and_never_beyond_what_the_invoice_owes() -> None:
    note = CreditNote("org_1", "cn_1", "cus_1", "CN-00001", "EUR", LINES[:1], 90_000, NOW)

    note.apply("inv_1", 50_000, invoice_due_minor=60_000, now=NOW)
    with pytest.raises(CreditRuleBroken, match="only 40000"):
        note.refund("rf_1", 40_001, "", NOW)
    with pytest.raises(CreditRuleBroken, match="owes only"):
        note.apply("inv_2", 30_000, invoice_due_minor=10_000, now=NOW)
    note.refund("rf_1", 40_000, "bank transfer", NOW)

    assert note.available_minor == 0
    assert note.status == "closed"
