"""Sending a command to its owning service and waiting for its outcome event.

Every portal or admin action that changes another service's facts goes through `send_command`:
the command document (status pending) and the command message (outbox) commit together; a
repeated idempotency key returns the first command; the request waits up to the configured
timeout for the outcome event, which `record_outcome` writes in the same transaction as the read
model it changes (so the caller reads its own write), then answers.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from typing import Any

from pymongo.errors import DuplicateKeyError

from portal_contracts.customers import CommandRejected
from portal_contracts.envelope import Envelope
from portal_gateway.adapters.read_models import Commands
from portal_gateway.service_layer.context import Gateway
from portal_runtime.errors import Conflict, Forbidden, NotFound, ServiceError
from portal_runtime.sealing import token_digest
from portal_runtime.store import Transaction
from portal_runtime.waiting import within

Document = dict[str, Any]
log = logging.getLogger(__name__)


class Rejected(ServiceError):
    status = 422
    code = "rejected"


# One command transaction at a time per customer in this process: concurrent commands of one
# customer otherwise all write the customer's outbox stream number (one document) and retry on
# write conflicts until MongoDB gives up. Only the short transaction is serialised, not the wait
# for the outcome.
_SENDING: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()


def sending_lock(customer_id: str) -> asyncio.Lock:
    """The lock a gateway transaction that emits for this customer holds (see above)."""
    lock = _SENDING.get(customer_id)
    if lock is None:
        lock = asyncio.Lock()
        _SENDING[customer_id] = lock
    return lock


def command_id_for(organisation_id: str, idempotency_key: str | None, correlation_id: str) -> str:
    if idempotency_key:
        return token_digest(f"{organisation_id}:{idempotency_key}")[:32]
    return correlation_id


async def send_command(
    gateway: Gateway,
    topic: str,
    command: Envelope,
    *,
    customer_id: str,
    outcomes: tuple[str, ...],
    idempotency_key: str | None = None,
    details: Document | None = None,
) -> Document:
    """Send `command`; return its command document once an outcome arrived, or still pending
    after the timeout. `outcomes` names the event types that settle it (a `CommandRejected`
    with the same correlation id always does)."""
    organisation_id = command.organisation_id
    correlation_id = command.correlation_id
    command_id = command_id_for(organisation_id, idempotency_key, correlation_id)
    outcome = gateway.tracker.expect(correlation_id)

    async def work(tx: Transaction) -> None:
        await Commands(tx.db, tx.session).add(
            {
                "_id": command_id,
                "organisation_id": organisation_id,
                "correlation_id": correlation_id,
                "type": command.type,
                "customer_id": customer_id,
                "outcomes": [*outcomes, CommandRejected.model_fields["type"].default],
                "status": "pending",
                "created_at": gateway.store.clock.now(),
                **(details or {}),
            }
        )
        await tx.emit(topic, command)

    try:
        async with sending_lock(customer_id):
            await gateway.store.transaction(work)
    except DuplicateKeyError:
        gateway.tracker.forget(correlation_id)
        first = await Commands(gateway.store.db).get(organisation_id, command_id)
        if first is None:
            raise
        return first
    log.info("sent %s %s for customer %s", command.type, command_id, customer_id)
    try:
        await within(outcome, gateway.settings.command_timeout_seconds)
    except TimeoutError:
        gateway.tracker.forget(correlation_id)
    done = await Commands(gateway.store.db).get(organisation_id, command_id)
    if done is None:
        raise NotFound(f"command '{command_id}' disappeared")
    return done


async def record_outcome(tx: Transaction, event: Envelope) -> Document | None:
    """Settle the pending command this event answers, if any (inside the projection's
    transaction). Returns the outcome so the caller can wake the waiting request."""
    if isinstance(event, CommandRejected):
        outcome: Document = {
            "status": "rejected",
            "code": event.data.code,
            "reason": event.data.reason,
            "kind": event.data.kind,
        }
    else:
        data = getattr(event, "data", None)
        outcome = {
            "status": "succeeded",
            "outcome_type": event.type,
            "result": data.model_dump(mode="json") if data is not None else {},
        }
    if await Commands(tx.db, tx.session).finish(event.correlation_id, event.type, outcome):
        return outcome
    return None


def raise_if_rejected(command: Document) -> None:
    """Turn a rejected command into the HTTP problem its owner asked for."""
    if command["status"] != "rejected":
        return
    reason, code = command["reason"], command.get("code")
    match command.get("kind", "conflict"):
        case "conflict":
            raise Conflict(reason, code=code)
        case "forbidden":
            raise Forbidden(reason, code=code)
        case "not_found":
            raise NotFound(reason, code=code)
        case _:
            raise Rejected(reason, code=code)


def pending_response(command: Document, status_root: str) -> Document:
    """Body of a 202: where to look for the outcome later."""
    return {"status": "pending", "status_url": f"{status_root}/commands/{command['_id']}"}
