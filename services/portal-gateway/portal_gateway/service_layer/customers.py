"""Creating a customer through the subscriptions service and waiting for the outcome."""

from __future__ import annotations

import asyncio
import logging
import uuid
from typing import Any

from pymongo.errors import DuplicateKeyError

from portal_contracts.customers import CreateCustomer, NewCustomer
from portal_contracts.envelope import Actor
from portal_contracts.topics import SUBSCRIPTIONS_COMMANDS
from portal_gateway.adapters.read_models import Commands, CustomerViews
from portal_gateway.domain.views import customer_view
from portal_gateway.service_layer.context import Gateway
from portal_runtime.sealing import token_digest
from portal_runtime.store import Transaction

Document = dict[str, Any]
log = logging.getLogger(__name__)


async def create_customer(
    gateway: Gateway, organisation_id: str, new: NewCustomer, idempotency_key: str | None
) -> Document:
    """Send `CreateCustomer`; return the command document once it has an outcome, or still
    pending after the timeout. A repeated idempotency key returns the first command."""
    command_id = (
        token_digest(f"{organisation_id}:{idempotency_key}")[:32]
        if idempotency_key
        else uuid.uuid4().hex
    )
    correlation_id = uuid.uuid4().hex
    now = gateway.store.clock.now()
    outcome = gateway.tracker.expect(correlation_id)

    async def work(tx: Transaction) -> None:
        await Commands(tx.db, tx.session).add(
            {
                "_id": command_id,
                "organisation_id": organisation_id,
                "correlation_id": correlation_id,
                "type": "CreateCustomer",
                "customer_id": new.customer_id,
                "status": "pending",
                "created_at": now,
            }
        )
        await tx.emit(
            SUBSCRIPTIONS_COMMANDS,
            CreateCustomer(
                organisation_id=organisation_id,
                correlation_id=correlation_id,
                occurred_at=now,
                actor=Actor(kind="merchant", id=organisation_id),
                data=new,
            ),
        )

    try:
        await gateway.store.transaction(work)
    except DuplicateKeyError:
        gateway.tracker.forget(correlation_id)
        first = await Commands(gateway.store.db).get(organisation_id, command_id)
        assert first is not None
        return first
    log.info("sent CreateCustomer %s for customer %s", command_id, new.customer_id)
    try:
        await asyncio.wait_for(outcome, gateway.settings.command_timeout_seconds)
    except TimeoutError:
        gateway.tracker.forget(correlation_id)
    done = await Commands(gateway.store.db).get(organisation_id, command_id)
    assert done is not None
    return done


async def customer_details(
    gateway: Gateway, organisation_id: str, customer_id: str
) -> Document | None:
    doc = await CustomerViews(gateway.store.db).get(organisation_id, customer_id)
    return customer_view(doc) if doc else None
