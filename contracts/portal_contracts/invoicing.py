"""Customer account (receivables) events owned by the invoicing service."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

from portal_contracts.common import Money
from portal_contracts.envelope import Envelope


class AccountBalance(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    customer_id: str
    outstanding: Money
    unused_credits: Money


class CustomerAccountOpened(Envelope):
    type: Literal["CustomerAccountOpened"] = "CustomerAccountOpened"
    schema_version: Literal[1] = 1
    data: AccountBalance
