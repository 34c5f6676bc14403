"""Portal invitations: single use, expiring."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

InvitationStatus = Literal["pending", "accepted", "superseded"]


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
