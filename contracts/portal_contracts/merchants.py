"""Merchant (organisation) facts, published by the portal gateway, which registers merchants."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Discriminator, EmailStr, Field, JsonValue, Tag

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


SLUG_PATTERN = r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$"


class PortalRename(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    portal_slug: str = Field(pattern=SLUG_PATTERN)
    previous_slug: str = Field(pattern=SLUG_PATTERN)


class PortalRenamed(Envelope):
    """The merchant renamed the portal; it now answers at `portal_slug` only."""

    type: Literal["PortalRenamed"] = "PortalRenamed"
    schema_version: Literal[1] = 1
    data: PortalRename


class CustomTab(BaseModel):
    """A link the merchant adds to the portal's sidebar."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1, max_length=40)
    url: str = Field(min_length=9, max_length=2000, pattern=r"^https://")


FieldAccessLevel = Literal["optional", "mandatory", "read_only", "hidden"]


class NotificationFlags(BaseModel):
    """The preferences that decide who hears about portal activity."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    notify_me_of_activity: bool
    notify_me_by_email: bool
    email_customers_on_comments: bool


class PortalSettings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    portal_name: str = Field(min_length=1, max_length=200)
    portal_slug: str = Field(pattern=SLUG_PATTERN)
    banner_message: str | None = Field(default=None, max_length=500)
    custom_tabs: tuple[CustomTab, ...] = ()
    field_access: dict[str, FieldAccessLevel] = Field(default_factory=dict)
    notifications: NotificationFlags
    # Every preference by section (the gateway's `Preferences`), as saved after the change.
    preferences: dict[str, dict[str, JsonValue]]


class PortalSettingsChanged(Envelope):
    """The merchant changed the portal's settings or preferences; carries the whole result."""

    type: Literal["PortalSettingsChanged"] = "PortalSettingsChanged"
    schema_version: Literal[1] = 1
    data: PortalSettings


MESSAGES: tuple[type[Envelope], ...] = (MerchantRegistered, PortalRenamed, PortalSettingsChanged)

MerchantMessage = Annotated[
    Annotated[MerchantRegistered, Tag("MerchantRegistered.v1")]
    | Annotated[PortalRenamed, Tag("PortalRenamed.v1")]
    | Annotated[PortalSettingsChanged, Tag("PortalSettingsChanged.v1")]
    | Unrecognised,
    Discriminator(message_tag),
]
