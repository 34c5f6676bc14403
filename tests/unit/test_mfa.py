"""The pure rules of signing in: one-time codes, recovery codes, lock growth, reset links."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from identity.adapters.throttle import ThrottlePolicy
from identity.domain import mfa
from identity.domain.passwords import ResetLink, ResetLinkUnusable

pytestmark = pytest.mark.unit
NOW = datetime(2026, 11, 21, 10, 15, 7, tzinfo=UTC)


def test_a_code_counts_for_its_step_and_one_step_either_side_only() -> None:
    secret = mfa.new_secret()
    now_step = mfa.step_at(NOW)
    for offset in (-1, 0, 1):
        code = mfa.code_at(secret, NOW + timedelta(seconds=30 * offset))
        assert mfa.matching_step(secret, code, NOW) == now_step + offset
    for offset in (-3, 3):
        code = mfa.code_at(secret, NOW + timedelta(seconds=30 * offset))
        window = {mfa.code_at(secret, NOW + timedelta(seconds=30 * k)) for k in (-1, 0, 1)}
        if code not in window:  # a 1-in-a-million collision would make this step ambiguous
            assert mfa.matching_step(secret, code, NOW) is None


def test_codes_are_read_with_spaces_and_dashes() -> None:
    secret = mfa.new_secret()
    code = mfa.code_at(secret, NOW)
    assert mfa.matching_step(secret, f" {code[:3]} {code[3:]} ", NOW) == mfa.step_at(NOW)
    assert mfa.looks_like_totp(f"{code[:3]}-{code[3:]}")
    assert not mfa.looks_like_totp("k7pq2-x9mfa")


def test_recovery_codes_are_ten_distinct_readable_codes() -> None:
    codes = mfa.new_recovery_codes()
    assert len(set(codes)) == 10
    for code in codes:
        assert len(code) == 11
        assert code[5] == "-"
        assert not set(code) & set("01ilo")


def test_the_otpauth_uri_names_the_merchant_and_the_contact() -> None:
    uri = mfa.provisioning_uri(
        "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP", "ada@engines.example", "Orbit Software"
    )
    assert uri.startswith("otpauth://totp/Orbit%20Software:ada%40engines.example?")
    assert "secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP" in uri


def test_locks_start_at_the_threshold_and_double_up_to_the_longest() -> None:
    policy = ThrottlePolicy(
        threshold=5,
        first_lock=timedelta(minutes=15),
        longest_lock=timedelta(hours=1),
        forget_after=timedelta(hours=1),
    )
    assert [policy.lock_after(n) for n in (1, 4, 6, 9)] == [None] * 4
    assert policy.lock_after(5) == timedelta(minutes=15)
    assert policy.lock_after(10) == timedelta(minutes=30)
    assert policy.lock_after(15) == timedelta(hours=1)
    assert policy.lock_after(500) == timedelta(hours=1)


def link(status: str = "pending") -> ResetLink:
    return ResetLink(
        organisation_id="org_a",
        customer_id="cus_a",
        contact_id="ct_a",
        token_digest="d",
        expires_at=NOW + timedelta(hours=1),
        status=status,  # type: ignore[arg-type]
        created_at=NOW,
    )


@pytest.mark.parametrize(
    ("status", "at", "code"),
    [
        ("used", NOW, "reset_link_used"),
        ("superseded", NOW, "reset_link_superseded"),
        ("pending", NOW + timedelta(hours=1), "reset_link_expired"),
    ],
)
def test_a_reset_link_is_refused_once_used_replaced_or_expired(
    status: str, at: datetime, code: str
) -> None:
    with pytest.raises(ResetLinkUnusable) as refused:
        link(status).check_usable(at)
    assert refused.value.code == code


def test_a_fresh_reset_link_is_usable() -> None:
    link().check_usable(NOW + timedelta(minutes=59))
