"""A customer's receivables account: what they owe and what credit they hold."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from portal_contracts.common import Money
from portal_contracts.customers import CustomerSnapshot
from portal_contracts.invoicing import AccountBalance


@dataclass
class CustomerAccount:
    organisation_id: str
    customer_id: str
    billing_name: str
    currency: str
    outstanding_minor: int
    unused_credits_minor: int
    opened_at: datetime | None
    contact_id: str | None = None
    contact_email: str | None = None
    contact_name: str = ""
    language: str = "en"

    def balance(self) -> AccountBalance:
        return AccountBalance(
            customer_id=self.customer_id,
            outstanding=Money(amount_minor=self.outstanding_minor, currency=self.currency),
            unused_credits=Money(amount_minor=self.unused_credits_minor, currency=self.currency),
        )


def open_account(
    organisation_id: str, customer: CustomerSnapshot, now: datetime
) -> CustomerAccount:
    """A new customer starts owing nothing, in their own currency. Receipts go to the primary
    contact (or the first contact with an email address)."""
    with_email = [c for c in customer.contacts if c.email]
    contact = next((c for c in with_email if c.is_primary), with_email[0] if with_email else None)
    return CustomerAccount(
        organisation_id=organisation_id,
        customer_id=customer.customer_id,
        billing_name=customer.company_name or customer.display_name,
        currency=customer.currency,
        outstanding_minor=0,
        unused_credits_minor=0,
        opened_at=now,
        contact_id=contact.contact_id if contact else None,
        contact_email=str(contact.email) if contact and contact.email else None,
        contact_name=contact.full_name if contact else "",
        language=customer.portal_language,
    )
