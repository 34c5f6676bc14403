"""Portal access and sign-in events owned by the identity service."""

from __future__ import annotations

from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from portal_contracts.envelope import Envelope


class InvitationFacts(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    customer_id: str
    contact_id: str
    expires_at: AwareDatetime


class PortalInvitationIssued(Envelope):
    type: Literal["PortalInvitationIssued"] = "PortalInvitationIssued"
    schema_version: Literal[1] = 1
    data: InvitationFacts


class ContactRef(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    customer_id: str
    contact_id: str


class PortalInvitationAccepted(Envelope):
    type: Literal["PortalInvitationAccepted"] = "PortalInvitationAccepted"
    schema_version: Literal[1] = 1
    data: ContactRef


class AccessRefusal(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    customer_id: str
    contact_id: str
    reason: str


class PortalAccessRefused(Envelope):
    """The merchant asked for access the contact cannot have (e.g. no email address)."""

    type: Literal["PortalAccessRefused"] = "PortalAccessRefused"
    schema_version: Literal[1] = 1
    data: AccessRefusal


class SignInFacts(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    customer_id: str | None = None
    contact_id: str | None = None
    session_id: str | None = None
    ip: str = Field(default="", max_length=64)
    user_agent: str = Field(default="", max_length=512)
    outcome: Literal["succeeded", "failed"]
    reason: str | None = None


class ContactSignedIn(Envelope):
    type: Literal["ContactSignedIn"] = "ContactSignedIn"
    schema_version: Literal[1] = 1
    data: SignInFacts


class SignInFailed(Envelope):
    type: Literal["SignInFailed"] = "SignInFailed"
    schema_version: Literal[1] = 1
    data: SignInFacts
