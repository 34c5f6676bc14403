"""Credit notes: credit the merchant gives a customer, used against invoices or refunded."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Literal


class CreditRuleBroken(Exception):
    def __init__(self, code: str, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


@dataclass
class CreditNote:
    organisation_id: str
    credit_note_id: str
    customer_id: str
    number: str
    currency: str
    lines: list[dict[str, Any]]
    total_minor: int
    issued_at: dt.datetime
    reason: str = ""
    applications: list[dict[str, Any]] = field(default_factory=list)
    refunds: list[dict[str, Any]] = field(default_factory=list)

    @property
    def available_minor(self) -> int:
        used = sum(int(a["amount_minor"]) for a in self.applications)
        return self.total_minor - used - sum(int(r["amount_minor"]) for r in self.refunds)

    @property
    def status(self) -> Literal["open", "closed"]:
        return "open" if self.available_minor > 0 else "closed"

    def apply(
        self, invoice_id: str, amount_minor: int, invoice_due_minor: int, now: dt.datetime
    ) -> None:
        """Use `amount_minor` of the credit against an invoice that still owes
        `invoice_due_minor` (same currency, checked by the caller)."""
        self._spend(amount_minor)
        if amount_minor > invoice_due_minor:
            raise CreditRuleBroken(
                "more_than_due",
                f"the invoice owes only {invoice_due_minor}; apply at most that much credit",
            )
        self.applications.append(
            {"invoice_id": invoice_id, "amount_minor": amount_minor, "at": now}
        )

    def refund(self, refund_id: str, amount_minor: int, reference: str, now: dt.datetime) -> None:
        self._spend(amount_minor)
        self.refunds.append(
            {
                "refund_id": refund_id,
                "amount_minor": amount_minor,
                "reference": reference,
                "at": now,
            }
        )

    def _spend(self, amount_minor: int) -> None:
        if amount_minor <= 0:
            raise CreditRuleBroken("invalid_amount", "the amount must be positive")
        if amount_minor > self.available_minor:
            raise CreditRuleBroken(
                "not_enough_credit",
                f"credit note {self.number} has only {self.available_minor} available",
            )


def lines_total(lines: list[dict[str, Any]]) -> int:
    return sum(int(line["quantity"]) * int(line["unit_amount_minor"]) for line in lines)
