"""Creating customers."""

from __future__ import annotations

import logging

from portal_contracts.customers import (
    CommandRejected,
    CreateCustomer,
    CustomerCreated,
    Rejection,
)
from portal_contracts.topics import CUSTOMER_EVENTS
from portal_runtime.store import Store, Transaction
from subscriptions.adapters.customers import CustomerRepository
from subscriptions.domain.customers import CustomerRefused, create_customer

log = logging.getLogger(__name__)
CONSUMER = "subscriptions"


async def handle_create_customer(store: Store, command: CreateCustomer) -> None:
    async def work(tx: Transaction) -> None:
        customers = CustomerRepository(tx.db, tx.session)
        new = command.data
        try:
            if await customers.get(command.organisation_id, new.customer_id) is not None:
                raise CustomerRefused("customer_exists", "a customer with this id already exists")
            customer = create_customer(command.organisation_id, new, store.clock.now())
        except CustomerRefused as refused:
            await tx.emit(
                CUSTOMER_EVENTS,
                CommandRejected(
                    **command.follow_up(),
                    occurred_at=store.clock.now(),
                    actor=command.actor,
                    data=Rejection(
                        customer_id=new.customer_id,
                        command_type=command.type,
                        code=refused.code,
                        reason=refused.reason,
                    ),
                ),
            )
            log.info("refused %s for %s: %s", command.type, new.customer_id, refused.code)
            return
        await customers.add(customer)
        await tx.emit(
            CUSTOMER_EVENTS,
            CustomerCreated(
                **command.follow_up(),
                occurred_at=store.clock.now(),
                actor=command.actor,
                data=customer.snapshot(),
            ),
        )
        log.info("created customer %s", customer.customer_id)

    await store.transaction(work, handling=(CONSUMER, command))
