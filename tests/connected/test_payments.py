"""Payments against the real database: no double charges under concurrency, pending bank
payments, CP2001 without a default tax, partial payments, automatic charges and retries."""

from __future__ import annotations

import asyncio
import base64
import io
import uuid
from datetime import timedelta

import pytest
from pypdf import PdfReader

from invoicing.adapters.payments import PaymentRepository
from invoicing.service_layer import invoices, payments
from portal_contracts.invoicing import GatewaySetup
from portal_contracts.subscriptions import Charge, ChargeLine, ChargeRaised
from tests.support.invoicing import (
    charges_at_sandbox,
    clock,
    configure,
    fields,
    invoice,
    invoice_to_pay,
    invoicing,
    open_customer,
    pay,
    pay_command,
    raise_invoice,
    sent,
)

pytestmark = pytest.mark.connected


def ids() -> tuple[str, str]:
    return f"org_{uuid.uuid4().hex[:8]}", f"cus_{uuid.uuid4().hex[:8]}"


async def test_one_hundred_concurrent_payments_of_one_invoice_charge_it_once(
    mongo_uri: str, database_name: str
) -> None:
    org, customer = ids()
    async with invoicing(mongo_uri, database_name, clock()) as ctx:
        invoice_id = await invoice_to_pay(ctx, org, customer)
        commands = [pay_command(org, customer, (invoice_id,)) for _ in range(100)]

        await asyncio.gather(*(pay(ctx, command) for command in commands))

        assert await charges_at_sandbox(ctx, org, customer) == 1
        assert len(await sent(ctx, "PaymentSucceeded", customer_id=customer)) == 1
        refusals = await sent(ctx, "CommandRejected", customer_id=customer)
        assert len(refusals) == 99
        assert {r["data"]["code"] for r in refusals} <= {"payment_pending", "already_paid"}
        paid = await invoice(ctx, org, invoice_id)
        assert (paid["status"], paid["amount_paid_minor"]) == ("paid", 12_000)


async def test_the_database_alone_refuses_a_second_pending_payment(
    mongo_uri: str, database_name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without the use case's own check, the partial unique index still decides the race."""

    async def nothing_pending(*_: object) -> list[object]:
        return []

    monkeypatch.setattr(PaymentRepository, "pending_claims", nothing_pending)
    org, customer = ids()
    async with invoicing(mongo_uri, database_name, clock()) as ctx:
        invoice_id = await invoice_to_pay(ctx, org, customer)
        await pay(ctx, pay_command(org, customer, (invoice_id,), token="btok_ach_settles"))
        await asyncio.gather(
            *(pay(ctx, pay_command(org, customer, (invoice_id,))) for _ in range(10))
        )
        assert len(await sent(ctx, "PaymentPending", customer_id=customer)) == 1
        refusals = await sent(ctx, "CommandRejected", customer_id=customer)
        assert [r["data"]["code"] for r in refusals] == ["payment_pending"] * 10
        assert await charges_at_sandbox(ctx, org, customer, "pending") == 1


async def test_a_repeated_pay_command_is_handled_once(mongo_uri: str, database_name: str) -> None:
    org, customer = ids()
    async with invoicing(mongo_uri, database_name, clock()) as ctx:
        invoice_id = await invoice_to_pay(ctx, org, customer)
        command = pay_command(org, customer, (invoice_id,))
        await pay(ctx, command)
        await pay(ctx, command)
        assert await charges_at_sandbox(ctx, org, customer) == 1
        assert len(await sent(ctx, "PaymentSucceeded", customer_id=customer)) == 1
        assert not await sent(ctx, "CommandRejected", customer_id=customer)


async def test_a_pending_bank_payment_blocks_another_until_it_fails(
    mongo_uri: str, database_name: str
) -> None:
    org, customer = ids()
    at = clock()
    async with invoicing(mongo_uri, database_name, at) as ctx:
        invoice_id = await invoice_to_pay(ctx, org, customer)
        await pay(ctx, pay_command(org, customer, (invoice_id,), token="btok_ach_fails"))
        assert len(await sent(ctx, "PaymentPending", customer_id=customer)) == 1

        await pay(ctx, pay_command(org, customer, (invoice_id,), token="tok_visa"))
        refused = await sent(ctx, "CommandRejected", customer_id=customer)
        assert [r["data"]["code"] for r in refused] == ["payment_pending"]

        at.advance(timedelta(days=3, minutes=1))
        assert await payments.resolve_payments(ctx) == 1
        failed = await sent(ctx, "PaymentFailed", customer_id=customer)
        assert failed[0]["data"]["failure"]["code"] == "bank_payment_returned"
        assert await sent(ctx, "SendCustomerEmail", template="payment_failed")

        await pay(ctx, pay_command(org, customer, (invoice_id,), token="tok_visa"))
        assert len(await sent(ctx, "PaymentSucceeded", customer_id=customer)) == 1
        assert (await invoice(ctx, org, invoice_id))["status"] == "paid"


async def test_a_bank_payment_that_settles_pays_the_invoice(
    mongo_uri: str, database_name: str
) -> None:
    org, customer = ids()
    at = clock()
    async with invoicing(mongo_uri, database_name, at) as ctx:
        invoice_id = await invoice_to_pay(ctx, org, customer)
        await pay(ctx, pay_command(org, customer, (invoice_id,), token="btok_ach_settles"))
        assert (await invoice(ctx, org, invoice_id))["status"] == "sent"
        at.advance(timedelta(days=3, minutes=1))
        await payments.resolve_payments(ctx)
        assert (await invoice(ctx, org, invoice_id))["status"] == "paid"
        assert len(await sent(ctx, "InvoicePaid", invoice_id=invoice_id)) == 1


async def test_without_a_default_tax_invoices_fail_with_cp2001_until_one_is_set(
    mongo_uri: str, database_name: str
) -> None:
    org, customer = ids()
    async with invoicing(mongo_uri, database_name, clock()) as ctx:
        await configure(ctx, org, tax=None)
        await open_customer(ctx, org, customer)
        await raise_invoice(ctx, org, customer)
        refused = await sent(ctx, "CommandRejected", customer_id=customer)
        assert refused[0]["data"]["code"] == "CP2001"
        assert "default tax" in refused[0]["data"]["reason"]

        charge = ChargeRaised(
            **fields(org),
            data=Charge(
                customer_id=customer,
                subscription_id="sub_1",
                charge_id="sub_1:renewal:1",
                reason="renewal",
                currency="EUR",
                lines=(
                    ChargeLine(
                        description="Studio plan",
                        quantity=1,
                        unit_amount_minor=5000,
                        amount_minor=5000,
                    ),
                ),
                discount_minor=0,
                total_minor=5000,
                autocharge=False,
            ),
        )
        await invoices.raise_for_charge(ctx.store, charge)
        failures = await sent(ctx, "InvoiceCreationFailed", customer_id=customer)
        assert failures[0]["data"]["code"] == "CP2001"
        assert not await sent(ctx, "InvoiceIssued", customer_id=customer)

        await configure(ctx, org)
        issued = await sent(ctx, "InvoiceIssued", customer_id=customer)
        assert [i["data"]["number"] for i in issued] == ["INV-000001"]
        assert issued[0]["data"]["total_minor"] == 6000
        await invoices.raise_for_charge(
            ctx.store, charge.model_copy(update={"event_id": uuid.uuid4()})
        )
        assert len(await sent(ctx, "InvoiceIssued", customer_id=customer)) == 1


async def test_part_payment_only_where_the_merchant_allowed_it(
    mongo_uri: str, database_name: str
) -> None:
    org, customer = ids()
    async with invoicing(mongo_uri, database_name, clock()) as ctx:
        await configure(ctx, org)
        await open_customer(ctx, org, customer)
        strict = await raise_invoice(ctx, org, customer, 10_000)
        lenient = await raise_invoice(ctx, org, customer, 10_000, allow_partial=True)

        await pay(ctx, pay_command(org, customer, (strict,), amount_minor=3_000))
        refused = await sent(ctx, "CommandRejected", customer_id=customer)
        assert [(r["data"]["code"], r["data"]["kind"]) for r in refused] == [
            ("partial_payment_not_allowed", "forbidden")
        ]
        await pay(ctx, pay_command(org, customer, (lenient,), amount_minor=3_000))
        part = await invoice(ctx, org, lenient)
        assert (part["status"], part["balance_minor"]) == ("partially_paid", 9_000)
        assert (await invoice(ctx, org, strict))["amount_paid_minor"] == 0


async def test_several_invoices_in_one_payment_with_a_receipt_listing_them(
    mongo_uri: str, database_name: str
) -> None:
    org, customer = ids()
    async with invoicing(mongo_uri, database_name, clock()) as ctx:
        await configure(ctx, org)
        await open_customer(ctx, org, customer)
        first = await raise_invoice(ctx, org, customer, 1_000)
        second = await raise_invoice(ctx, org, customer, 2_000)
        dollars = await raise_invoice(ctx, org, customer, 2_000, currency="USD")

        await pay(ctx, pay_command(org, customer, (first, dollars)))
        refused = await sent(ctx, "CommandRejected", customer_id=customer)
        assert refused[0]["data"]["code"] == "mixed_currencies"

        await pay(ctx, pay_command(org, customer, (), all_outstanding=True, save_method=True))
        [payment] = await sent(ctx, "PaymentSucceeded", customer_id=customer)
        assert payment["data"]["amount"] == {"amount_minor": 3_600, "currency": "EUR"}
        assert {a["invoice_id"] for a in payment["data"]["allocations"]} == {first, second}
        assert await sent(ctx, "PaymentMethodAdded", customer_id=customer)
        [balance] = (await sent(ctx, "AccountBalanceChanged", customer_id=customer))[-1:]
        assert balance["data"]["outstanding"]["amount_minor"] == 0

        [receipt] = await sent(ctx, "DocumentRendered", kind="receipt")
        text = PdfReader(io.BytesIO(base64.b64decode(receipt["data"]["content_base64"]))).pages[0]
        content = text.extract_text()
        assert "PAY-000001" in content
        assert "INV-000001" in content
        assert "INV-000002" in content
        assert "EUR 36.00" in content
        [email] = await sent(ctx, "SendCustomerEmail", template="payment_receipt")
        assert email["data"]["to_email"] == "anna@keller.example"
        assert email["data"]["attachments"][0]["filename"] == "PAY-000001.pdf"


async def test_autocharge_failures_are_retried_then_final(
    mongo_uri: str, database_name: str
) -> None:
    org, customer = ids()
    at = clock()
    async with invoicing(mongo_uri, database_name, at) as ctx:
        await configure(ctx, org, gateway=GatewaySetup(supports_recurring=False))
        await open_customer(ctx, org, customer)
        charge = ChargeRaised(
            **fields(org),
            data=Charge(
                customer_id=customer,
                subscription_id="sub_9",
                charge_id="sub_9:signup",
                reason="signup",
                currency="EUR",
                lines=(
                    ChargeLine(
                        description="Gym", quantity=1, unit_amount_minor=5000, amount_minor=5000
                    ),
                ),
                discount_minor=0,
                total_minor=5000,
                autocharge=True,
                payment_method_id=None,
            ),
        )
        raised = await invoices.raise_for_charge(ctx.store, charge)
        assert raised is not None
        await payments.autocharge(ctx, raised.invoice, raised.cause)
        for _ in range(3):
            at.advance(timedelta(days=6))
            await payments.run_autocharge_retries(ctx)
        failures = await sent(ctx, "AutochargeFailed", subscription_id="sub_9")
        assert [(f["data"]["attempt"], f["data"]["final"]) for f in failures] == [
            (1, False),
            (2, False),
            (3, False),
            (4, True),
        ]
        assert failures[0]["data"]["code"] == "no_payment_method"
