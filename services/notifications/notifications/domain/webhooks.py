"""Signing webhook deliveries and when a failed delivery is tried again.

A delivery carries `Portal-Signature: t=<unix seconds>,v1=<hex>`, where the hex is
HMAC-SHA256 under the endpoint's secret over `"<t>.<raw body>"`. A receiver recomputes it,
compares in constant time, and rejects a timestamp older than its tolerance (a replayed
request). `verify_signature` below is the function receivers can copy.

While a rotated secret's grace period runs, the header carries one `v1` per secret, the new
one first (`t=...,v1=<new>,v1=<old>`); a receiver accepts the request when any `v1` matches
the secret it holds, so it can switch secrets at any moment of the grace period.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

SIGNATURE_HEADER = "Portal-Signature"
EVENT_ID_HEADER = "Portal-Event-Id"
DELIVERY_ID_HEADER = "Portal-Delivery-Id"
DEFAULT_TOLERANCE_SECONDS = 300

# 1 minute, 5 minutes, 30 minutes, 2 hours, 12 hours, then daily three times: 9 tries, the
# last about 3.6 days after the first, after which the delivery is dead.
RETRY_SCHEDULE_SECONDS: tuple[float, ...] = (60, 300, 1800, 7200, 43200, 86400, 86400, 86400)


def sign(secret: str, body: bytes, timestamp: int, previous: Sequence[str] = ()) -> str:
    """The `Portal-Signature` header value for `body` sent at `timestamp` (unix seconds);
    `previous` are secrets still in their grace period after a rotation, signed after the
    current one."""
    signatures = ",".join(f"v1={_digest(key, body, timestamp)}" for key in (secret, *previous))
    return f"t={timestamp},{signatures}"


def _digest(secret: str, body: bytes, timestamp: int) -> str:
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def verify_signature(
    secret: str,
    body: bytes,
    header: str,
    *,
    tolerance_seconds: int = DEFAULT_TOLERANCE_SECONDS,
    now: float | None = None,
) -> bool:
    """True when `header` is a valid signature of `body` made within the tolerance: any of
    its `v1` values may match (two are sent while a rotated secret's grace period runs).

    Receivers: pass the raw request body (before any JSON parsing) and the header value;
    answer 400 when this is False. Deduplicate on the `Portal-Event-Id` header: a retry or a
    replay carries the same id and the same body."""
    parts: dict[str, list[str]] = {}
    for item in header.split(","):
        key, _, value = item.strip().partition("=")
        parts.setdefault(key, []).append(value)
    try:
        timestamp = int(parts["t"][0])
    except (KeyError, ValueError):
        return False
    current = time.time() if now is None else now
    if abs(current - timestamp) > tolerance_seconds:
        return False
    expected = _digest(secret, body, timestamp)
    return any(hmac.compare_digest(expected, given) for given in parts.get("v1", []))


@dataclass(frozen=True)
class RetrySchedule:
    """Waits between tries; a delivery gets `len(waits) + 1` tries in all."""

    waits: tuple[float, ...] = RETRY_SCHEDULE_SECONDS

    @property
    def attempts(self) -> int:
        return len(self.waits) + 1

    def next_attempt_at(self, failed_attempts: int, now: datetime) -> datetime | None:
        """When to try again after `failed_attempts` failures; None means the delivery is
        dead."""
        if failed_attempts > len(self.waits):
            return None
        return now + timedelta(seconds=self.waits[failed_attempts - 1])
