"""Invoices: totals with discount and tax, status changes, and how payments are applied."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from portal_contracts.invoicing import InvoiceLine, InvoiceSnapshot, InvoiceStatus, Tax
from portal_runtime.errors import Conflict, ServiceError

OPEN = ("sent", "viewed", "partially_paid", "overdue")
"""Statuses in which an invoice can be paid."""


class MissingDefaultTax(ServiceError):
    """CP2001: without a default tax the merchant cannot raise invoices."""

    status = 422
    code = "CP2001"


@dataclass(frozen=True)
class Invoice:
    organisation_id: str
    customer_id: str
    invoice_id: str
    number: str
    status: InvoiceStatus
    currency: str
    lines: tuple[InvoiceLine, ...]
    discount_minor: int
    tax: Tax
    issued_at: datetime
    due_at: datetime
    allow_partial_payments: bool = False
    subscription_id: str | None = None
    charge_id: str | None = None
    autocharge: bool = False
    payment_method_id: str | None = None
    amount_paid_minor: int = 0
    viewed_at: datetime | None = None
    autocharge_attempts: int = 0
    next_autocharge_at: datetime | None = None
    history: tuple[str, ...] = field(default=())

    @property
    def subtotal_minor(self) -> int:
        return sum(line.amount_minor for line in self.lines)

    @property
    def tax_minor(self) -> int:
        taxable = max(0, self.subtotal_minor - self.discount_minor)
        # Half up to the minor unit, in integers only.
        return (taxable * self.tax.rate_basis_points + 5_000) // 10_000

    @property
    def total_minor(self) -> int:
        return max(0, self.subtotal_minor - self.discount_minor) + self.tax_minor

    @property
    def balance_minor(self) -> int:
        return self.total_minor - self.amount_paid_minor

    @property
    def is_open(self) -> bool:
        return self.status in OPEN and self.balance_minor > 0

    def snapshot(self) -> InvoiceSnapshot:
        return InvoiceSnapshot(
            customer_id=self.customer_id,
            invoice_id=self.invoice_id,
            number=self.number,
            status=self.status,
            currency=self.currency,
            lines=self.lines,
            subtotal_minor=self.subtotal_minor,
            discount_minor=self.discount_minor,
            tax_name=self.tax.name,
            tax_rate_basis_points=self.tax.rate_basis_points,
            tax_minor=self.tax_minor,
            total_minor=self.total_minor,
            amount_paid_minor=self.amount_paid_minor,
            balance_minor=self.balance_minor,
            issued_at=self.issued_at,
            due_at=self.due_at,
            allow_partial_payments=self.allow_partial_payments,
            subscription_id=self.subscription_id,
            autocharge=self.autocharge,
            viewed_at=self.viewed_at,
        )


def draw_up(
    *,
    organisation_id: str,
    customer_id: str,
    invoice_id: str,
    number: str,
    currency: str,
    lines: tuple[InvoiceLine, ...],
    discount_minor: int,
    default_tax: Tax | None,
    now: datetime,
    due_in_days: int,
    as_draft: bool = False,
    allow_partial_payments: bool = False,
    subscription_id: str | None = None,
    charge_id: str | None = None,
    autocharge: bool = False,
    payment_method_id: str | None = None,
) -> Invoice:
    if default_tax is None:
        raise MissingDefaultTax(
            "no default tax is set up for this organisation, so no invoice can be raised; "
            "set one with PUT /admin/v1/invoicing/setup"
        )
    if not lines:
        raise ServiceError("an invoice needs at least one line", code="invoice_without_lines")
    return Invoice(
        organisation_id=organisation_id,
        customer_id=customer_id,
        invoice_id=invoice_id,
        number=number,
        status="draft" if as_draft else "sent",
        currency=currency,
        lines=lines,
        discount_minor=discount_minor,
        tax=default_tax,
        issued_at=now,
        due_at=now + timedelta(days=due_in_days),
        allow_partial_payments=allow_partial_payments,
        subscription_id=subscription_id,
        charge_id=charge_id,
        autocharge=autocharge,
        payment_method_id=payment_method_id,
    )


def format_number(prefix: str, sequence: int) -> str:
    return f"{prefix}-{sequence:06d}"


def send(invoice: Invoice) -> Invoice:
    if invoice.status != "draft":
        raise Conflict(f"invoice {invoice.number} is already {invoice.status}", code="not_draft")
    return replace(invoice, status="sent")


def void(invoice: Invoice) -> Invoice:
    if invoice.amount_paid_minor > 0 or invoice.status in ("paid", "void"):
        raise Conflict(
            f"invoice {invoice.number} is {invoice.status} and cannot be voided",
            code="cannot_void",
        )
    return replace(invoice, status="void", next_autocharge_at=None)


def mark_viewed(invoice: Invoice, now: datetime) -> Invoice | None:
    """The first view only; None when nothing changes."""
    if invoice.viewed_at is not None or invoice.status == "draft":
        return None
    status: InvoiceStatus = "viewed" if invoice.status == "sent" else invoice.status
    return replace(invoice, viewed_at=now, status=status)


def apply_payment(invoice: Invoice, amount_minor: int, now: datetime) -> Invoice:
    paid = invoice.amount_paid_minor + amount_minor
    if paid >= invoice.total_minor:
        return replace(invoice, amount_paid_minor=paid, status="paid", next_autocharge_at=None)
    status: InvoiceStatus = "overdue" if now > invoice.due_at else "partially_paid"
    return replace(invoice, amount_paid_minor=paid, status=status)


def mark_overdue(invoice: Invoice, now: datetime) -> Invoice | None:
    if invoice.is_open and invoice.status != "overdue" and now > invoice.due_at:
        return replace(invoice, status="overdue")
    return None
