"""Changing a customer's details and contact persons through the subscriptions service, and
keeping the customer view's copy of them up to date."""

from __future__ import annotations

import uuid
from typing import Any

from portal_contracts.customers import (
    AddContactPerson,
    ContactPerson,
    ContactPersonAdded,
    ContactPersonChange,
    ContactPersonRemoval,
    ContactPersonRemoved,
    ContactPersonUpdated,
    CustomerDetailsUpdated,
    DetailsUpdate,
    NewContactPerson,
    RemoveContactPerson,
    UpdateContactPerson,
    UpdateCustomerDetails,
)
from portal_contracts.envelope import Actor, Envelope
from portal_contracts.topics import SUBSCRIPTIONS_COMMANDS
from portal_gateway.adapters.read_models import CustomerViews
from portal_gateway.service_layer.commands import send_command
from portal_gateway.service_layer.context import Gateway
from portal_runtime.store import Transaction

Document = dict[str, Any]


async def update_details(
    gateway: Gateway,
    organisation_id: str,
    update: DetailsUpdate,
    actor: Actor,
    idempotency_key: str | None = None,
) -> Document:
    command = UpdateCustomerDetails(**_envelope(gateway, organisation_id, actor), data=update)
    return await send_command(
        gateway,
        SUBSCRIPTIONS_COMMANDS,
        command,
        customer_id=update.customer_id,
        outcomes=("CustomerDetailsUpdated",),
        idempotency_key=idempotency_key,
    )


async def add_contact(
    gateway: Gateway,
    organisation_id: str,
    customer_id: str,
    person: ContactPerson,
    actor: Actor,
    idempotency_key: str | None = None,
) -> Document:
    command = AddContactPerson(
        **_envelope(gateway, organisation_id, actor),
        data=NewContactPerson(
            customer_id=customer_id, contact=person, contact_id=f"ct_{uuid.uuid4().hex[:20]}"
        ),
    )
    return await send_command(
        gateway,
        SUBSCRIPTIONS_COMMANDS,
        command,
        customer_id=customer_id,
        outcomes=("ContactPersonAdded",),
        idempotency_key=idempotency_key,
    )


async def update_contact(
    gateway: Gateway, organisation_id: str, change: ContactPersonChange, actor: Actor
) -> Document:
    command = UpdateContactPerson(**_envelope(gateway, organisation_id, actor), data=change)
    return await send_command(
        gateway,
        SUBSCRIPTIONS_COMMANDS,
        command,
        customer_id=change.customer_id,
        outcomes=("ContactPersonUpdated",),
    )


async def remove_contact(
    gateway: Gateway, organisation_id: str, customer_id: str, contact_id: str, actor: Actor
) -> Document:
    command = RemoveContactPerson(
        **_envelope(gateway, organisation_id, actor),
        data=ContactPersonRemoval(customer_id=customer_id, contact_id=contact_id),
    )
    return await send_command(
        gateway,
        SUBSCRIPTIONS_COMMANDS,
        command,
        customer_id=customer_id,
        outcomes=("ContactPersonRemoved",),
    )


def _envelope(gateway: Gateway, organisation_id: str, actor: Actor) -> Document:
    return {
        "organisation_id": organisation_id,
        "correlation_id": uuid.uuid4().hex,
        "occurred_at": gateway.store.clock.now(),
        "actor": actor,
    }


async def project_customer_details(tx: Transaction, event: Envelope) -> None:
    """The customer view's details and contact persons."""
    views = CustomerViews(tx.db, tx.session)
    org = event.organisation_id
    match event:
        case CustomerDetailsUpdated(data=updated):
            fields = updated.details.model_dump(mode="json")
            if updated.portal_language is not None:
                fields["portal_language"] = updated.portal_language
            await views.update(org, updated.customer_id, fields)
        case ContactPersonAdded(data=fact) | ContactPersonUpdated(data=fact):
            contact = fact.contact.model_dump(mode="json")
            contacts = await _contacts(views, org, fact.customer_id)
            if contact["is_primary"]:
                contacts = [{**c, "is_primary": False} for c in contacts]
            at = next(
                (i for i, c in enumerate(contacts) if c["contact_id"] == contact["contact_id"]),
                None,
            )
            if at is None:
                contacts.append(contact)
            else:
                contacts[at] = contact
            await views.update(org, fact.customer_id, {"contacts": contacts})
        case ContactPersonRemoved(data=fact):
            contacts = await _contacts(views, org, fact.customer_id)
            await views.update(
                org,
                fact.customer_id,
                {"contacts": [c for c in contacts if c["contact_id"] != fact.contact.contact_id]},
            )


async def _contacts(views: CustomerViews, organisation_id: str, customer_id: str) -> list[Document]:
    found = await views.collection.find_one(
        {"organisation_id": organisation_id, "customer_id": customer_id},
        {"contacts": 1},
        session=views.session,
    )
    return list((found or {}).get("contacts", []))
