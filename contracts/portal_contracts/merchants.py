"""Merchant (organisation) facts, published by the portal gateway, which registers merchants."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Discriminator, EmailStr, Field, Tag

from portal_contracts.envelope import Envelope, Unrecognised, message_tag


class MerchantProfile(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    portal_slug: str = Field(pattern=r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
    contact_email: EmailStr
    currency: str = Field(default="USD", pattern=r"^[A-Z]{3}$")


class MerchantRegistered(Envelope):
    type: Literal["MerchantRegistered"] = "MerchantRegistered"
    schema_version: Literal[1] = 1
    data: MerchantProfile


MESSAGES: tuple[type[Envelope], ...] = (MerchantRegistered,)

MerchantMessage = Annotated[
    Annotated[MerchantRegistered, Tag("MerchantRegistered.v1")] | Unrecognised,
    Discriminator(message_tag),
]
