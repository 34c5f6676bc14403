"""An email waiting to be sent, and when a failed send is tried again."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import parseaddr

PORTAL_INVITATION = "portal_invitation"
MERCHANT_NOTIFICATION = "merchant_notification"
CUSTOMER_MESSAGE = "customer_message"


@dataclass(frozen=True)
class MailAttachment:
    filename: str
    content_type: str
    content: bytes


@dataclass(frozen=True)
class OutgoingMail:
    organisation_id: str
    customer_id: str
    kind: str
    to: str
    to_name: str
    subject: str
    text: str
    message_id: str
    attachments: tuple[MailAttachment, ...] = ()
    reply_to: str | None = None


def message_id_for(kind: str, event_id: uuid.UUID, sender: str) -> str:
    """An RFC 5322 Message-ID derived from the command that asked for the email: every send of
    one email carries the same id, so a copy re-sent after a crash is recognisable."""
    domain = parseaddr(sender)[1].rpartition("@")[2] or "localhost"
    return f"<{kind}.{event_id}@{domain}>"


@dataclass(frozen=True)
class DeliveryPolicy:
    """`attempts` sends in all; between failures the wait doubles from `backoff_seconds` up to
    `cap_seconds`."""

    attempts: int
    backoff_seconds: float
    cap_seconds: float

    def delay(self, failed_attempts: int) -> timedelta:
        # The exponent is bounded so a long history of failures cannot overflow a float.
        exponent = min(max(failed_attempts - 1, 0), 48)
        return timedelta(seconds=min(self.cap_seconds, self.backoff_seconds * 2**exponent))

    def next_attempt_at(self, failed_attempts: int, now: datetime) -> datetime | None:
        """When to try again after `failed_attempts` failures; None means give up."""
        if failed_attempts >= self.attempts:
            return None
        return now + self.delay(failed_attempts)
