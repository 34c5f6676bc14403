"""Customer commands and events owned by the subscriptions service."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, EmailStr, Field

from portal_contracts.common import Contact
from portal_contracts.envelope import Envelope

Language = Literal["en", "de", "fr", "es", "nl"]


class NewCustomer(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    customer_id: str = Field(min_length=1, max_length=64)
    display_name: str = Field(min_length=1, max_length=200)
    company_name: str | None = Field(default=None, max_length=200)
    currency: str = Field(default="USD", pattern=r"^[A-Z]{3}$")
    portal_language: Language = "en"
    primary_contact: Contact
    enable_portal: bool = False


class CreateCustomer(Envelope):
    """Command: the merchant creates a customer with a primary contact."""

    type: Literal["CreateCustomer"] = "CreateCustomer"
    schema_version: Literal[1] = 1
    data: NewCustomer


class CustomerSnapshot(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    customer_id: str
    display_name: str
    company_name: str | None = None
    currency: str
    portal_language: Language = "en"
    contacts: tuple[Contact, ...]
    portal_enabled: bool


class CustomerCreated(Envelope):
    type: Literal["CustomerCreated"] = "CustomerCreated"
    schema_version: Literal[1] = 1
    data: CustomerSnapshot


class Rejection(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    customer_id: str
    command_type: str
    code: str
    reason: str
    # How the gateway answers: conflict -> 409 (not allowed in the current state),
    # forbidden -> 403 (the merchant has not enabled it), not_found -> 404, invalid -> 422.
    kind: Literal["conflict", "forbidden", "not_found", "invalid"] = "conflict"


class CommandRejected(Envelope):
    """Outcome of a command the owner refused; correlation id names the command."""

    type: Literal["CommandRejected"] = "CommandRejected"
    schema_version: Literal[1] = 1
    data: Rejection


# Customer details: everything about a customer besides its contacts and portal access.

GstTreatment = Literal[
    "business_gst",
    "business_none",
    "consumer",
    "overseas",
    "special_economic_zone",
    "deemed_export",
    "tax_deductor",
    "sez_developer",
]
DetailField = Literal[
    "display_name",
    "company_name",
    "phone",
    "website",
    "billing_address",
    "shipping_address",
    "gst_treatment",
    "tax_id",
    "custom_fields",
]
"""The names of the customer fields, as the merchant sets their portal access per field."""

CustomFieldKey = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,39}$")]
CustomFieldValue = Annotated[str, Field(max_length=500)]


class Address(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    attention: str | None = Field(default=None, max_length=200)
    street: str = Field(default="", max_length=300)
    street2: str | None = Field(default=None, max_length=300)
    city: str = Field(default="", max_length=100)
    state: str | None = Field(default=None, max_length=100)
    postal_code: str | None = Field(default=None, max_length=20)
    country: str = Field(pattern=r"^[A-Z]{2}$", description="ISO 3166-1 alpha-2")


class CustomerDetails(BaseModel):
    """The customer's details as the subscriptions service holds them after a change."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    display_name: str = Field(min_length=1, max_length=200)
    company_name: str | None = Field(default=None, max_length=200)
    phone: str | None = Field(default=None, max_length=40)
    website: str | None = Field(default=None, max_length=300)
    billing_address: Address | None = None
    shipping_address: Address | None = None
    gst_treatment: GstTreatment | None = None
    tax_id: str | None = Field(default=None, max_length=40)
    custom_fields: dict[CustomFieldKey, CustomFieldValue] = Field(default_factory=dict)


class DetailsChange(BaseModel):
    """Fields to set; a field left out (None) stays as it is. A custom field set to None is
    removed; the others are merged into the customer's custom fields."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    display_name: str | None = Field(default=None, min_length=1, max_length=200)
    company_name: str | None = Field(default=None, max_length=200)
    phone: str | None = Field(default=None, max_length=40)
    website: str | None = Field(default=None, max_length=300)
    billing_address: Address | None = None
    shipping_address: Address | None = None
    gst_treatment: GstTreatment | None = None
    tax_id: str | None = Field(default=None, max_length=40)
    custom_fields: dict[CustomFieldKey, CustomFieldValue | None] | None = None
    portal_language: Language | None = Field(
        default=None, description="The language of the customer's portal and emails"
    )


class DetailsUpdate(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    customer_id: str = Field(min_length=1, max_length=64)
    changes: DetailsChange = DetailsChange()
    clear: tuple[DetailField, ...] = Field(
        default=(), description="Fields to empty (display_name cannot be emptied)"
    )


class UpdateCustomerDetails(Envelope):
    """Command: change a customer's details (the merchant, or the customer within access)."""

    type: Literal["UpdateCustomerDetails"] = "UpdateCustomerDetails"
    schema_version: Literal[1] = 1
    data: DetailsUpdate


class DetailsUpdated(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    customer_id: str
    details: CustomerDetails
    changed: tuple[DetailField, ...]
    # The customer's portal language after the change (absent on events written before it
    # could be changed here).
    portal_language: Language | None = None


class CustomerDetailsUpdated(Envelope):
    type: Literal["CustomerDetailsUpdated"] = "CustomerDetailsUpdated"
    schema_version: Literal[1] = 1
    data: DetailsUpdated


# Contact persons


class ContactPerson(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    first_name: str = Field(min_length=1, max_length=100)
    last_name: str = Field(default="", max_length=100)
    email: EmailStr | None = None


class NewContactPerson(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    customer_id: str = Field(min_length=1, max_length=64)
    contact: ContactPerson
    contact_id: str | None = Field(
        default=None, min_length=1, max_length=64, description="Chosen by the service if absent"
    )


class AddContactPerson(Envelope):
    """Command: add a contact person to a customer (refused if one has the same email)."""

    type: Literal["AddContactPerson"] = "AddContactPerson"
    schema_version: Literal[1] = 1
    data: NewContactPerson


class ContactPersonChange(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    customer_id: str = Field(min_length=1, max_length=64)
    contact_id: str = Field(min_length=1, max_length=64)
    first_name: str | None = Field(default=None, min_length=1, max_length=100)
    last_name: str | None = Field(default=None, max_length=100)
    email: EmailStr | None = None
    make_primary: bool = False


class UpdateContactPerson(Envelope):
    type: Literal["UpdateContactPerson"] = "UpdateContactPerson"
    schema_version: Literal[1] = 1
    data: ContactPersonChange


class ContactPersonRemoval(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    customer_id: str = Field(min_length=1, max_length=64)
    contact_id: str = Field(min_length=1, max_length=64)


class RemoveContactPerson(Envelope):
    """Command: remove a contact person (never the primary one)."""

    type: Literal["RemoveContactPerson"] = "RemoveContactPerson"
    schema_version: Literal[1] = 1
    data: ContactPersonRemoval


class ContactPersonFact(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    customer_id: str
    contact: Contact


class ContactPersonAdded(Envelope):
    type: Literal["ContactPersonAdded"] = "ContactPersonAdded"
    schema_version: Literal[1] = 1
    data: ContactPersonFact


class ContactPersonUpdated(Envelope):
    """A contact person changed; when `contact.is_primary`, every other contact is not."""

    type: Literal["ContactPersonUpdated"] = "ContactPersonUpdated"
    schema_version: Literal[1] = 1
    data: ContactPersonFact


class ContactPersonRemoved(Envelope):
    """A contact person was removed; `contact` is how they were (identity revokes access)."""

    type: Literal["ContactPersonRemoved"] = "ContactPersonRemoved"
    schema_version: Literal[1] = 1
    data: ContactPersonFact
