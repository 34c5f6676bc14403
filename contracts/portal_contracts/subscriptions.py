"""Commands to the subscriptions service and the events it publishes, one union per topic."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Discriminator, Field, Tag

from portal_contracts.catalogue import DefineCatalogueItem
from portal_contracts.customers import (
    AddContactPerson,
    CommandRejected,
    ContactPersonAdded,
    ContactPersonRemoved,
    ContactPersonUpdated,
    CreateCustomer,
    CustomerCreated,
    CustomerDetailsUpdated,
    RemoveContactPerson,
    UpdateContactPerson,
    UpdateCustomerDetails,
)
from portal_contracts.envelope import Envelope, Unrecognised, message_tag

ChargeReason = Literal[
    "trial_activated", "renewal", "plan_change", "addon", "reactivation", "signup"
]


class ChargeLine(BaseModel):
    """One line of a charge; amount_minor = quantity * unit_amount_minor, or a prorated amount
    (negative for a credit for unused time)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    description: str = Field(min_length=1, max_length=300)
    quantity: int = Field(ge=0)
    unit_amount_minor: int
    amount_minor: int
    period_start: AwareDatetime | None = None
    period_end: AwareDatetime | None = None


class Charge(BaseModel):
    """What a subscription owes for a period or an action; invoicing turns it into an invoice.

    `charge_id` is deterministic per subscription and period/action: the idempotency key, so a
    repeated charge (a clock run twice, a redelivered message) never bills twice."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    customer_id: str
    subscription_id: str
    charge_id: str = Field(min_length=1, max_length=200)
    reason: ChargeReason
    currency: str = Field(pattern=r"^[A-Z]{3}$")
    lines: tuple[ChargeLine, ...]
    discount_minor: int = Field(ge=0)
    total_minor: int
    autocharge: bool
    payment_method_id: str | None = None


class ChargeRaised(Envelope):
    """Event: a subscription owes money; invoicing raises (and, with autocharge, collects) it."""

    type: Literal["ChargeRaised"] = "ChargeRaised"
    schema_version: Literal[1] = 1
    data: Charge


# --- subscriptions: state, commands and events (the catalogue is in catalogue.py) ---

SubscriptionStatus = Literal[
    "trial", "live", "non_renewing", "paused", "past_due", "unpaid", "cancelled", "expired"
]


class _Value(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class AddonChoice(_Value):
    code: str = Field(min_length=1, max_length=64)
    quantity: int = Field(default=1, ge=1, le=100_000)


class SubscribedAddon(_Value):
    code: str
    name: str
    charge: Literal["one_time", "recurring"]
    unit_amount_minor: int
    quantity: int


class AppliedCoupon(_Value):
    code: str
    name: str
    discount: Literal["percentage", "fixed"]
    percentage: int | None = None
    amount_minor: int | None = None
    duration: Literal["once", "periods", "forever"]
    # Period charges it still discounts (None = forever).
    remaining_periods: int | None = None


class PlannedChange(_Value):
    """A change waiting for the end of the term (None fields: unchanged)."""

    plan_code: str | None = None
    quantity: int | None = None
    addons: tuple[AddonChoice, ...] | None = None
    coupon_code: str | None = None
    remove_coupon: bool = False


class SubscriptionSnapshot(_Value):
    customer_id: str
    subscription_id: str
    status: SubscriptionStatus
    plan_code: str
    plan_name: str
    currency: str
    unit_amount_minor: int
    interval_unit: Literal["month", "year"]
    interval_count: int
    quantity: int
    addons: tuple[SubscribedAddon, ...] = ()
    coupon: AppliedCoupon | None = None
    autocharge: bool
    payment_method_id: str | None = None
    trial_end: AwareDatetime | None = None
    trial_extensions: int = 0
    term_start: AwareDatetime | None = None
    term_end: AwareDatetime | None = None
    cancel_at: AwareDatetime | None = None
    pause_at: AwareDatetime | None = None
    resume_at: AwareDatetime | None = None
    paused_at: AwareDatetime | None = None
    cancelled_at: AwareDatetime | None = None
    expired_from_trial: bool = False
    scheduled_change: PlannedChange | None = None
    recurring_total_minor: int
    created_at: AwareDatetime
    version: int


class NewSubscription(_Value):
    customer_id: str = Field(min_length=1, max_length=64)
    subscription_id: str = Field(min_length=1, max_length=64)
    plan_code: str = Field(min_length=1, max_length=64)
    quantity: int = Field(default=1, ge=1, le=100_000)
    addons: tuple[AddonChoice, ...] = ()
    coupon_code: str | None = None
    autocharge: bool = False
    payment_method_id: str | None = Field(default=None, max_length=128)
    start_with_trial: bool = True


class CreateSubscription(Envelope):
    """Command: the merchant subscribes a customer to a plan."""

    type: Literal["CreateSubscription"] = "CreateSubscription"
    schema_version: Literal[1] = 1
    data: NewSubscription


class ActivateTrial(_Value):
    action: Literal["activate_trial"] = "activate_trial"


class ExtendTrial(_Value):
    action: Literal["extend_trial"] = "extend_trial"
    # The merchant's limit, read by the gateway from its preferences.
    max_extensions: int = Field(ge=0, le=12)


class Cancel(_Value):
    action: Literal["cancel"] = "cancel"
    when: Literal["immediately", "end_of_term"]


class RemoveScheduledCancellation(_Value):
    action: Literal["remove_scheduled_cancellation"] = "remove_scheduled_cancellation"


class Reactivate(_Value):
    action: Literal["reactivate"] = "reactivate"


class Pause(_Value):
    """Pause now or on `pause_on`; resume on `resume_on` (None: until resumed). Pausing again
    while a pause is scheduled changes the schedule."""

    action: Literal["pause"] = "pause"
    when: Literal["immediately", "on_date"]
    pause_on: AwareDatetime | None = None
    resume_on: AwareDatetime | None = None


class Resume(_Value):
    action: Literal["resume"] = "resume"
    when: Literal["immediately", "on_date"]
    resume_on: AwareDatetime | None = None


class RemovePauseSchedule(_Value):
    """Delete a scheduled pause (and its resume), or a paused subscription's scheduled resume."""

    action: Literal["remove_pause_schedule"] = "remove_pause_schedule"


class ChangeSubscription(_Value):
    action: Literal["change"] = "change"
    when: Literal["immediately", "end_of_term"]
    plan_code: str | None = None
    quantity: int | None = Field(default=None, ge=1, le=100_000)
    # The full set of addons after the change (None: unchanged).
    addons: tuple[AddonChoice, ...] | None = None
    coupon_code: str | None = None
    remove_coupon: bool = False
    # The total of the preview the customer confirmed: if applying would charge anything
    # else (the day turned since), the change is refused rather than billed differently.
    confirm_total_minor: int | None = None


class RemoveScheduledChanges(_Value):
    action: Literal["remove_scheduled_changes"] = "remove_scheduled_changes"


class SetAutocharge(_Value):
    action: Literal["set_autocharge"] = "set_autocharge"
    enabled: bool
    payment_method_id: str | None = Field(default=None, max_length=128)


class UnlinkPaymentMethod(_Value):
    action: Literal["remove_payment_method"] = "remove_payment_method"


SubscriptionAction = Annotated[
    ActivateTrial
    | ExtendTrial
    | Cancel
    | RemoveScheduledCancellation
    | Reactivate
    | Pause
    | Resume
    | RemovePauseSchedule
    | ChangeSubscription
    | RemoveScheduledChanges
    | SetAutocharge
    | UnlinkPaymentMethod,
    Field(discriminator="action"),
]


class ActionRequest(_Value):
    customer_id: str = Field(min_length=1, max_length=64)
    subscription_id: str = Field(min_length=1, max_length=64)
    action: SubscriptionAction


class ActOnSubscription(Envelope):
    """Command: apply one self-service or merchant action to a subscription."""

    type: Literal["ActOnSubscription"] = "ActOnSubscription"
    schema_version: Literal[1] = 1
    data: ActionRequest


class PreviewSubscriptionAction(Envelope):
    """Command: what `ActOnSubscription` with the same request would charge; changes nothing."""

    type: Literal["PreviewSubscriptionAction"] = "PreviewSubscriptionAction"
    schema_version: Literal[1] = 1
    data: ActionRequest


class SubscriptionChange(_Value):
    customer_id: str
    subscription_id: str
    # What happened: "created", an action name, or a clock step ("renewed", "trial_ended",
    # "trial_expired", "paused", "resumed", "cancelled", "payment_failed", "paid", ...).
    change: str
    subscription: SubscriptionSnapshot
    charge: Charge | None = None


class SubscriptionChanged(Envelope):
    """Event: a subscription's state after a change, with the charge it raised (if any)."""

    type: Literal["SubscriptionChanged"] = "SubscriptionChanged"
    schema_version: Literal[1] = 1
    data: SubscriptionChange


class SubscriptionActionPreviewed(Envelope):
    """Event: the outcome of a preview: the state and charge the action would produce."""

    type: Literal["SubscriptionActionPreviewed"] = "SubscriptionActionPreviewed"
    schema_version: Literal[1] = 1
    data: SubscriptionChange


MESSAGES: tuple[type[Envelope], ...] = (
    CreateCustomer,
    CustomerCreated,
    CommandRejected,
    UpdateCustomerDetails,
    AddContactPerson,
    UpdateContactPerson,
    RemoveContactPerson,
    CustomerDetailsUpdated,
    ContactPersonAdded,
    ContactPersonUpdated,
    ContactPersonRemoved,
    ChargeRaised,
    CreateSubscription,
    ActOnSubscription,
    PreviewSubscriptionAction,
    SubscriptionChanged,
    SubscriptionActionPreviewed,
)

SubscriptionsCommand = Annotated[
    Annotated[CreateCustomer, Tag("CreateCustomer.v1")]
    | Annotated[UpdateCustomerDetails, Tag("UpdateCustomerDetails.v1")]
    | Annotated[AddContactPerson, Tag("AddContactPerson.v1")]
    | Annotated[UpdateContactPerson, Tag("UpdateContactPerson.v1")]
    | Annotated[RemoveContactPerson, Tag("RemoveContactPerson.v1")]
    | Annotated[DefineCatalogueItem, Tag("DefineCatalogueItem.v1")]
    | Annotated[CreateSubscription, Tag("CreateSubscription.v1")]
    | Annotated[ActOnSubscription, Tag("ActOnSubscription.v1")]
    | Annotated[PreviewSubscriptionAction, Tag("PreviewSubscriptionAction.v1")]
    | Unrecognised,
    Discriminator(message_tag),
]
CustomerMessage = Annotated[
    Annotated[CustomerCreated, Tag("CustomerCreated.v1")]
    | Annotated[CustomerDetailsUpdated, Tag("CustomerDetailsUpdated.v1")]
    | Annotated[ContactPersonAdded, Tag("ContactPersonAdded.v1")]
    | Annotated[ContactPersonUpdated, Tag("ContactPersonUpdated.v1")]
    | Annotated[ContactPersonRemoved, Tag("ContactPersonRemoved.v1")]
    | Annotated[CommandRejected, Tag("CommandRejected.v1")]
    | Unrecognised,
    Discriminator(message_tag),
]
SubscriptionMessage = Annotated[
    Annotated[ChargeRaised, Tag("ChargeRaised.v1")]
    | Annotated[SubscriptionChanged, Tag("SubscriptionChanged.v1")]
    | Annotated[SubscriptionActionPreviewed, Tag("SubscriptionActionPreviewed.v1")]
    | Annotated[CommandRejected, Tag("CommandRejected.v1")]
    | Unrecognised,
    Discriminator(message_tag),
]
