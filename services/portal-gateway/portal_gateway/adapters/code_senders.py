"""How a one-time code reaches the customer: by email today (a `SendCustomerEmail` through the
gateway's outbox, the code sealed for the notifications service); SMS has a place behind the
same interface but no provider, so it refuses clearly instead of pretending to send."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from pydantic import SecretStr

from portal_contracts.envelope import Actor
from portal_contracts.notifications import CustomerEmail, SendCustomerEmail
from portal_contracts.topics import NOTIFICATIONS_COMMANDS
from portal_gateway.domain.public_links import masked
from portal_runtime.errors import Conflict, ServiceError
from portal_runtime.sealing import Sealer
from portal_runtime.store import Transaction


class SenderNotConfigured(ServiceError):
    status = 503
    code = "code_channel_not_configured"


@dataclass(frozen=True)
class CodeDelivery:
    """One code for one customer's contact, and what the message says it is for."""

    organisation_id: str
    customer_id: str
    contact_id: str | None
    email: str | None
    phone: str | None
    name: str
    merchant_name: str
    language: str
    purpose: str
    code: str
    expires_at: datetime
    link_id: str
    now: datetime


class CodeSender(Protocol):
    channel: str

    async def send(self, tx: Transaction, delivery: CodeDelivery) -> str:
        """Send the code inside `tx` (through the outbox); answer where it went, masked."""
        ...


class EmailCodeSender:
    channel = "email"

    def __init__(self, sealing_key: SecretStr) -> None:
        self._sealer = Sealer(sealing_key)

    async def send(self, tx: Transaction, delivery: CodeDelivery) -> str:
        if not delivery.email:
            raise Conflict(
                "the customer has no email address to send a code to", code="no_email_for_code"
            )
        await tx.emit(
            NOTIFICATIONS_COMMANDS,
            SendCustomerEmail(
                organisation_id=delivery.organisation_id,
                correlation_id=uuid.uuid4().hex,
                occurred_at=delivery.now,
                actor=Actor(kind="system", id=f"public_link:{delivery.link_id}"),
                data=CustomerEmail(
                    template="one_time_code",
                    customer_id=delivery.customer_id,
                    contact_id=delivery.contact_id,
                    to_email=delivery.email,
                    to_name=delivery.name,
                    merchant_name=delivery.merchant_name,
                    language=delivery.language,
                    values={
                        "purpose": delivery.purpose,
                        "expires_at": delivery.expires_at.isoformat(),
                    },
                    sealed_values={"code": self._sealer.seal(delivery.code)},
                ),
            ),
        )
        return masked(delivery.email)


class SmsCodeSender:
    """No SMS provider is wired in: asking for a code by SMS fails with a clear 503."""

    channel = "sms"

    async def send(self, tx: Transaction, delivery: CodeDelivery) -> str:
        raise SenderNotConfigured(
            "sending codes by SMS is not configured on this platform; use email",
            code="sms_not_configured",
        )
