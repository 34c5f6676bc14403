"""Statement of account: what a customer owed at the start of a period, what happened in it,
and what they owe at its end, with the open amounts aged by days past due.

A fold over entries in any order, so the adapter can stream one query per kind without
holding the customer's history before the period: those entries only move the opening balance.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Literal

EntryKind = Literal["invoice", "payment", "credit_note", "refund"]

# Invoices and refunds raise what the customer owes; payments and credit notes lower it.
SIGN: dict[EntryKind, int] = {"invoice": 1, "refund": 1, "payment": -1, "credit_note": -1}
BUCKETS = ("current", "days_1_30", "days_31_60", "days_61_90", "over_90")
KIND_ORDER: dict[EntryKind, int] = {"invoice": 0, "refund": 1, "credit_note": 2, "payment": 3}


@dataclass(frozen=True)
class Entry:
    date: dt.date
    kind: EntryKind
    reference: str
    amount_minor: int  # a magnitude; SIGN gives the direction
    due_date: dt.date | None = None
    outstanding_minor: int = 0  # invoices: what is still owed on it


@dataclass(frozen=True)
class Line:
    date: dt.date
    kind: EntryKind
    reference: str
    amount_minor: int  # signed
    balance_minor: int


def ageing_bucket(due_date: dt.date, as_of: dt.date) -> str:
    overdue = (as_of - due_date).days
    if overdue <= 0:
        return "current"
    if overdue <= 30:
        return "days_1_30"
    if overdue <= 60:
        return "days_31_60"
    if overdue <= 90:
        return "days_61_90"
    return "over_90"


@dataclass
class Statement:
    period_start: dt.date
    period_end: dt.date
    opening_balance_minor: int = 0
    totals: dict[EntryKind, int] = field(
        default_factory=lambda: {"invoice": 0, "payment": 0, "credit_note": 0, "refund": 0}
    )
    ageing: dict[str, int] = field(default_factory=lambda: dict.fromkeys(BUCKETS, 0))
    _in_period: list[Entry] = field(default_factory=list, init=False, repr=False)
    _lines: list[Line] | None = field(default=None, init=False, repr=False)

    def add(self, entry: Entry) -> None:
        if entry.date > self.period_end:
            return
        if entry.kind == "invoice" and entry.outstanding_minor > 0:
            due = entry.due_date or entry.date
            self.ageing[ageing_bucket(due, self.period_end)] += entry.outstanding_minor
        if entry.date < self.period_start:
            self.opening_balance_minor += SIGN[entry.kind] * entry.amount_minor
            return
        self.totals[entry.kind] += entry.amount_minor
        self._in_period.append(entry)
        self._lines = None

    @property
    def closing_balance_minor(self) -> int:
        t = self.totals
        return (
            self.opening_balance_minor
            + t["invoice"]
            + t["refund"]
            - t["payment"]
            - t["credit_note"]
        )

    @property
    def lines(self) -> list[Line]:
        """The period's entries by date, each with the balance after it."""
        if self._lines is None:
            balance = self.opening_balance_minor
            lines: list[Line] = []
            ordered = sorted(
                self._in_period, key=lambda e: (e.date, KIND_ORDER[e.kind], e.reference)
            )
            for entry in ordered:
                signed = SIGN[entry.kind] * entry.amount_minor
                balance += signed
                lines.append(Line(entry.date, entry.kind, entry.reference, signed, balance))
            self._lines = lines
        return self._lines


def statement_for(
    entries: list[Entry] | tuple[Entry, ...], period_start: dt.date, period_end: dt.date
) -> Statement:
    if period_end < period_start:
        raise ValueError("the period ends before it starts")
    statement = Statement(period_start, period_end)
    for entry in entries:
        statement.add(entry)
    return statement
