"""Customer account (receivables) events owned by the invoicing service."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Discriminator, Tag

from portal_contracts.common import Money
from portal_contracts.envelope import Envelope, Unrecognised, message_tag


class AccountBalance(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    customer_id: str
    outstanding: Money
    unused_credits: Money


class CustomerAccountOpened(Envelope):
    type: Literal["CustomerAccountOpened"] = "CustomerAccountOpened"
    schema_version: Literal[1] = 1
    data: AccountBalance


MESSAGES: tuple[type[Envelope], ...] = (CustomerAccountOpened,)

AccountMessage = Annotated[
    Annotated[CustomerAccountOpened, Tag("CustomerAccountOpened.v1")] | Unrecognised,
    Discriminator(message_tag),
]
