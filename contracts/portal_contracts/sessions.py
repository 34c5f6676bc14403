"""Sign-in security events owned by the identity service (on identity.access-events):
passwords changed and reset, multi-factor enrolment, refresh-token reuse and lockouts.

Sign-ins themselves stay `ContactSignedIn` / `SignInFailed` (identity.py); ended sessions are
`SessionsRevoked` (identity.py)."""

from __future__ import annotations

from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from portal_contracts.envelope import Envelope


class CredentialFacts(BaseModel):
    """Who a credential change is about and where the request came from. `customer_id` and
    `contact_id` are empty only for a reset asked for an email no contact has."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    customer_id: str | None = None
    contact_id: str | None = None
    session_id: str | None = None
    ip: str = Field(default="", max_length=64)
    user_agent: str = Field(default="", max_length=512)


class PasswordChanged(Envelope):
    """The contact changed their password; every other session of theirs was ended."""

    type: Literal["PasswordChanged"] = "PasswordChanged"
    schema_version: Literal[1] = 1
    data: CredentialFacts


class PasswordResetRequested(Envelope):
    """Someone asked for a reset link. Without a contact the email matched nobody and no
    link was sent."""

    type: Literal["PasswordResetRequested"] = "PasswordResetRequested"
    schema_version: Literal[1] = 1
    data: CredentialFacts


class PasswordReset(Envelope):
    """A reset link set a new password; every session of the contact was ended."""

    type: Literal["PasswordReset"] = "PasswordReset"
    schema_version: Literal[1] = 1
    data: CredentialFacts


class MfaEnrolled(Envelope):
    """The contact confirmed an authenticator app with a first code."""

    type: Literal["MfaEnrolled"] = "MfaEnrolled"
    schema_version: Literal[1] = 1
    data: CredentialFacts


class MfaRemoved(Envelope):
    type: Literal["MfaRemoved"] = "MfaRemoved"
    schema_version: Literal[1] = 1
    data: CredentialFacts


class MfaRecoveryCodeUsed(Envelope):
    """A single-use recovery code stood in for the authenticator app."""

    type: Literal["MfaRecoveryCodeUsed"] = "MfaRecoveryCodeUsed"
    schema_version: Literal[1] = 1
    data: CredentialFacts


class RefreshTokenReused(Envelope):
    """A refresh token that had already been exchanged came back: it was copied, so the
    whole session it belongs to was ended."""

    type: Literal["RefreshTokenReused"] = "RefreshTokenReused"
    schema_version: Literal[1] = 1
    data: CredentialFacts


class LockoutFacts(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    scope: Literal["account", "ip"]
    # The contact, when the locked account's email belongs to one.
    customer_id: str | None = None
    contact_id: str | None = None
    ip: str = Field(default="", max_length=64)
    failures: int = Field(ge=1)
    locked_until: AwareDatetime


class SignInLockedOut(Envelope):
    """Too many failed sign-ins: the account (or the address they came from) is locked for
    a while."""

    type: Literal["SignInLockedOut"] = "SignInLockedOut"
    schema_version: Literal[1] = 1
    data: LockoutFacts


MESSAGES: tuple[type[Envelope], ...] = (
    PasswordChanged,
    PasswordResetRequested,
    PasswordReset,
    MfaEnrolled,
    MfaRemoved,
    MfaRecoveryCodeUsed,
    RefreshTokenReused,
    SignInLockedOut,
)
