"""The portal invitation email and the retry schedule of failed sends."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta, timezone

import pytest

from notifications.domain.invitations import render_invitation
from notifications.domain.mail import DeliveryPolicy, message_id_for

pytestmark = pytest.mark.unit

LINK = "https://portal.example.com/acme/invitations/accept?token=abc123"
EXPIRES = datetime(2025, 11, 28, 9, 30, tzinfo=UTC)


def invitation(
    language: str,
    *,
    contact_name: str = "Ana Lima",
    merchant_name: str = "Acme Tea Club",
    expires_at: datetime = EXPIRES,
) -> tuple[str, str]:
    rendered = render_invitation(
        language=language,
        contact_name=contact_name,
        merchant_name=merchant_name,
        link=LINK,
        expires_at=expires_at,
    )
    return rendered.subject, rendered.text


def test_english_invitation_names_merchant_and_contact_and_carries_link_and_expiry() -> None:
    subject, text = invitation("en")

    assert "Acme Tea Club" in subject
    assert text.startswith("Hello Ana Lima,")
    assert "Acme Tea Club" in text
    assert f"\n{LINK}\n" in text
    assert "28 November 2025, 09:30 UTC" in text


def test_german_invitation_is_worded_in_german() -> None:
    subject, text = invitation("de")

    assert subject == "Acme Tea Club lädt Sie in Ihr Kundenportal ein"
    assert text.startswith("Hallo Ana Lima,")
    assert f"\n{LINK}\n" in text
    assert "28.11.2025, 09:30 Uhr (UTC)" in text
    assert "Hello" not in text


def test_regional_language_tag_uses_its_language() -> None:
    assert invitation("de-AT") == invitation("de")
    assert invitation("DE") == invitation("de")


@pytest.mark.parametrize("language", ["fr", "", "zz-ZZ"])
def test_unknown_language_falls_back_to_english(language: str) -> None:
    assert invitation(language) == invitation("en")


def test_expiry_is_shown_in_utc_whatever_zone_it_was_given_in() -> None:
    berlin_evening = datetime(2025, 11, 28, 23, 30, tzinfo=timezone(timedelta(hours=1)))

    _, text = invitation("en", expires_at=berlin_evening)

    assert "28 November 2025, 22:30 UTC" in text


def test_line_breaks_in_names_cannot_reach_the_subject_header() -> None:
    subject, text = invitation("en", merchant_name="Acme\r\nBcc: x@evil.test", contact_name="Ana\n")

    assert "\n" not in subject
    assert "\r" not in subject
    assert subject.startswith("Acme Bcc: x@evil.test ")
    assert text.startswith("Hello Ana,")


def test_contact_without_a_name_is_greeted_without_one() -> None:
    _, text = invitation("en", contact_name="  ")

    assert text.startswith("Hello,\n")


def test_message_id_is_stable_per_command_and_uses_the_sender_domain() -> None:
    event_id = uuid.uuid4()

    first = message_id_for("portal_invitation", event_id, "portal@mail.acme.test")

    assert first == message_id_for("portal_invitation", event_id, "portal@mail.acme.test")
    assert first == f"<portal_invitation.{event_id}@mail.acme.test>"
    assert first != message_id_for("portal_invitation", uuid.uuid4(), "portal@mail.acme.test")


def test_backoff_doubles_and_is_capped() -> None:
    policy = DeliveryPolicy(attempts=100, backoff_seconds=1.0, cap_seconds=300)

    delays = [policy.delay(n).total_seconds() for n in (1, 2, 3, 4, 9, 10, 60, 10_000)]

    assert delays == [1, 2, 4, 8, 256, 300, 300, 300]


def test_next_attempt_is_scheduled_until_the_attempts_run_out() -> None:
    policy = DeliveryPolicy(attempts=3, backoff_seconds=2.0, cap_seconds=60)
    now = datetime(2025, 1, 1, tzinfo=UTC)

    assert policy.next_attempt_at(1, now) == now + timedelta(seconds=2)
    assert policy.next_attempt_at(2, now) == now + timedelta(seconds=4)
    assert policy.next_attempt_at(3, now) is None
