"""The sandbox gateway behaves like a real one: test tokens that succeed or fail with the
troubleshooting codes, merchant gateway settings, repeated charges, bank payments that settle."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from invoicing.adapters.payment_gateway import ChargeRequest, MemoryChargeBook, SandboxGateway
from invoicing.domain.failures import FAILURES
from portal_contracts.invoicing import GatewaySetup
from portal_runtime.clock import MovableClock

pytestmark = pytest.mark.unit

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def sandbox() -> tuple[SandboxGateway, MovableClock]:
    clock = MovableClock(START)
    return SandboxGateway(MemoryChargeBook(), clock), clock


def request(key: str = "attempt:1", **changes: Any) -> ChargeRequest:
    values: dict[str, object] = {
        "idempotency_key": key,
        "organisation_id": "org_1",
        "customer_id": "cus_1",
        "amount_minor": 12_000,
        "currency": "EUR",
        "token": "tok_visa",
        "setup": GatewaySetup(),
    }
    values.update(changes)
    return ChargeRequest(**values)  # type: ignore[arg-type]


async def test_a_good_card_is_charged_once_per_idempotency_key() -> None:
    gateway, _ = sandbox()
    first = await gateway.charge(request())
    again = await gateway.charge(request(amount_minor=99_999))
    assert first.status == again.status == "succeeded"
    assert first.reference == again.reference
    assert await gateway.count("org_1", "cus_1") == 1


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"token": "tok_declined"}, "card_declined"),
        ({"token": "tok_fraud"}, "CP3003"),
        ({"token": "tok_avs_fail"}, "CP3004"),
        ({"token": "tok_unknown"}, "invalid_token"),
        ({"amount_minor": 49}, "CP4001"),
        ({"currency": "JPY"}, "CP4003"),
        ({"setup": GatewaySetup(credentials_valid=False)}, "CP3002"),
        ({"recurring": True, "setup": GatewaySetup(supports_recurring=False)}, "CP4002"),
        ({"saved_method": True, "setup": GatewaySetup(reference_transactions=False)}, "CP3001"),
    ],
)
async def test_each_failure_carries_its_code(changes: dict[str, Any], code: str) -> None:
    gateway, _ = sandbox()
    result = await gateway.charge(request(**changes))
    assert (result.status, result.failure_code) == ("failed", code)
    assert FAILURES[code].remedy
    assert FAILURES[code].customer_message
    assert await gateway.count("org_1", "cus_1") == 0


async def test_the_same_amount_on_the_same_card_within_minutes_is_refused_then_allowed() -> None:
    gateway, clock = sandbox()
    assert (await gateway.charge(request("attempt:1"))).status == "succeeded"
    repeat = await gateway.charge(request("attempt:2"))
    assert (repeat.status, repeat.failure_code) == ("failed", "CP3005")
    other_amount = await gateway.charge(request("attempt:3", amount_minor=12_001))
    assert other_amount.status == "succeeded"
    clock.advance(timedelta(minutes=6))
    assert (await gateway.charge(request("attempt:4"))).status == "succeeded"


async def test_a_bank_payment_stays_pending_then_settles_or_fails_by_the_clock() -> None:
    gateway, clock = sandbox()
    settles = await gateway.charge(request("attempt:1", token="btok_ach_settles"))
    fails = await gateway.charge(request("attempt:2", token="btok_ach_fails", amount_minor=500))
    assert settles.status == fails.status == "pending"
    clock.advance(timedelta(days=2))
    assert (await gateway.status("attempt:1")).status == "pending"  # type: ignore[union-attr]
    clock.advance(timedelta(days=1, seconds=1))
    assert (await gateway.status("attempt:1")).status == "succeeded"  # type: ignore[union-attr]
    failed = await gateway.status("attempt:2")
    assert failed is not None
    assert (failed.status, failed.failure_code) == ("failed", "bank_payment_returned")


async def test_a_pending_bank_payment_can_be_failed_at_once_in_the_sandbox() -> None:
    gateway, _ = sandbox()
    await gateway.charge(request("attempt:1", token="btok_ach_settles"))
    await gateway.resolve("attempt:1", "failed")
    result = await gateway.status("attempt:1")
    assert result is not None
    assert result.status == "failed"


async def test_tokens_describe_brand_and_last_four_only() -> None:
    gateway, _ = sandbox()
    card = await gateway.describe("tok_visa")
    assert card is not None
    assert (card.kind, card.brand, card.last4, card.exp_year) == ("card", "visa", "4242", 2034)
    bank = await gateway.describe("btok_ach_settles")
    assert bank is not None
    assert bank.kind == "bank_account"
    assert await gateway.describe("4242424242424242") is None
