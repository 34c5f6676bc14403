"""The password policy for portal contacts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

MIN_LENGTH = 10
MAX_LENGTH = 128


class PasswordRejected(Exception):
    pass


def check_password(password: str, email: str) -> None:
    """Long enough, not absurdly long, mixes letters with digits or symbols, and is not
    the contact's own email name."""
    if len(password) < MIN_LENGTH:
        raise PasswordRejected(f"the password must have at least {MIN_LENGTH} characters")
    if len(password) > MAX_LENGTH:
        raise PasswordRejected(f"the password must have at most {MAX_LENGTH} characters")
    if not any(c.isalpha() for c in password) or all(c.isalpha() for c in password):
        raise PasswordRejected("the password must mix letters with digits or symbols")
    local = email.split("@", 1)[0].lower()
    if len(local) >= 4 and local in password.lower():
        raise PasswordRejected("the password must not contain your email name")


class ResetLinkUnusable(Exception):
    def __init__(self, code: str, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


@dataclass
class ResetLink:
    """A password reset link: single use, expiring, replaced by a newer one."""

    organisation_id: str
    customer_id: str
    contact_id: str
    token_digest: str
    expires_at: datetime
    status: Literal["pending", "used", "superseded"]
    created_at: datetime
    used_at: datetime | None = None

    def check_usable(self, now: datetime) -> None:
        if self.status == "used":
            raise ResetLinkUnusable("reset_link_used", "this reset link was already used")
        if self.status == "superseded":
            raise ResetLinkUnusable("reset_link_superseded", "a newer reset link replaced this one")
        if now >= self.expires_at:
            raise ResetLinkUnusable("reset_link_expired", "this reset link has expired")
