"""Payments: which invoices one payment settles and by how much, and the autocharge retries."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from invoicing.domain.invoices import Invoice
from portal_runtime.errors import Conflict, Forbidden, ServiceError

# After the 1st, 2nd and 3rd failed automatic charge; the 4th failure is final.
AUTOCHARGE_RETRY_AFTER = (timedelta(days=1), timedelta(days=3), timedelta(days=5))


class InvalidPayment(ServiceError):
    status = 422
    code = "invalid_payment"


@dataclass(frozen=True)
class PaymentPlan:
    currency: str
    amount_minor: int
    allocations: tuple[tuple[Invoice, int], ...]


def plan_payment(invoices: Sequence[Invoice], amount_minor: int | None = None) -> PaymentPlan:
    """One payment for `invoices`: their whole balances, or `amount_minor` of a single invoice
    when the merchant allowed partial payment on it."""
    if not invoices:
        raise Conflict("there is nothing to pay", code="nothing_to_pay")
    for invoice in invoices:
        if invoice.status == "paid":
            raise Conflict(f"invoice {invoice.number} is already paid", code="already_paid")
        if not invoice.is_open:
            raise Conflict(
                f"invoice {invoice.number} is {invoice.status} and cannot be paid",
                code="invoice_not_payable",
            )
    currencies = {invoice.currency for invoice in invoices}
    if len(currencies) > 1:
        raise InvalidPayment(
            "invoices in different currencies cannot be paid together", code="mixed_currencies"
        )
    currency = currencies.pop()
    if amount_minor is None:
        return PaymentPlan(
            currency,
            sum(invoice.balance_minor for invoice in invoices),
            tuple((invoice, invoice.balance_minor) for invoice in invoices),
        )
    if len(invoices) != 1:
        raise InvalidPayment("a part payment is for one invoice at a time", code="partial_many")
    invoice = invoices[0]
    if amount_minor < invoice.balance_minor and not invoice.allow_partial_payments:
        raise Forbidden(
            f"invoice {invoice.number} must be paid in full", code="partial_payment_not_allowed"
        )
    if amount_minor > invoice.balance_minor:
        raise InvalidPayment(
            f"the amount is more than the {invoice.balance_minor} still due on {invoice.number}",
            code="overpayment",
        )
    return PaymentPlan(currency, amount_minor, ((invoice, amount_minor),))


def after_failed_autocharge(invoice: Invoice, now: datetime) -> tuple[Invoice, bool]:
    """Count the failed automatic charge and schedule the next; True when it was the last."""
    attempts = invoice.autocharge_attempts + 1
    if attempts > len(AUTOCHARGE_RETRY_AFTER):
        return replace(invoice, autocharge_attempts=attempts, next_autocharge_at=None), True
    retry_at = now + AUTOCHARGE_RETRY_AFTER[attempts - 1]
    return replace(invoice, autocharge_attempts=attempts, next_autocharge_at=retry_at), False
