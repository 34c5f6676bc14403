"""Rules of secure public links: tokens, codes, tries, rate limits, link states; and the SMS
channel that refuses instead of pretending to send."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from portal_gateway.adapters.code_senders import CodeDelivery, SenderNotConfigured, SmsCodeSender
from portal_gateway.domain import public_links as rules

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def issued(code: str = "123456", **changes: Any) -> rules.IssuedCode:
    values: dict[str, Any] = {
        "code_id": "otc_1",
        "digest": rules.code_digest("otc_1", code),
        "expires_at": NOW + rules.CODE_LIFETIME,
        "tries_left": rules.CODE_TRIES,
        **changes,
    }
    return rules.IssuedCode(**values)


def test_link_tokens_carry_at_least_128_random_bits_and_differ() -> None:
    tokens = {rules.new_token() for _ in range(100)}
    assert len(tokens) == 100
    # URL-safe base64: 6 bits a character.
    assert all(len(t) * 6 >= 128 for t in tokens)


def test_codes_are_six_digits_and_stored_only_as_digests_bound_to_their_id() -> None:
    codes = [rules.new_code() for _ in range(200)]
    assert all(len(c) == 6 and c.isdigit() for c in codes)
    assert rules.code_digest("otc_1", "123456") != rules.code_digest("otc_2", "123456")
    assert "123456" not in rules.code_digest("otc_1", "123456")


def test_a_code_is_accepted_once_while_fresh_and_refused_otherwise() -> None:
    assert rules.check_code(issued(), "123456", NOW) == "accepted"
    assert rules.check_code(issued(), " 123456 ", NOW) == "accepted"
    assert rules.check_code(issued(), "654321", NOW) == "wrong"
    assert rules.check_code(issued(used_at=NOW), "123456", NOW) == "used"
    assert rules.check_code(issued(), "123456", NOW + rules.CODE_LIFETIME) == "expired"
    assert rules.check_code(issued(tries_left=0), "123456", NOW) == "burnt"


def test_codes_are_rate_limited_per_link() -> None:
    assert rules.may_send_code([], NOW) is None
    just_now = rules.may_send_code([NOW - timedelta(seconds=10)], NOW)
    assert just_now == rules.TooSoon(retry_after=20)
    assert rules.may_send_code([NOW - timedelta(seconds=31)], NOW) is None
    five = [NOW - timedelta(minutes=m) for m in (1, 10, 20, 30, 40)]
    assert rules.may_send_code(five, NOW) == rules.TooSoon(retry_after=20 * 60)
    an_hour_ago = [NOW - timedelta(minutes=m) for m in (5, 10, 20, 30, 61)]
    assert rules.may_send_code(an_hour_ago, NOW) is None


def test_a_link_is_active_until_revoked_or_expired() -> None:
    assert rules.state_of(None, None, NOW) == "active"
    assert rules.state_of(None, NOW + timedelta(days=1), NOW) == "active"
    assert rules.state_of(None, NOW, NOW) == "expired"
    assert rules.state_of(NOW, NOW + timedelta(days=1), NOW) == "revoked"
    assert rules.expiry(NOW, None) is None
    assert rules.expiry(NOW, 7) == NOW + timedelta(days=7)


def test_where_the_code_went_is_masked() -> None:
    assert rules.masked("grace.hopper@compilers.example") == "g***@c***.example"


def test_sms_is_not_configured_and_says_so() -> None:
    delivery = CodeDelivery(
        organisation_id="org_1",
        customer_id="cus_1",
        contact_id="con_1",
        email=None,
        phone="+4915112345678",
        name="Grace",
        merchant_name="Orbit",
        language="en",
        purpose="open invoice INV-1",
        code="123456",
        expires_at=NOW,
        link_id="lnk_1",
        now=NOW,
    )
    with pytest.raises(SenderNotConfigured, match="SMS is not configured") as refused:
        asyncio.run(SmsCodeSender().send(None, delivery))  # type: ignore[arg-type]
    assert refused.value.status == 503
