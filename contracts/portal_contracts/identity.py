"""Portal access and sign-in events owned by the identity service."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Discriminator, EmailStr, Field, Tag

from portal_contracts.customers import CommandRejected
from portal_contracts.envelope import Envelope, Unrecognised, message_tag
from portal_contracts.sessions import (
    MfaEnrolled,
    MfaRecoveryCodeUsed,
    MfaRemoved,
    PasswordChanged,
    PasswordReset,
    PasswordResetRequested,
    RefreshTokenReused,
    SignInLockedOut,
)
from portal_contracts.sso import SsoConfigured, SsoRemoved


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


# --- access commands (gateway -> identity.commands) -------------------------------------------


class ContactGrant(BaseModel):
    """A contact as the gateway's customer view knows it, so identity needs no lookup."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    contact_id: str = Field(min_length=1, max_length=64)
    email: EmailStr | None = None
    name: str = Field(default="", max_length=201)


class AccessGrant(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    customer_id: str = Field(min_length=1, max_length=64)
    contacts: tuple[ContactGrant, ...] = Field(min_length=1, max_length=500)
    reason: Literal["merchant", "hosted_payment"] = "merchant"


class EnablePortalAccess(Envelope):
    """Command: give these contacts of one customer portal access (each gets an invitation)."""

    type: Literal["EnablePortalAccess"] = "EnablePortalAccess"
    schema_version: Literal[1] = 1
    data: AccessGrant


class AccessWithdrawal(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    customer_id: str = Field(min_length=1, max_length=64)
    # Empty: every contact of the customer.
    contact_ids: tuple[str, ...] = Field(default=(), max_length=500)


class DisablePortalAccess(Envelope):
    """Command: take portal access away and end the contacts' sessions at once."""

    type: Literal["DisablePortalAccess"] = "DisablePortalAccess"
    schema_version: Literal[1] = 1
    data: AccessWithdrawal


class InvitationResend(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    customer_id: str = Field(min_length=1, max_length=64)
    contact: ContactGrant


class ResendPortalInvitation(Envelope):
    """Command: send a fresh portal link; the previous one stops working."""

    type: Literal["ResendPortalInvitation"] = "ResendPortalInvitation"
    schema_version: Literal[1] = 1
    data: InvitationResend


class SignUpRequest(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    customer_id: str = Field(min_length=1, max_length=64)
    contact_id: str = Field(min_length=1, max_length=64)
    email: EmailStr
    name: str = Field(default="", max_length=201)


class RequestPortalSignUp(Envelope):
    """Command: a visitor signed up with the email of an existing contact; prove they own it."""

    type: Literal["RequestPortalSignUp"] = "RequestPortalSignUp"
    schema_version: Literal[1] = 1
    data: SignUpRequest


# --- access events (identity.access-events) ---------------------------------------------------


class AccessChange(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    customer_id: str
    # Contacts that have access now (each got an invitation unless it had accepted one).
    contact_ids: tuple[str, ...]
    # Contacts of the command that could not get access (no email address).
    refused_contact_ids: tuple[str, ...] = ()
    reason: Literal["merchant", "hosted_payment", "sign_up"] = "merchant"


class PortalAccessEnabled(Envelope):
    """Outcome of `EnablePortalAccess`, after the invitations it issued."""

    type: Literal["PortalAccessEnabled"] = "PortalAccessEnabled"
    schema_version: Literal[1] = 1
    data: AccessChange


class PortalInvitationResent(Envelope):
    """A new link was sent; every earlier link of the contact stopped working."""

    type: Literal["PortalInvitationResent"] = "PortalInvitationResent"
    schema_version: Literal[1] = 1
    data: InvitationFacts


class PortalLinkResent(Envelope):
    """A contact who already has access was sent the portal's address again (e.g. after the
    portal moved to a new address)."""

    type: Literal["PortalLinkResent"] = "PortalLinkResent"
    schema_version: Literal[1] = 1
    data: ContactRef


class AccessRemoval(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    customer_id: str
    contact_ids: tuple[str, ...]
    # True when the merchant disabled the whole customer (later contacts are covered too).
    whole_customer: bool = False


class PortalAccessDisabled(Envelope):
    type: Literal["PortalAccessDisabled"] = "PortalAccessDisabled"
    schema_version: Literal[1] = 1
    data: AccessRemoval


class Revocation(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    customer_id: str
    # Empty: every contact of the customer.
    contact_ids: tuple[str, ...] = ()
    # Empty: every session of those contacts started before `revoked_before`.
    session_ids: tuple[str, ...] = ()
    revoked_before: AwareDatetime
    reason: str = Field(min_length=1, max_length=100)


class SessionsRevoked(Envelope):
    """Sessions ended; access tokens they issued must be refused from now on."""

    type: Literal["SessionsRevoked"] = "SessionsRevoked"
    schema_version: Literal[1] = 1
    data: Revocation


class PortalSignUpRequested(Envelope):
    type: Literal["PortalSignUpRequested"] = "PortalSignUpRequested"
    schema_version: Literal[1] = 1
    data: ContactRef


class PortalSignUpVerified(Envelope):
    """The contact proved they own the email and set a password: access granted."""

    type: Literal["PortalSignUpVerified"] = "PortalSignUpVerified"
    schema_version: Literal[1] = 1
    data: ContactRef


MESSAGES: tuple[type[Envelope], ...] = (
    PortalInvitationIssued,
    PortalInvitationAccepted,
    PortalAccessRefused,
    ContactSignedIn,
    SignInFailed,
    EnablePortalAccess,
    DisablePortalAccess,
    ResendPortalInvitation,
    RequestPortalSignUp,
    PortalAccessEnabled,
    PortalInvitationResent,
    PortalLinkResent,
    PortalAccessDisabled,
    SessionsRevoked,
    PortalSignUpRequested,
    PortalSignUpVerified,
)

IdentityCommand = Annotated[
    Annotated[EnablePortalAccess, Tag("EnablePortalAccess.v1")]
    | Annotated[DisablePortalAccess, Tag("DisablePortalAccess.v1")]
    | Annotated[ResendPortalInvitation, Tag("ResendPortalInvitation.v1")]
    | Annotated[RequestPortalSignUp, Tag("RequestPortalSignUp.v1")]
    | Unrecognised,
    Discriminator(message_tag),
]

# Every event identity writes to identity.access-events: add one `| Annotated[T, Tag(...)]`
# line per new type (and the type to MESSAGES above, or to a module in registry._MODULES).

AccessMessage = Annotated[
    Annotated[PortalInvitationIssued, Tag("PortalInvitationIssued.v1")]
    | Annotated[PortalInvitationAccepted, Tag("PortalInvitationAccepted.v1")]
    | Annotated[PortalAccessRefused, Tag("PortalAccessRefused.v1")]
    | Annotated[ContactSignedIn, Tag("ContactSignedIn.v1")]
    | Annotated[SignInFailed, Tag("SignInFailed.v1")]
    | Annotated[PasswordChanged, Tag("PasswordChanged.v1")]
    | Annotated[PasswordResetRequested, Tag("PasswordResetRequested.v1")]
    | Annotated[PasswordReset, Tag("PasswordReset.v1")]
    | Annotated[MfaEnrolled, Tag("MfaEnrolled.v1")]
    | Annotated[MfaRemoved, Tag("MfaRemoved.v1")]
    | Annotated[MfaRecoveryCodeUsed, Tag("MfaRecoveryCodeUsed.v1")]
    | Annotated[RefreshTokenReused, Tag("RefreshTokenReused.v1")]
    | Annotated[SignInLockedOut, Tag("SignInLockedOut.v1")]
    | Annotated[PortalAccessEnabled, Tag("PortalAccessEnabled.v1")]
    | Annotated[PortalInvitationResent, Tag("PortalInvitationResent.v1")]
    | Annotated[PortalLinkResent, Tag("PortalLinkResent.v1")]
    | Annotated[PortalAccessDisabled, Tag("PortalAccessDisabled.v1")]
    | Annotated[SessionsRevoked, Tag("SessionsRevoked.v1")]
    | Annotated[PortalSignUpRequested, Tag("PortalSignUpRequested.v1")]
    | Annotated[PortalSignUpVerified, Tag("PortalSignUpVerified.v1")]
    | Annotated[CommandRejected, Tag("CommandRejected.v1")]
    | Annotated[SsoConfigured, Tag("SsoConfigured.v1")]
    | Annotated[SsoRemoved, Tag("SsoRemoved.v1")]
    | Unrecognised,
    Discriminator(message_tag),
]
