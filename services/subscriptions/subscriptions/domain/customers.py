"""The customer aggregate and the rules for creating one."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from portal_contracts.common import Contact
from portal_contracts.customers import CustomerSnapshot, NewCustomer


class CustomerRefused(Exception):
    """The command breaks a customer rule; `code` names which."""

    def __init__(self, code: str, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


@dataclass
class Customer:
    organisation_id: str
    customer_id: str
    display_name: str
    company_name: str | None
    currency: str
    portal_language: str
    contacts: list[Contact]
    portal_enabled: bool
    created_at: datetime
    version: int = 1
    custom_fields: dict[str, str] = field(default_factory=dict)

    @property
    def primary_contact(self) -> Contact:
        return next(c for c in self.contacts if c.is_primary)

    def snapshot(self) -> CustomerSnapshot:
        return CustomerSnapshot(
            customer_id=self.customer_id,
            display_name=self.display_name,
            company_name=self.company_name,
            currency=self.currency,
            portal_language=self.portal_language,
            contacts=tuple(self.contacts),
            portal_enabled=self.portal_enabled,
        )


def create_customer(organisation_id: str, new: NewCustomer, now: datetime) -> Customer:
    """A new customer whose first contact is the primary one."""
    primary = new.primary_contact.model_copy(update={"is_primary": True})
    if new.enable_portal and primary.email is None:
        raise CustomerRefused(
            "contact_without_email",
            "portal access needs an email address on the primary contact",
        )
    return Customer(
        organisation_id=organisation_id,
        customer_id=new.customer_id,
        display_name=new.display_name.strip(),
        company_name=new.company_name,
        currency=new.currency,
        portal_language=new.portal_language,
        contacts=[primary],
        portal_enabled=new.enable_portal,
        created_at=now,
    )
