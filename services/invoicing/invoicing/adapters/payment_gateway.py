"""The payment gateway interface and the built-in sandbox gateway.

A gateway charges a token (a card or bank account the gateway holds; we never see the number)
once per idempotency key: a repeated key returns the first result, as real gateways do. The
sandbox keeps its charges in its own collection (`sandbox_charges`) and behaves like a real
gateway for its test tokens (see `TEST_TOKENS` and docs/invoicing.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal, Protocol

from pymongo import ASCENDING
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from portal_contracts.invoicing import GatewaySetup, MethodSummary
from portal_runtime.clock import Clock

Document = dict[str, Any]
ChargeStatus = Literal["succeeded", "pending", "failed"]


@dataclass(frozen=True)
class ChargeRequest:
    idempotency_key: str
    organisation_id: str
    customer_id: str
    amount_minor: int
    currency: str
    token: str
    setup: GatewaySetup
    recurring: bool = False  # the customer is not present (an automatic charge)
    saved_method: bool = False  # a stored token charged again (a reference transaction)
    description: str = ""


@dataclass(frozen=True)
class ChargeResult:
    status: ChargeStatus
    reference: str
    failure_code: str | None = None


class PaymentGateway(Protocol):
    async def describe(self, token: str) -> MethodSummary | None:
        """What the token is (brand, last four, expiry), or None if the gateway does not know
        it."""

    async def charge(self, request: ChargeRequest) -> ChargeResult:
        """Charge once per idempotency key; a repeated key answers the first result."""

    async def status(self, idempotency_key: str) -> ChargeResult | None:
        """The charge as it stands now (a pending bank payment may have settled or failed)."""


_CARD = "card"
_BANK = "bank_account"


def _card(brand: str, last4: str) -> MethodSummary:
    return MethodSummary(kind=_CARD, brand=brand, last4=last4, exp_month=12, exp_year=2034)


# token -> (method, outcome): succeeded, a failure code, or a bank payment that settles/fails.
TEST_TOKENS: dict[str, tuple[MethodSummary, str]] = {
    "tok_visa": (_card("visa", "4242"), "succeeded"),
    "tok_mastercard": (_card("mastercard", "4444"), "succeeded"),
    "tok_amex": (_card("amex", "8431"), "succeeded"),
    "tok_declined": (_card("visa", "0002"), "card_declined"),
    "tok_fraud": (_card("visa", "0019"), "CP3003"),
    "tok_avs_fail": (_card("visa", "0010"), "CP3004"),
    "btok_ach_settles": (MethodSummary(kind=_BANK, brand="ACH", last4="6789"), "ach_settles"),
    "btok_ach_fails": (MethodSummary(kind=_BANK, brand="ACH", last4="1116"), "ach_fails"),
}


class ChargeBook(Protocol):
    """Where the sandbox keeps its charges (MongoDB in the service, memory in unit tests)."""

    async def get(self, key: str) -> Document | None: ...

    async def insert(self, charge: Document) -> Document:
        """Store the charge; if its key is taken already, return the charge stored first."""

    async def recent(self, like: Document, since: datetime) -> Document | None:
        """A succeeded or pending charge with the same fields as `like` since `since`."""

    async def update_pending(self, key: str, changes: Document) -> None: ...

    async def count(self, organisation_id: str, customer_id: str, status: str) -> int: ...


class MongoChargeBook:
    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self.charges = db["sandbox_charges"]

    async def ensure_indexes(self) -> None:
        await self.charges.create_index(
            [
                ("organisation_id", ASCENDING),
                ("customer_id", ASCENDING),
                ("token", ASCENDING),
                ("created_at", ASCENDING),
            ]
        )

    async def get(self, key: str) -> Document | None:
        return await self.charges.find_one({"_id": key})

    async def insert(self, charge: Document) -> Document:
        try:
            await self.charges.insert_one(charge)
        except DuplicateKeyError:
            first = await self.charges.find_one({"_id": charge["_id"]})
            if first is None:
                raise
            return first
        return charge

    async def recent(self, like: Document, since: datetime) -> Document | None:
        return await self.charges.find_one(
            {**like, "status": {"$in": ["succeeded", "pending"]}, "created_at": {"$gt": since}}
        )

    async def update_pending(self, key: str, changes: Document) -> None:
        await self.charges.update_one({"_id": key, "status": "pending"}, {"$set": changes})

    async def count(self, organisation_id: str, customer_id: str, status: str) -> int:
        return await self.charges.count_documents(
            {"organisation_id": organisation_id, "customer_id": customer_id, "status": status}
        )


class MemoryChargeBook:
    def __init__(self) -> None:
        self.charges: dict[str, Document] = {}

    async def get(self, key: str) -> Document | None:
        return self.charges.get(key)

    async def insert(self, charge: Document) -> Document:
        return self.charges.setdefault(charge["_id"], charge)

    async def recent(self, like: Document, since: datetime) -> Document | None:
        for charge in self.charges.values():
            if (
                all(charge.get(name) == value for name, value in like.items())
                and charge["status"] in ("succeeded", "pending")
                and charge["created_at"] > since
            ):
                return charge
        return None

    async def update_pending(self, key: str, changes: Document) -> None:
        charge = self.charges.get(key)
        if charge is not None and charge["status"] == "pending":
            charge.update(changes)

    async def count(self, organisation_id: str, customer_id: str, status: str) -> int:
        return sum(
            1
            for charge in self.charges.values()
            if (charge["organisation_id"], charge["customer_id"], charge["status"])
            == (organisation_id, customer_id, status)
        )


class SandboxGateway:
    """A gateway that behaves like a real one, for development, tests and demos."""

    def __init__(
        self,
        book: ChargeBook,
        clock: Clock,
        *,
        settle_after: timedelta = timedelta(days=3),
        duplicate_window: timedelta = timedelta(minutes=5),
    ) -> None:
        self.book = book
        self.clock = clock
        self.settle_after = settle_after
        self.duplicate_window = duplicate_window

    async def describe(self, token: str) -> MethodSummary | None:
        known = TEST_TOKENS.get(token)
        return known[0] if known else None

    async def charge(self, request: ChargeRequest) -> ChargeResult:
        first = await self.book.get(request.idempotency_key)
        if first is not None:
            return _result(first)
        now = self.clock.now()
        status, code = await self._decide(request, now)
        stored = await self.book.insert(
            {
                "_id": request.idempotency_key,
                "organisation_id": request.organisation_id,
                "customer_id": request.customer_id,
                "amount_minor": request.amount_minor,
                "currency": request.currency,
                "token": request.token,
                "description": request.description,
                "status": status,
                "failure_code": code,
                "created_at": now,
                "settle_at": now + self.settle_after if status == "pending" else None,
            }
        )
        return _result(stored)

    async def _decide(
        self, request: ChargeRequest, now: datetime
    ) -> tuple[ChargeStatus, str | None]:
        setup = request.setup
        known = TEST_TOKENS.get(request.token)
        if not setup.credentials_valid:
            return "failed", "CP3002"
        if known is None:
            return "failed", "invalid_token"
        if request.currency not in setup.currencies:
            return "failed", "CP4003"
        if request.amount_minor < setup.minimum_amount_minor:
            return "failed", "CP4001"
        if request.recurring and not setup.supports_recurring:
            return "failed", "CP4002"
        if request.saved_method and not setup.reference_transactions:
            return "failed", "CP3001"
        outcome = known[1]
        if outcome not in ("succeeded", "ach_settles", "ach_fails"):
            return "failed", outcome
        like = {
            "organisation_id": request.organisation_id,
            "customer_id": request.customer_id,
            "token": request.token,
            "amount_minor": request.amount_minor,
            "currency": request.currency,
        }
        if await self.book.recent(like, now - self.duplicate_window) is not None:
            return "failed", "CP3005"
        return ("pending", None) if outcome.startswith("ach_") else ("succeeded", None)

    async def status(self, idempotency_key: str) -> ChargeResult | None:
        charge = await self.book.get(idempotency_key)
        if charge is None:
            return None
        if charge["status"] == "pending" and charge["settle_at"] <= self.clock.now():
            forced = charge.get("forced_outcome")
            fails = forced == "failed" or (forced is None and charge["token"] == "btok_ach_fails")
            status, code = ("failed", "bank_payment_returned") if fails else ("succeeded", None)
            await self.book.update_pending(
                idempotency_key, {"status": status, "failure_code": code}
            )
            charge = {**charge, "status": status, "failure_code": code}
        return _result(charge)

    async def resolve(self, idempotency_key: str, outcome: Literal["settled", "failed"]) -> None:
        """Sandbox only: a pending bank payment settles or fails at the next status check."""
        await self.book.update_pending(
            idempotency_key, {"settle_at": self.clock.now(), "forced_outcome": outcome}
        )

    async def count(self, organisation_id: str, customer_id: str, status: str = "succeeded") -> int:
        return await self.book.count(organisation_id, customer_id, status)


def _result(document: Document) -> ChargeResult:
    return ChargeResult(
        status=document["status"],
        reference=str(document["_id"]),
        failure_code=document.get("failure_code"),
    )
