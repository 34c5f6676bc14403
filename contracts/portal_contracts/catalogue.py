"""The merchant's catalogue (plans, addons, coupons), owned by the subscriptions service.

Key = organisation id: the catalogue is an organisation-level fact."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, model_validator

from portal_contracts.common import Money
from portal_contracts.customers import CommandRejected
from portal_contracts.envelope import Envelope, Unrecognised, message_tag

CODE = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"


class _Terms(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class PlanTerms(_Terms):
    """A plan: `price` is per unit per billing interval (`interval_count` months or years)."""

    item_type: Literal["plan"] = "plan"
    code: str = Field(pattern=CODE)
    name: str = Field(min_length=1, max_length=200)
    price: Money
    interval_unit: Literal["month", "year"] = "month"
    interval_count: int = Field(default=1, ge=1, le=36)
    trial_days: int = Field(default=0, ge=0, le=365)
    # Plans a customer may switch to from the portal (the merchant may switch to any).
    switchable_to: tuple[str, ...] = ()
    min_quantity: int = Field(default=1, ge=1)
    max_quantity: int | None = Field(default=None, ge=1)
    portal_changes_allowed: bool = True
    active: bool = True

    @model_validator(mode="after")
    def _quantities(self) -> PlanTerms:
        if self.max_quantity is not None and self.max_quantity < self.min_quantity:
            raise ValueError("max_quantity is below min_quantity")
        if self.price.amount_minor < 0:
            raise ValueError("a plan's price cannot be negative")
        return self


class AddonTerms(_Terms):
    item_type: Literal["addon"] = "addon"
    code: str = Field(pattern=CODE)
    name: str = Field(min_length=1, max_length=200)
    price: Money
    charge: Literal["one_time", "recurring"] = "recurring"
    # Whether customers may add or remove it from the portal.
    portal_manageable: bool = False
    # Whether a quantity other than 1 may be chosen.
    quantity_allowed: bool = False
    active: bool = True

    @model_validator(mode="after")
    def _price(self) -> AddonTerms:
        if self.price.amount_minor < 0:
            raise ValueError("an addon's price cannot be negative")
        return self


class CouponTerms(_Terms):
    """A discount on period charges: a percentage or a fixed amount, for the first charge only
    (`once`), for `periods` charges, or `forever`."""

    item_type: Literal["coupon"] = "coupon"
    code: str = Field(pattern=CODE)
    name: str = Field(min_length=1, max_length=200)
    discount: Literal["percentage", "fixed"]
    percentage: int | None = Field(default=None, ge=1, le=100)
    amount: Money | None = None
    duration: Literal["once", "periods", "forever"] = "once"
    periods: int | None = Field(default=None, ge=1, le=120)
    active: bool = True

    @model_validator(mode="after")
    def _shape(self) -> CouponTerms:
        if self.discount == "percentage" and (self.percentage is None or self.amount):
            raise ValueError("a percentage coupon needs `percentage` and no `amount`")
        if self.discount == "fixed" and (self.amount is None or self.percentage):
            raise ValueError("a fixed coupon needs `amount` and no `percentage`")
        if (self.duration == "periods") != (self.periods is not None):
            raise ValueError("`periods` is given exactly when duration is 'periods'")
        return self


CatalogueItem = Annotated[PlanTerms | AddonTerms | CouponTerms, Field(discriminator="item_type")]


class CatalogueEntry(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    item: CatalogueItem


class DefineCatalogueItem(Envelope):
    """Command: create or replace a plan, addon or coupon (by code)."""

    type: Literal["DefineCatalogueItem"] = "DefineCatalogueItem"
    schema_version: Literal[1] = 1
    data: CatalogueEntry


class CatalogueItemDefined(Envelope):
    type: Literal["CatalogueItemDefined"] = "CatalogueItemDefined"
    schema_version: Literal[1] = 1
    data: CatalogueEntry


MESSAGES: tuple[type[Envelope], ...] = (DefineCatalogueItem, CatalogueItemDefined)

CatalogueMessage = Annotated[
    Annotated[CatalogueItemDefined, Tag("CatalogueItemDefined.v1")]
    | Annotated[CommandRejected, Tag("CommandRejected.v1")]
    | Unrecognised,
    Discriminator(message_tag),
]
