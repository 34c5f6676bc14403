"""Quotes (estimates): what a merchant offers and how the customer answers it.

A quote goes draft -> sent -> viewed -> accepted or declined. The customer may answer only
while it is sent or viewed; answering anything else is a conflict. A sent or viewed quote left
unanswered past its `expires_on` date (by the UTC date, whatever the merchant's time zone)
becomes expired, once, and can no longer be answered.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from portal_contracts.documents import QuoteStatus

ANSWERABLE: frozenset[QuoteStatus] = frozenset({"sent", "viewed"})


class QuoteRuleBroken(Exception):
    """A step the quote's status does not allow; `code` names it for the refusal."""

    def __init__(self, code: str, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


@dataclass
class Quote:
    organisation_id: str
    quote_id: str
    customer_id: str
    number: str
    status: QuoteStatus
    currency: str
    lines: list[dict[str, Any]]
    total_minor: int
    created_at: dt.datetime
    expires_on: dt.date | None = None
    notes: str = ""
    sent_at: dt.datetime | None = None
    viewed_at: dt.datetime | None = None
    answered_at: dt.datetime | None = None
    expired_at: dt.datetime | None = None
    answered_by: str | None = None
    decline_reason: str | None = None
    comments: list[dict[str, Any]] = field(default_factory=list)

    def send(self, now: dt.datetime) -> None:
        if self.status != "draft":
            raise QuoteRuleBroken("quote_already_sent", f"quote {self.number} was already sent")
        self.status = "sent"
        self.sent_at = now

    def record_view(self, now: dt.datetime) -> bool:
        """The first view of a sent quote marks it viewed; later views change nothing."""
        if self.status != "sent":
            return False
        self.status = "viewed"
        self.viewed_at = now
        return True

    def accept(self, contact_id: str, now: dt.datetime) -> None:
        self._answer(contact_id, now, "accept")
        self.status = "accepted"

    def decline(self, contact_id: str, reason: str, now: dt.datetime) -> None:
        if not reason.strip():
            raise QuoteRuleBroken("reason_required", "say why the quote is declined")
        self._answer(contact_id, now, "decline")
        self.status = "declined"
        self.decline_reason = reason.strip()

    def expire(self, now: dt.datetime) -> bool:
        """An open quote past its expiry date becomes expired; anything else stays as it is."""
        if self.status not in ANSWERABLE or not self.past_expiry(now):
            return False
        self.status = "expired"
        self.expired_at = now
        return True

    def past_expiry(self, now: dt.datetime) -> bool:
        """The day after `expires_on` (UTC) has begun: the quote was valid through that date."""
        return self.expires_on is not None and now.date() > self.expires_on

    def _answer(self, contact_id: str, now: dt.datetime, verb: str) -> None:
        if self.status == "expired" or (self.status in ANSWERABLE and self.past_expiry(now)):
            raise QuoteRuleBroken("quote_expired", f"quote {self.number} has expired")
        if self.status not in ANSWERABLE:
            raise QuoteRuleBroken(
                "quote_not_open", f"quote {self.number} is {self.status} and cannot be {verb}ed"
            )
        self.answered_at = now
        self.answered_by = contact_id


def quote_total(lines: list[dict[str, Any]]) -> int:
    return sum(int(line["quantity"]) * int(line["unit_amount_minor"]) for line in lines)


def visible_in_portal(comment: dict[str, Any]) -> bool:
    """The customer's own comments, and the merchant's only when marked for the portal."""
    return comment["author"] == "contact" or bool(comment.get("show_in_portal"))
