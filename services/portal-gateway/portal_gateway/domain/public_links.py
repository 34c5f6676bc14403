"""Rules of secure public links: a merchant shares one invoice or quote with a random link; when
identity verification is on, opening the document needs a one-time code sent to the customer.

Pure rules only: tokens and codes are made here, their state is judged here; storing them is
the service layer's job.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

DocumentKind = Literal["invoice", "quote"]
LinkState = Literal["active", "revoked", "expired"]

TOKEN_BYTES = 32  # 256 bits of randomness in every link and viewing grant
CODE_DIGITS = 6
CODE_LIFETIME = timedelta(minutes=10)
CODE_TRIES = 5
GRANT_LIFETIME = timedelta(minutes=30)
# At most one code per link every 30 seconds, and five in an hour.
CODE_INTERVAL = timedelta(seconds=30)
CODES_PER_HOUR = 5


def new_token() -> str:
    """A link or grant token: URL-safe, 256 random bits; only its digest is ever stored."""
    return secrets.token_urlsafe(TOKEN_BYTES)


def new_code() -> str:
    """A one-time code of six digits (leading zeros kept)."""
    return f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"


def code_digest(code_id: str, code: str) -> str:
    """How a code is stored: bound to its own id, so equal codes never share a digest."""
    return hashlib.sha256(f"{code_id}:{code.strip()}".encode()).hexdigest()


def same_digest(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


def expiry(now: datetime, days: int | None) -> datetime | None:
    return now + timedelta(days=days) if days else None


def state_of(revoked_at: datetime | None, expires_at: datetime | None, now: datetime) -> LinkState:
    if revoked_at is not None:
        return "revoked"
    if expires_at is not None and expires_at <= now:
        return "expired"
    return "active"


@dataclass(frozen=True)
class TooSoon:
    """A new code was asked for too soon; `retry_after` seconds until the next may be sent."""

    retry_after: int


def may_send_code(sent_at: list[datetime], now: datetime) -> TooSoon | None:
    """None when another code may be sent now, given when the link's recent codes were sent."""
    recent = sorted(t for t in sent_at if t > now - timedelta(hours=1))
    waits: list[timedelta] = []
    if recent and recent[-1] > now - CODE_INTERVAL:
        waits.append(recent[-1] + CODE_INTERVAL - now)
    if len(recent) >= CODES_PER_HOUR:
        waits.append(recent[-CODES_PER_HOUR] + timedelta(hours=1) - now)
    if not waits:
        return None
    return TooSoon(retry_after=max(1, int(max(waits).total_seconds() + 0.999)))


CodeCheck = Literal["accepted", "wrong", "burnt", "used", "expired"]


@dataclass(frozen=True)
class IssuedCode:
    """What is stored of a code: its digest, when it stops working, tries left, when used."""

    code_id: str
    digest: str
    expires_at: datetime
    tries_left: int
    used_at: datetime | None = None


def check_code(code: IssuedCode, given: str, now: datetime) -> CodeCheck:
    """Judge one attempt (constant-time compare). A `wrong` attempt costs one try; the caller
    records it; the last wrong try burns the code."""
    if code.used_at is not None:
        return "used"
    if code.tries_left <= 0:
        return "burnt"
    if code.expires_at <= now:
        return "expired"
    if same_digest(code.digest, code_digest(code.code_id, given)):
        return "accepted"
    return "wrong"


def masked(email: str) -> str:
    """Where the code went, without giving the address away: g***@c***.example."""
    name, _, domain = email.partition("@")
    host, dot, rest = domain.partition(".")
    return f"{name[:1]}***@{host[:1]}***{dot}{rest}"
