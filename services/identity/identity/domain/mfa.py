"""Time-based one-time codes (RFC 6238) and recovery codes: the pure rules.

A code is accepted for the current 30-second step or the one either side (clock drift), never
wider. The caller stores the step a code matched and refuses any step not later than the last
one used, so a code read over a shoulder cannot be replayed."""

from __future__ import annotations

import hmac
import re
import secrets
from datetime import datetime

import pyotp

PERIOD_SECONDS = 30
DIGITS = 6
# How many steps either side of now still count; RFC 6238 advises at most one.
VALID_WINDOW = 1
RECOVERY_CODE_COUNT = 10
_RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
_SEPARATORS = re.compile(r"[\s-]+")


def new_secret() -> str:
    return pyotp.random_base32()


def provisioning_uri(secret: str, account: str, issuer: str) -> str:
    """The otpauth:// URI authenticator apps read from the QR code."""
    return pyotp.TOTP(secret, digits=DIGITS, interval=PERIOD_SECONDS).provisioning_uri(
        name=account, issuer_name=issuer
    )


def step_at(moment: datetime) -> int:
    return int(moment.timestamp()) // PERIOD_SECONDS


def normalise(code: str) -> str:
    return _SEPARATORS.sub("", code).lower()


def looks_like_totp(code: str) -> bool:
    plain = normalise(code)
    return len(plain) == DIGITS and plain.isdigit()


def matching_step(secret: str, code: str, now: datetime) -> int | None:
    """The time step `code` belongs to, within the window around `now`, or None. Every step
    in the window is compared (in constant time), so timing does not tell which one matched."""
    totp = pyotp.TOTP(secret, digits=DIGITS, interval=PERIOD_SECONDS)
    plain = normalise(code)
    current = step_at(now)
    matched: int | None = None
    for step in range(current - VALID_WINDOW, current + VALID_WINDOW + 1):
        if hmac.compare_digest(totp.generate_otp(step), plain):
            matched = step
    return matched


def code_at(secret: str, moment: datetime) -> str:
    """The code an authenticator app shows at `moment` (tests and the benchmark use it)."""
    return pyotp.TOTP(secret, digits=DIGITS, interval=PERIOD_SECONDS).at(moment)


def new_recovery_codes(count: int = RECOVERY_CODE_COUNT) -> list[str]:
    """Ten codes like `k7pq2-x9mfa` (50 random bits each), shown to the contact once."""
    codes = []
    for _ in range(count):
        raw = "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(10))
        codes.append(f"{raw[:5]}-{raw[5:]}")
    return codes
