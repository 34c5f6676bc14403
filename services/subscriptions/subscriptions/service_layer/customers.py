"""Creating customers, changing their details and their contact persons."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable

from portal_contracts.customers import (
    AddContactPerson,
    CommandRejected,
    ContactPersonAdded,
    ContactPersonFact,
    ContactPersonRemoved,
    ContactPersonUpdated,
    CreateCustomer,
    CustomerCreated,
    CustomerDetailsUpdated,
    DetailsUpdated,
    Rejection,
    RemoveContactPerson,
    UpdateContactPerson,
    UpdateCustomerDetails,
)
from portal_contracts.envelope import Envelope
from portal_contracts.topics import CUSTOMER_EVENTS
from portal_runtime.store import Store, Transaction
from subscriptions.adapters.customers import CustomerRepository
from subscriptions.domain.customers import Customer, CustomerRefused, create_customer

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


CustomerCommand = (
    UpdateCustomerDetails | AddContactPerson | UpdateContactPerson | RemoveContactPerson
)
CUSTOMER_COMMANDS = (
    UpdateCustomerDetails,
    AddContactPerson,
    UpdateContactPerson,
    RemoveContactPerson,
)


async def handle_customer_command(store: Store, command: CustomerCommand) -> None:
    """Load the customer, let the domain decide, save and emit the outcome in one transaction;
    a refusal is a `CommandRejected` with the command's correlation id."""
    decide = _DECISIONS[type(command)]
    customer_id = command.data.customer_id

    async def work(tx: Transaction) -> None:
        customers = CustomerRepository(tx.db, tx.session)
        customer = await customers.get(command.organisation_id, customer_id)
        try:
            if customer is None:
                raise CustomerRefused(
                    "customer_not_found", f"there is no customer '{customer_id}'", "not_found"
                )
            event = decide(customer, command, store)
        except CustomerRefused as refused:
            await tx.emit(CUSTOMER_EVENTS, _rejection(store, command, customer_id, refused))
            log.info("refused %s for %s: %s", command.type, customer_id, refused.code)
            return
        await customers.save(customer)
        await tx.emit(CUSTOMER_EVENTS, event)
        log.info("%s for customer %s", event.type, customer_id)

    await store.transaction(work, handling=(CONSUMER, command))


def _update_details(customer: Customer, command: CustomerCommand, store: Store) -> Envelope:
    assert isinstance(command, UpdateCustomerDetails)
    changed = customer.update_details(command.data)
    return CustomerDetailsUpdated(
        **command.follow_up(),
        occurred_at=store.clock.now(),
        actor=command.actor,
        data=DetailsUpdated(
            customer_id=customer.customer_id,
            details=customer.details(),
            changed=changed,
            portal_language=customer.portal_language,
        ),
    )


def _add_contact(customer: Customer, command: CustomerCommand, store: Store) -> Envelope:
    assert isinstance(command, AddContactPerson)
    contact_id = command.data.contact_id or f"ct_{uuid.uuid4().hex[:20]}"
    contact = customer.add_contact(command.data.contact, contact_id)
    return ContactPersonAdded(
        **command.follow_up(),
        occurred_at=store.clock.now(),
        actor=command.actor,
        data=ContactPersonFact(customer_id=customer.customer_id, contact=contact),
    )


def _update_contact(customer: Customer, command: CustomerCommand, store: Store) -> Envelope:
    assert isinstance(command, UpdateContactPerson)
    contact = customer.update_contact(command.data)
    return ContactPersonUpdated(
        **command.follow_up(),
        occurred_at=store.clock.now(),
        actor=command.actor,
        data=ContactPersonFact(customer_id=customer.customer_id, contact=contact),
    )


def _remove_contact(customer: Customer, command: CustomerCommand, store: Store) -> Envelope:
    assert isinstance(command, RemoveContactPerson)
    contact = customer.remove_contact(command.data.contact_id)
    return ContactPersonRemoved(
        **command.follow_up(),
        occurred_at=store.clock.now(),
        actor=command.actor,
        data=ContactPersonFact(customer_id=customer.customer_id, contact=contact),
    )


_DECISIONS: dict[type[Envelope], Callable[[Customer, CustomerCommand, Store], Envelope]] = {
    UpdateCustomerDetails: _update_details,
    AddContactPerson: _add_contact,
    UpdateContactPerson: _update_contact,
    RemoveContactPerson: _remove_contact,
}


def _rejection(
    store: Store, command: Envelope, customer_id: str, refused: CustomerRefused
) -> CommandRejected:
    return CommandRejected(
        **command.follow_up(),
        occurred_at=store.clock.now(),
        actor=command.actor,
        data=Rejection(
            customer_id=customer_id,
            command_type=command.type,
            code=refused.code,
            reason=refused.reason,
            kind=refused.kind,
        ),
    )
