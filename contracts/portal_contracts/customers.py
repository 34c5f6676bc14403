"""Customer commands and events owned by the subscriptions service."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

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
