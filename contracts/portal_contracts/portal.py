"""What customers do in the portal, recorded by the portal gateway (the only front door)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag

from portal_contracts.envelope import Envelope, Unrecognised, message_tag


class PortalActivity(BaseModel):
    """One portal action: who (contact), for which customer, what (module + action, on which
    document), from where. When is the envelope's `occurred_at`.

    `module` is the portal area ("invoices", "payments", "subscriptions", "quotes",
    "timesheets", "reviews", "profile", ...); `action` what was done there ("view",
    "download", "pay", "approve", "cancel", "create", "update", "delete", ...)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    customer_id: str = Field(min_length=1, max_length=64)
    contact_id: str = Field(min_length=1, max_length=64)
    module: str = Field(min_length=1, max_length=60)
    action: str = Field(min_length=1, max_length=80)
    subject_id: str | None = Field(default=None, max_length=128)
    method: str = Field(default="POST", max_length=10)
    route: str = Field(default="", max_length=300)
    status_code: int = 200
    ip: str = Field(default="", max_length=64)
    user_agent: str = Field(default="", max_length=512)
    session_id: str | None = Field(default=None, max_length=128)


class PortalActivityRecorded(Envelope):
    type: Literal["PortalActivityRecorded"] = "PortalActivityRecorded"
    schema_version: Literal[1] = 1
    data: PortalActivity


MESSAGES: tuple[type[Envelope], ...] = (PortalActivityRecorded,)

PortalMessage = Annotated[
    Annotated[PortalActivityRecorded, Tag("PortalActivityRecorded.v1")] | Unrecognised,
    Discriminator(message_tag),
]
