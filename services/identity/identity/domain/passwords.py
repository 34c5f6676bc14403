"""The password policy for portal contacts."""

from __future__ import annotations

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
