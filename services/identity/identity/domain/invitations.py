"""Portal invitations and sign-up verifications: single use, expiring, stored as a digest."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

# withdrawn: the merchant disabled the contact's access while the link was pending.
InvitationStatus = Literal["pending", "accepted", "superseded", "withdrawn"]


class InvitationUnusable(Exception):
    def __init__(self, code: str, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


@dataclass
class Invitation:
    organisation_id: str
    customer_id: str
    contact_id: str
    token_digest: str
    expires_at: datetime
    status: InvitationStatus
    created_at: datetime
    accepted_at: datetime | None = None

    def check_usable(self, now: datetime) -> None:
        if self.status == "accepted":
            raise InvitationUnusable("invitation_used", "this invitation link was already used")
        if self.status == "superseded":
            raise InvitationUnusable(
                "invitation_superseded", "a newer invitation replaced this link"
            )
        if self.status == "withdrawn":
            raise InvitationUnusable(
                "invitation_withdrawn", "portal access was withdrawn; ask for a new invitation"
            )
        if now >= self.expires_at:
            raise InvitationUnusable("invitation_expired", "this invitation link has expired")


def new_invitation(
    organisation_id: str,
    customer_id: str,
    contact_id: str,
    token_digest: str,
    now: datetime,
    valid_for: timedelta,
) -> Invitation:
    return Invitation(
        organisation_id=organisation_id,
        customer_id=customer_id,
        contact_id=contact_id,
        token_digest=token_digest,
        expires_at=now + valid_for,
        status="pending",
        created_at=now,
    )


@dataclass
class SignUp:
    """A visitor's request to sign up with a contact's email, until they prove they own it."""

    organisation_id: str
    customer_id: str
    contact_id: str
    email: str
    name: str
    token_digest: str
    expires_at: datetime
    status: InvitationStatus
    created_at: datetime
    accepted_at: datetime | None = None

    def check_usable(self, now: datetime) -> None:
        if self.status == "accepted":
            raise InvitationUnusable("sign_up_used", "this sign-up link was already used")
        if self.status in ("superseded", "withdrawn"):
            raise InvitationUnusable("sign_up_superseded", "this sign-up link no longer works")
        if now >= self.expires_at:
            raise InvitationUnusable("sign_up_expired", "this sign-up link has expired")


def new_sign_up(
    organisation_id: str,
    customer_id: str,
    contact_id: str,
    email: str,
    name: str,
    token_digest: str,
    now: datetime,
    valid_for: timedelta,
) -> SignUp:
    return SignUp(
        organisation_id=organisation_id,
        customer_id=customer_id,
        contact_id=contact_id,
        email=email.lower(),
        name=name,
        token_digest=token_digest,
        expires_at=now + valid_for,
        status="pending",
        created_at=now,
    )
