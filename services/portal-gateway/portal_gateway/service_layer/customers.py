"""Creating a customer through the subscriptions service and waiting for the outcome."""

from __future__ import annotations

import logging
import uuid
from typing import Any

from portal_contracts.customers import CreateCustomer, NewCustomer
from portal_contracts.envelope import Actor
from portal_contracts.topics import SUBSCRIPTIONS_COMMANDS
from portal_gateway.adapters.read_models import CustomerViews
from portal_gateway.domain.views import customer_view
from portal_gateway.service_layer.commands import send_command
from portal_gateway.service_layer.context import Gateway

Document = dict[str, Any]
log = logging.getLogger(__name__)


async def create_customer(
    gateway: Gateway, organisation_id: str, new: NewCustomer, idempotency_key: str | None
) -> Document:
    """Send `CreateCustomer`; return the command document once it has an outcome, or still
    pending after the timeout. A repeated idempotency key returns the first command."""
    command = CreateCustomer(
        organisation_id=organisation_id,
        correlation_id=uuid.uuid4().hex,
        occurred_at=gateway.store.clock.now(),
        actor=Actor(kind="merchant", id=organisation_id),
        data=new,
    )
    return await send_command(
        gateway,
        SUBSCRIPTIONS_COMMANDS,
        command,
        customer_id=new.customer_id,
        outcomes=("CustomerCreated",),
        idempotency_key=idempotency_key,
    )


async def customer_details(
    gateway: Gateway, organisation_id: str, customer_id: str
) -> Document | None:
    doc = await CustomerViews(gateway.store.db).get(organisation_id, customer_id)
    return customer_view(doc) if doc else None
