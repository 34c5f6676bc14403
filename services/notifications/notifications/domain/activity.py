"""Which portal activity the merchant hears about, and how it is said."""

from __future__ import annotations

from dataclasses import dataclass

DOCUMENT_VIEWS = frozenset({"view", "download"})
_APPROVALS = frozenset({"approve", "accept", "approval"})
_DECLINES = frozenset({"decline", "reject"})
_CANCELS = frozenset({"cancel", "cancellation", "schedule_cancellation"})
_PAYS = frozenset({"pay", "payments", "payment", "bulk_payments"})
_COMMENTS = frozenset({"comment", "comments"})


@dataclass(frozen=True)
class Noteworthy:
    kind: str
    summary: str
    first_time_only: bool = False


def noteworthy(module: str, action: str, subject_id: str | None, who: str) -> Noteworthy | None:
    """The notification a portal action deserves, or None. `who` names the customer.

    The first view of an invoice is noteworthy only once (the caller remembers which invoices
    were viewed); views of anything else are not noteworthy."""
    words = set(action.replace("/", ".").replace("-", "_").split("."))
    what = f" {subject_id}" if subject_id else ""
    if module == "invoices" and action == "view":
        return Noteworthy(
            "invoice.first_viewed", f"{who} viewed invoice{what} for the first time", True
        )
    if action in DOCUMENT_VIEWS:
        return None
    if module == "payments" or words & _PAYS:
        # Payments are told from invoicing's PaymentSucceeded/PaymentFailed (what happened to
        # the money), not from the request that started them.
        return None
    if module == "comments" or words & _COMMENTS:
        return Noteworthy("comment.added", f"{who} commented{_on(module, subject_id)}")
    if module == "quotes" and words & _APPROVALS:
        return Noteworthy("quote.approved", f"{who} approved quote{what}")
    if module == "quotes" and words & _DECLINES:
        return Noteworthy("quote.declined", f"{who} declined quote{what}")
    if module in ("timesheets", "projects") and words & _APPROVALS:
        return Noteworthy("timesheet.approved", f"{who} approved timesheet{what}")
    if module in ("timesheets", "projects") and words & _DECLINES:
        return Noteworthy("timesheet.rejected", f"{who} rejected timesheet{what}")
    if module == "subscriptions" and words & _CANCELS:
        return Noteworthy("subscription.cancelled", f"{who} cancelled subscription{what}")
    if module == "subscriptions":
        return Noteworthy("subscription.updated", f"{who} changed subscription{what}")
    return None


def _on(module: str, subject_id: str | None) -> str:
    if not subject_id:
        return ""
    return f" on {module.removesuffix('s')} {subject_id}"


def amount_text(amount_minor: int, currency: str) -> str:
    """`1234, "EUR"` -> `EUR 12.34` (two decimals; the summary line only)."""
    sign = "-" if amount_minor < 0 else ""
    whole, cents = divmod(abs(amount_minor), 100)
    return f"{currency} {sign}{whole:,}.{cents:02d}"
