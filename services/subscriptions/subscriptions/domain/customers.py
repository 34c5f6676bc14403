"""The customer aggregate: creating one, its details and its contact persons."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from portal_contracts.common import Contact
from portal_contracts.customers import (
    Address,
    ContactPerson,
    ContactPersonChange,
    CustomerDetails,
    CustomerSnapshot,
    DetailField,
    DetailsUpdate,
    GstTreatment,
    NewCustomer,
)

RefusalKind = Literal["conflict", "forbidden", "not_found", "invalid"]

MAX_CONTACTS = 100
MAX_CUSTOM_FIELDS = 50
# Registered businesses are identified by their tax registration number.
GST_NEEDS_TAX_ID: frozenset[str] = frozenset(
    {"business_gst", "special_economic_zone", "deemed_export", "tax_deductor", "sez_developer"}
)


class CustomerRefused(Exception):
    """The command breaks a customer rule; `code` names which, `kind` how to answer it."""

    def __init__(self, code: str, reason: str, kind: RefusalKind = "conflict") -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason
        self.kind = kind


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
    phone: str | None = None
    website: str | None = None
    billing_address: Address | None = None
    shipping_address: Address | None = None
    gst_treatment: GstTreatment | None = None
    tax_id: str | None = None

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

    def details(self) -> CustomerDetails:
        return CustomerDetails(
            display_name=self.display_name,
            company_name=self.company_name,
            phone=self.phone,
            website=self.website,
            billing_address=self.billing_address,
            shipping_address=self.shipping_address,
            gst_treatment=self.gst_treatment,
            tax_id=self.tax_id,
            custom_fields=dict(self.custom_fields),
        )

    def contact(self, contact_id: str) -> Contact:
        found = next((c for c in self.contacts if c.contact_id == contact_id), None)
        if found is None:
            raise CustomerRefused(
                "contact_not_found", f"there is no contact person '{contact_id}'", "not_found"
            )
        return found

    def update_details(self, update: DetailsUpdate) -> tuple[DetailField, ...]:
        """Apply a change of details; returns the fields whose value changed."""
        before = self.details()
        if "display_name" in update.clear:
            raise CustomerRefused(
                "display_name_required", "a customer always has a display name", "invalid"
            )
        values = update.changes.model_dump(exclude_none=True, exclude={"portal_language"})
        after = before.model_dump()
        for name in update.clear:
            after[name] = {} if name == "custom_fields" else None
        custom = values.pop("custom_fields", None)
        if custom is not None:
            merged = dict(after["custom_fields"])
            for key, value in custom.items():
                if value is None:
                    merged.pop(key, None)
                else:
                    merged[key] = value
            after["custom_fields"] = merged
        after.update(values)
        details = CustomerDetails.model_validate(after)
        _check_details(details)
        old, new = before.model_dump(), details.model_dump()
        changed = tuple(name for name in CustomerDetails.model_fields if new[name] != old[name])
        self.display_name = details.display_name.strip()
        self.company_name = details.company_name
        self.phone = details.phone
        self.website = details.website
        self.billing_address = details.billing_address
        self.shipping_address = details.shipping_address
        self.gst_treatment = details.gst_treatment
        self.tax_id = details.tax_id
        self.custom_fields = dict(details.custom_fields)
        if update.changes.portal_language is not None:
            self.portal_language = update.changes.portal_language
        return changed  # type: ignore[return-value]

    def add_contact(self, person: ContactPerson, contact_id: str) -> Contact:
        if any(c.contact_id == contact_id for c in self.contacts):
            raise CustomerRefused("contact_exists", f"contact person '{contact_id}' exists")
        self._refuse_taken_email(person.email, contact_id)
        if len(self.contacts) >= MAX_CONTACTS:
            raise CustomerRefused(
                "too_many_contacts", f"a customer has at most {MAX_CONTACTS} contact persons"
            )
        contact = Contact(contact_id=contact_id, is_primary=False, **person.model_dump())
        self.contacts.append(contact)
        return contact

    def update_contact(self, change: ContactPersonChange) -> Contact:
        current = self.contact(change.contact_id)
        updates = change.model_dump(exclude_none=True, include={"first_name", "last_name", "email"})
        if "email" in updates:
            self._refuse_taken_email(updates["email"], current.contact_id)
        if change.make_primary:
            updates["is_primary"] = True
        updated = Contact.model_validate({**current.model_dump(), **updates})
        if updated.is_primary and self.portal_enabled and updated.email is None:
            raise CustomerRefused(
                "contact_without_email",
                "the primary contact of a customer with portal access needs an email address",
                "invalid",
            )
        self.contacts = [
            updated
            if c.contact_id == updated.contact_id
            else (c.model_copy(update={"is_primary": False}) if change.make_primary else c)
            for c in self.contacts
        ]
        return updated

    def remove_contact(self, contact_id: str) -> Contact:
        contact = self.contact(contact_id)
        if contact.is_primary:
            raise CustomerRefused(
                "primary_contact",
                "the primary contact cannot be removed; make another contact primary first",
            )
        self.contacts = [c for c in self.contacts if c.contact_id != contact_id]
        return contact

    def _refuse_taken_email(self, email: str | None, contact_id: str) -> None:
        if email is None:
            return
        for other in self.contacts:
            if other.contact_id != contact_id and (other.email or "").lower() == email.lower():
                raise CustomerRefused(
                    "contact_email_taken",
                    f"another contact person of this customer has the email {email}",
                )


def _check_details(details: CustomerDetails) -> None:
    if not details.display_name.strip():
        raise CustomerRefused(
            "display_name_required", "a customer always has a display name", "invalid"
        )
    if details.gst_treatment in GST_NEEDS_TAX_ID and not details.tax_id:
        raise CustomerRefused(
            "tax_id_required",
            f"GST treatment '{details.gst_treatment}' needs a tax id (GSTIN)",
            "invalid",
        )
    if len(details.custom_fields) > MAX_CUSTOM_FIELDS:
        raise CustomerRefused(
            "too_many_custom_fields",
            f"a customer has at most {MAX_CUSTOM_FIELDS} custom fields",
            "invalid",
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
