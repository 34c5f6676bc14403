"""Request bodies of the gateway's HTTP API."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, EmailStr, Field

from portal_contracts.customers import Language

SLUG = r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$"


class MerchantRegistration(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    portal_slug: str = Field(pattern=SLUG, description="lower-case letters, digits and dashes")
    contact_email: EmailStr
    currency: str = Field(default="USD", pattern=r"^[A-Z]{3}$")


class PrimaryContact(BaseModel):
    model_config = ConfigDict(extra="forbid")

    first_name: str = Field(min_length=1, max_length=100)
    last_name: str = Field(default="", max_length=100)
    email: EmailStr | None = None


class CustomerRegistration(BaseModel):
    model_config = ConfigDict(extra="forbid")

    display_name: str = Field(min_length=1, max_length=200)
    company_name: str | None = Field(default=None, max_length=200)
    currency: str | None = Field(default=None, pattern=r"^[A-Z]{3}$")
    portal_language: Language = "en"
    primary_contact: PrimaryContact
    enable_portal: bool = False


class InvitationAcceptance(BaseModel):
    model_config = ConfigDict(extra="forbid")

    token: str = Field(min_length=10, max_length=200)
    password: str = Field(min_length=1, max_length=1024)


class Credentials(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: EmailStr
    password: str = Field(min_length=1, max_length=1024)
