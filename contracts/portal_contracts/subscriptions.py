"""Commands to the subscriptions service and the events it publishes, one union per topic."""

from __future__ import annotations

from typing import Annotated

from pydantic import Discriminator, Tag

from portal_contracts.customers import CommandRejected, CreateCustomer, CustomerCreated
from portal_contracts.envelope import Envelope, Unrecognised, message_tag

MESSAGES: tuple[type[Envelope], ...] = (CreateCustomer, CustomerCreated, CommandRejected)

SubscriptionsCommand = Annotated[
    Annotated[CreateCustomer, Tag("CreateCustomer.v1")] | Unrecognised,
    Discriminator(message_tag),
]
CustomerMessage = Annotated[
    Annotated[CustomerCreated, Tag("CustomerCreated.v1")]
    | Annotated[CommandRejected, Tag("CommandRejected.v1")]
    | Unrecognised,
    Discriminator(message_tag),
]
