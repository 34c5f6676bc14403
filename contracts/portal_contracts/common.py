"""Value types shared by messages: money, contacts."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, EmailStr, Field


class Money(BaseModel):
    """An amount in integer minor units of an ISO 4217 currency."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    amount_minor: int
    currency: str = Field(pattern=r"^[A-Z]{3}$")


class Contact(BaseModel):
    """A person at a customer who may get portal access."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    contact_id: str = Field(min_length=1, max_length=64)
    first_name: str = Field(min_length=1, max_length=100)
    last_name: str = Field(default="", max_length=100)
    email: EmailStr | None = None
    is_primary: bool = False

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()
