"""Portal access and sign-in events owned by the identity service."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Discriminator, Field, Tag

from portal_contracts.envelope import Envelope, Unrecognised, message_tag


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


MESSAGES: tuple[type[Envelope], ...] = (
    PortalInvitationIssued,
    PortalInvitationAccepted,
    PortalAccessRefused,
    ContactSignedIn,
    SignInFailed,
)

AccessMessage = Annotated[
    Annotated[PortalInvitationIssued, Tag("PortalInvitationIssued.v1")]
    | Annotated[PortalInvitationAccepted, Tag("PortalInvitationAccepted.v1")]
    | Annotated[PortalAccessRefused, Tag("PortalAccessRefused.v1")]
    | Annotated[ContactSignedIn, Tag("ContactSignedIn.v1")]
    | Annotated[SignInFailed, Tag("SignInFailed.v1")]
    | Unrecognised,
    Discriminator(message_tag),
]
