"""Customer emails per template and language, signing webhooks, retry schedule, and which
portal actions the merchant hears about."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from notifications.domain.activity import noteworthy
from notifications.domain.templates import TEMPLATES, TemplateError, render_customer_email
from notifications.domain.webhooks import RetrySchedule, sign, verify_signature
from portal_gateway.api.activity import describe

pytestmark = pytest.mark.unit

LINK = "https://portal.example.com/acme/reset?token=abc"
VALUES: dict[str, tuple[dict[str, str], dict[str, str], int]] = {
    "portal_link_resent": ({}, {"link": LINK}, 0),
    "sign_up_verification": ({}, {"link": LINK}, 0),
    "password_reset": ({"expires_at": "2025-11-21T10:00:00+00:00"}, {"link": LINK}, 0),
    "payment_receipt": (
        {
            "payment_number": "PAY-7",
            "amount": "EUR 12.50",
            "paid_at": "2025-11-21T09:30:00Z",
            "invoice_numbers": "INV-1, INV-2",
        },
        {},
        1,
    ),
    "payment_failed": (
        {"invoice_number": "INV-3", "amount": "EUR 9.00", "reason": "expired"},
        {},
        0,
    ),
    "transaction_comment": (
        {
            "document_kind": "invoice",
            "document_number": "INV-4",
            "comment": "We added the discount.",
            "author": "Mara",
        },
        {},
        0,
    ),
    "forwarded_document": (
        {"document_kind": "quote", "document_number": "QT-5", "sender_name": "Ben"},
        {},
        1,
    ),
    "one_time_code": (
        {"purpose": "secure_link", "expires_at": "2025-11-21T10:00:00Z"},
        {"code": "493817"},
        0,
    ),
    "review_request": ({"portal_url": "https://portal.example.com/acme/"}, {}, 0),
}


def render(template: str, language: str = "en", **changes: object) -> tuple[str, str]:
    values, sealed, attachments = VALUES[template]
    options: dict[str, object] = {
        "template": template,
        "language": language,
        "contact_name": "Ana Lima",
        "merchant_name": "Acme Tea Club",
        "values": values,
        "sealed": sealed,
        "attachments": attachments,
        **changes,
    }
    rendered = render_customer_email(**options)  # type: ignore[arg-type]
    return rendered.subject, rendered.text


def test_every_template_of_the_contract_has_a_wording() -> None:
    from typing import get_args

    from portal_contracts.notifications import EmailTemplate

    assert set(get_args(EmailTemplate)) == set(TEMPLATES)


@pytest.mark.parametrize("template", sorted(VALUES))
def test_each_template_is_written_in_english_and_german(template: str) -> None:
    en_subject, en_text = render(template, "en")
    de_subject, de_text = render(template, "de-AT")
    assert en_text.startswith("Hello Ana Lima,")
    assert de_text.startswith("Hallo Ana Lima,")
    assert en_subject != de_subject
    assert "Acme Tea Club" in en_text
    assert "Acme Tea Club" in de_text
    for secret in VALUES[template][1].values():
        assert secret in en_text
        assert secret in de_text
    assert "$" not in en_text + de_text + en_subject + de_subject


def test_an_unknown_language_falls_back_to_english() -> None:
    assert render("payment_failed", "fr") == render("payment_failed", "en")


def test_dates_are_spelled_the_readers_way() -> None:
    assert "21 November 2025, 10:00 UTC" in render("password_reset", "en")[1]
    assert "21.11.2025, 10:00 Uhr" in render("password_reset", "de")[1]


def test_a_one_time_code_names_its_purpose_in_the_readers_language() -> None:
    assert "open the secure link" in render("one_time_code", "en")[1]
    assert "den sicheren Link zu öffnen" in render("one_time_code", "de")[1]


@pytest.mark.parametrize(
    ("template", "changes", "reason"),
    [
        ("no_such_template", {}, "there is no email template"),
        ("password_reset", {"sealed": {}}, "needs link"),
        ("payment_failed", {"values": {"amount": "1"}}, "needs invoice_number, reason"),
        ("payment_receipt", {"attachments": 0}, "needs the document attached"),
        ("password_reset", {"values": {"expires_at": "tomorrow"}}, "not an ISO 8601"),
        ("password_reset", {"values": {"expires_at": "2025-11-21T10:00:00"}}, "no time zone"),
    ],
)
def test_a_command_that_cannot_become_an_email_says_why(
    template: str, changes: dict[str, object], reason: str
) -> None:
    base = VALUES.get(template, ({}, {}, 0))
    options: dict[str, object] = {
        "template": template,
        "language": "en",
        "contact_name": "Ana",
        "merchant_name": "Acme",
        "values": base[0],
        "sealed": base[1],
        "attachments": base[2],
        **changes,
    }
    with pytest.raises(TemplateError, match=reason):
        render_customer_email(**options)  # type: ignore[arg-type]


def test_a_value_cannot_smuggle_a_header_into_the_subject() -> None:
    subject, _ = render(
        "forwarded_document",
        values={**VALUES["forwarded_document"][0], "sender_name": "Ben\r\nBcc: x@evil.example"},
    )
    assert "\n" not in subject
    assert "\r" not in subject


SECRET = "whsec_test"
BODY = b'{"event_id":"e1","type":"MerchantNotified"}'


def test_a_signature_verifies_within_the_tolerance() -> None:
    header = sign(SECRET, BODY, 1_700_000_000)
    assert header.startswith("t=1700000000,v1=")
    assert verify_signature(SECRET, BODY, header, now=1_700_000_100)


@pytest.mark.parametrize(
    ("secret", "body", "now"),
    [
        ("whsec_other", BODY, 1_700_000_000),  # wrong secret
        (SECRET, BODY + b" ", 1_700_000_000),  # body changed
        (SECRET, BODY, 1_700_000_301),  # replayed after the tolerance
        (SECRET, BODY, 1_699_999_699),  # from the future beyond the tolerance
    ],
)
def test_a_signature_is_refused_when_anything_differs(secret: str, body: bytes, now: int) -> None:
    header = sign(SECRET, BODY, 1_700_000_000)
    assert not verify_signature(secret, body, header, now=now)


@pytest.mark.parametrize("header", ["", "v1=abc", "t=abc,v1=abc", "t=1700000000"])
def test_a_malformed_signature_header_is_refused(header: str) -> None:
    assert not verify_signature(SECRET, BODY, header, now=1_700_000_000)


def test_the_documented_verify_signature_is_the_shipped_one() -> None:
    from pathlib import Path

    docs = (Path(__file__).parents[2] / "docs" / "notifications.md").read_text()
    namespace: dict[str, object] = {}
    snippet = docs.split("```python\n", 1)[1].split("```", 1)[0]
    exec(snippet, namespace)
    documented = namespace["verify_signature"]
    header = sign(SECRET, BODY, 1_700_000_000)
    assert documented(SECRET, BODY, header, now=1_700_000_010)  # type: ignore[operator]
    assert not documented(SECRET, BODY, header, now=1_700_000_400)  # type: ignore[operator]
    assert not documented("whsec_other", BODY, header, now=1_700_000_010)  # type: ignore[operator]


def test_webhook_retries_back_off_over_about_three_days_then_stop() -> None:
    schedule = RetrySchedule()
    now = datetime(2025, 11, 21, tzinfo=UTC)
    waits = []
    failed = 1
    while (at := schedule.next_attempt_at(failed, now)) is not None:
        waits.append(at - now)
        failed += 1
    assert waits[:5] == [
        timedelta(minutes=1),
        timedelta(minutes=5),
        timedelta(minutes=30),
        timedelta(hours=2),
        timedelta(hours=12),
    ]
    assert waits == sorted(waits)
    assert timedelta(days=2) < sum(waits, timedelta()) < timedelta(days=4)
    assert failed == schedule.attempts


@pytest.mark.parametrize(
    ("module", "action", "kind"),
    [
        ("invoices", "view", "invoice.first_viewed"),
        # Payments are told from invoicing's payment events, not from the request.
        ("invoices", "payments", None),
        ("payments", "create", None),
        ("invoices", "comments", "comment.added"),
        ("quotes", "approve", "quote.approved"),
        ("quotes", "decline", "quote.declined"),
        ("timesheets", "approve", "timesheet.approved"),
        ("timesheets", "reject", "timesheet.rejected"),
        ("subscriptions", "cancellation", "subscription.cancelled"),
        ("subscriptions", "cancel", "subscription.cancelled"),
        ("subscriptions", "scheduled-cancellation.delete", "subscription.updated"),
        ("quotes", "accept", "quote.approved"),
        ("quotes", "comments", "comment.added"),
        ("quotes", "forward", None),
        ("subscriptions", "quantity", "subscription.updated"),
        ("quotes", "view", None),
        ("invoices", "download", None),
        ("profile", "update", None),
    ],
)
def test_which_portal_actions_the_merchant_hears_about(
    module: str, action: str, kind: str | None
) -> None:
    found = noteworthy(module, action, "doc_1", "Ana Lima")
    assert (found.kind if found else None) == kind
    if found:
        assert "Ana Lima" in found.summary


@pytest.mark.parametrize(
    ("method", "template", "expected"),
    [
        ("GET", "/portal/{slug:str}/api/invoices/{invoice_id:str}", ("invoices", "view", "inv_1")),
        (
            "GET",
            "/portal/{slug:str}/api/invoices/{invoice_id:str}/pdf",
            ("invoices", "download", "inv_1"),
        ),
        ("GET", "/portal/{slug:str}/api/invoices", None),
        ("GET", "/portal/{slug:str}/api/home", None),
        (
            "POST",
            "/portal/{slug:str}/api/quotes/{invoice_id:str}/approve",
            ("quotes", "approve", "inv_1"),
        ),
        ("POST", "/portal/{slug:str}/api/reviews", ("reviews", "create", None)),
        ("PATCH", "/portal/{slug:str}/api/profile", ("profile", "update", None)),
        (
            "DELETE",
            "/portal/{slug:str}/api/subscriptions/{invoice_id:str}/scheduled-cancellation",
            ("subscriptions", "scheduled-cancellation.delete", "inv_1"),
        ),
        ("POST", "/admin/v1/customers", None),
        ("POST", "/portal/{slug:str}/api/subscriptions/{invoice_id:str}/changes/preview", None),
        (
            "GET",
            "/portal/{slug:str}/api/payments/{invoice_id:str}/receipt",
            ("payments", "download", "inv_1"),
        ),
        (
            "POST",
            "/portal/{slug:str}/api/subscriptions/{invoice_id:str}/cancel",
            ("subscriptions", "cancel", "inv_1"),
        ),
    ],
)
def test_what_a_portal_request_did_is_read_from_its_route(
    method: str, template: str, expected: tuple[str, str, str | None] | None
) -> None:
    found = describe(method, template, {"slug": "acme", "invoice_id": "inv_1"})
    assert (None if found is None else (found.module, found.action, found.subject_id)) == expected
