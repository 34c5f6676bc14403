"""The subscription aggregate: every action, its charge, and what the billing clock does.

Pure rules. Each function takes the current state (a `SubscriptionSnapshot`) and returns an
`Outcome` (the new state, what happened, the charge it raises) or raises `Refused`. A preview
calls the very same function and throws the outcome away instead of saving it, so the charge a
customer confirms is the charge that is raised.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from portal_contracts.catalogue import AddonTerms, CouponTerms, PlanTerms
from portal_contracts.subscriptions import (
    ActivateTrial,
    AddonChoice,
    AppliedCoupon,
    Cancel,
    ChangeSubscription,
    Charge,
    ChargeLine,
    ChargeReason,
    ExtendTrial,
    NewSubscription,
    Pause,
    PlannedChange,
    Reactivate,
    RemovePauseSchedule,
    RemoveScheduledCancellation,
    RemoveScheduledChanges,
    Resume,
    SetAutocharge,
    SubscribedAddon,
    SubscriptionAction,
    SubscriptionSnapshot,
    UnlinkPaymentMethod,
)

RefusalKind = Literal["conflict", "forbidden", "not_found", "invalid"]
Subscription = SubscriptionSnapshot

# Statuses whose term still runs and may be renewed by the clock.
RUNNING = frozenset({"live", "non_renewing", "past_due"})
ENDED = frozenset({"cancelled", "expired"})
# A clock run catching up on a long outage stops after this many steps and continues on the
# next run (so one subscription can never hold the clock forever).
MAX_STEPS_PER_RUN = 48


class Refused(Exception):
    """The action is not allowed now; `kind` says how the gateway answers (conflict = 409)."""

    def __init__(self, code: str, reason: str, kind: RefusalKind = "conflict") -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason
        self.kind = kind


@dataclass(frozen=True)
class Catalogue:
    """The merchant's plans, addons and coupons by code (what an action may refer to)."""

    plans: dict[str, PlanTerms] = field(default_factory=dict)
    addons: dict[str, AddonTerms] = field(default_factory=dict)
    coupons: dict[str, CouponTerms] = field(default_factory=dict)

    def plan(self, code: str) -> PlanTerms:
        plan = self.plans.get(code)
        if plan is None or not plan.active:
            raise Refused("unknown_plan", f"there is no plan '{code}'", "invalid")
        return plan

    def addon(self, code: str) -> AddonTerms:
        addon = self.addons.get(code)
        if addon is None or not addon.active:
            raise Refused("unknown_addon", f"there is no addon '{code}'", "invalid")
        return addon

    def coupon(self, code: str) -> CouponTerms:
        coupon = self.coupons.get(code)
        if coupon is None or not coupon.active:
            raise Refused("unknown_coupon", f"there is no coupon '{code}'", "invalid")
        return coupon


@dataclass(frozen=True)
class Outcome:
    subscription: Subscription
    change: str
    charge: Charge | None = None
    at: datetime | None = None


# --- money and time: the one place amounts are rounded -------------------------------------


def prorate(amount_minor: int, remaining: timedelta, term: timedelta) -> int:
    """`amount` for the `remaining` part of `term`, rounded half away from zero."""
    if term <= timedelta(0) or remaining <= timedelta(0):
        return 0
    remaining = min(remaining, term)
    numerator = abs(amount_minor) * _micros(remaining)
    denominator = _micros(term)
    rounded = (2 * numerator + denominator) // (2 * denominator)
    return rounded if amount_minor >= 0 else -rounded


def percentage_of(amount_minor: int, percentage: int) -> int:
    return (2 * amount_minor * percentage + 100) // 200


def _micros(delta: timedelta) -> int:
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def add_interval(start: datetime, unit: str, count: int) -> datetime:
    """`start` plus `count` months or years; the day is clamped to the month's last day."""
    months = count * (12 if unit == "year" else 1)
    month_index = start.month - 1 + months
    year, month = start.year + month_index // 12, month_index % 12 + 1
    day = min(start.day, calendar.monthrange(year, month)[1])
    return start.replace(year=year, month=month, day=day)


def recurring_total(sub: Subscription) -> int:
    return sub.unit_amount_minor * sub.quantity + sum(
        a.unit_amount_minor * a.quantity for a in sub.addons if a.charge == "recurring"
    )


# --- creating -----------------------------------------------------------------------------


def create(new: NewSubscription, currency: str, catalogue: Catalogue, now: datetime) -> Outcome:
    """A merchant subscribes a customer: a trial when asked and the plan has one, otherwise live
    with the first period charged (signup)."""
    plan = catalogue.plan(new.plan_code)
    if plan.price.currency != currency:
        raise Refused(
            "currency_mismatch",
            f"the plan is priced in {plan.price.currency}, the customer pays in {currency}",
            "invalid",
        )
    _check_quantity(plan, new.quantity)
    if new.autocharge and not new.payment_method_id:
        raise Refused("no_payment_method", "autocharge needs a payment method", "invalid")
    sub = Subscription(
        customer_id=new.customer_id,
        subscription_id=new.subscription_id,
        status="trial",
        plan_code=plan.code,
        plan_name=plan.name,
        currency=plan.price.currency,
        unit_amount_minor=plan.price.amount_minor,
        interval_unit=plan.interval_unit,
        interval_count=plan.interval_count,
        quantity=new.quantity,
        addons=_addons(new.addons, catalogue, plan.price.currency, None, by_customer=False),
        coupon=_coupon(new.coupon_code, catalogue, plan.price.currency)
        if new.coupon_code
        else None,
        autocharge=new.autocharge,
        payment_method_id=new.payment_method_id,
        recurring_total_minor=0,
        created_at=now,
        version=1,
    )
    if new.start_with_trial and plan.trial_days > 0:
        sub = _with(sub, trial_end=now + timedelta(days=plan.trial_days))
        return Outcome(_settled(sub), "created", None, now)
    sub, charge = _start_term(sub, now, "signup")
    return Outcome(_settled(sub), "created", charge, now)


# --- actions ------------------------------------------------------------------------------


def act(
    sub: Subscription,
    action: SubscriptionAction,
    catalogue: Catalogue,
    now: datetime,
    *,
    by_customer: bool,
) -> Outcome:
    """Apply one action (from the portal when `by_customer`, else from the merchant)."""
    match action:
        case ActivateTrial():
            _require_status(sub, {"trial"}, "only a subscription in trial can be activated")
            _require_chargeable(sub)
            new, charge = _start_term(_with(sub, trial_end=now), now, "trial_activated")
            return _outcome(new, action.action, charge, now)
        case ExtendTrial(max_extensions=limit):
            if sub.status != "expired" or not sub.expired_from_trial:
                raise Refused("not_expired_trial", "only an expired trial can be extended")
            if sub.trial_extensions >= limit:
                raise Refused(
                    "trial_extension_limit",
                    f"this trial has already been extended {sub.trial_extensions} time(s)",
                )
            days = catalogue.plan(sub.plan_code).trial_days or 0
            if days <= 0:
                raise Refused("plan_without_trial", "the plan has no trial to extend")
            new = _with(
                sub,
                status="trial",
                trial_end=now + timedelta(days=days),
                trial_extensions=sub.trial_extensions + 1,
                expired_from_trial=False,
            )
            return _outcome(new, action.action, None, now)
        case Cancel(when="immediately"):
            if sub.status in ENDED:
                raise Refused("already_ended", f"the subscription is already {sub.status}")
            new = _with(
                sub,
                status="cancelled",
                cancelled_at=now,
                cancel_at=None,
                pause_at=None,
                resume_at=None,
                scheduled_change=None,
            )
            return _outcome(new, "cancel_immediately", None, now)
        case Cancel(when="end_of_term"):
            if sub.status == "non_renewing":
                raise Refused("already_scheduled", "a cancellation is already scheduled")
            _require_status(sub, {"live"}, "only a live subscription can be cancelled at term end")
            new = _with(sub, status="non_renewing", cancel_at=sub.term_end, scheduled_change=None)
            return _outcome(new, "cancel_at_end_of_term", None, now)
        case RemoveScheduledCancellation():
            _require_status(sub, {"non_renewing"}, "no cancellation is scheduled")
            return _outcome(_with(sub, status="live", cancel_at=None), action.action, None, now)
        case Reactivate():
            _require_status(
                sub, ENDED, "only a cancelled or expired subscription can be reactivated"
            )
            _require_chargeable(sub)
            cleared = _with(
                sub,
                cancelled_at=None,
                expired_from_trial=False,
                trial_end=sub.trial_end if sub.trial_end and sub.trial_end <= now else None,
            )
            new, charge = _start_term(cleared, now, "reactivation")
            return _outcome(new, action.action, charge, now)
        case Pause():
            return _pause(sub, action, now)
        case Resume(when="immediately"):
            _require_status(sub, {"paused"}, "only a paused subscription can be resumed")
            return _outcome(_resumed(sub, now), "resume", None, now)
        case Resume(when="on_date", resume_on=resume_on):
            _require_status(sub, {"paused"}, "only a paused subscription can be resumed")
            if resume_on is None or resume_on <= now:
                raise Refused("date_in_past", "the resume date must be in the future", "invalid")
            return _outcome(_with(sub, resume_at=resume_on), "schedule_resume", None, now)
        case RemovePauseSchedule():
            if sub.status == "paused" and sub.resume_at is not None:
                return _outcome(_with(sub, resume_at=None), action.action, None, now)
            if sub.status != "paused" and sub.pause_at is not None:
                new = _with(sub, pause_at=None, resume_at=None)
                return _outcome(new, action.action, None, now)
            raise Refused("nothing_scheduled", "no pause or resume is scheduled")
        case ChangeSubscription():
            return _change(sub, action, catalogue, now, by_customer)
        case RemoveScheduledChanges():
            if sub.scheduled_change is None:
                raise Refused("nothing_scheduled", "no changes are scheduled for the term end")
            return _outcome(_with(sub, scheduled_change=None), action.action, None, now)
        case SetAutocharge(enabled=True, payment_method_id=method):
            if sub.autocharge and not sub.payment_method_id and method:
                # Its method was deleted while autocharging: link the new one.
                new = _with(sub, payment_method_id=method)
                return _outcome(new, "payment_method_linked", None, now)
            if sub.autocharge:
                raise Refused("already_on", "autocharge is already on")
            method = method or sub.payment_method_id
            if not method:
                raise Refused("no_payment_method", "add a payment method to turn autocharge on")
            # Turning autocharge on collects nothing that is already owed.
            new = _with(sub, autocharge=True, payment_method_id=method)
            return _outcome(new, "autocharge_on", None, now)
        case SetAutocharge(enabled=False):
            if not sub.autocharge:
                raise Refused("already_off", "autocharge is already off")
            status = "live" if sub.status == "past_due" else sub.status
            return _outcome(
                _with(sub, autocharge=False, status=status), "autocharge_off", None, now
            )
        case UnlinkPaymentMethod():
            if sub.payment_method_id is None:
                raise Refused("no_payment_method", "no payment method is linked")
            new = _with(sub, payment_method_id=None, autocharge=False)
            return _outcome(new, action.action, None, now)
    raise Refused("unknown_action", "this action is not known", "invalid")  # pragma: no cover


def _pause(sub: Subscription, action: Pause, now: datetime) -> Outcome:
    _require_status(sub, {"live"}, "only a live subscription can be paused")
    if action.when == "immediately":
        if action.resume_on is not None and action.resume_on <= now:
            raise Refused("date_in_past", "the resume date must be in the future", "invalid")
        new = _with(sub, status="paused", paused_at=now, pause_at=None, resume_at=action.resume_on)
        return _outcome(new, "pause", None, now)
    if action.pause_on is None or action.pause_on <= now:
        raise Refused("date_in_past", "the pause date must be in the future", "invalid")
    if action.resume_on is not None and action.resume_on <= action.pause_on:
        raise Refused("resume_before_pause", "the resume date must follow the pause", "invalid")
    changed = sub.pause_at is not None
    new = _with(sub, pause_at=action.pause_on, resume_at=action.resume_on)
    return _outcome(new, "reschedule_pause" if changed else "schedule_pause", None, now)


def _resumed(sub: Subscription, at: datetime) -> Subscription:
    # The customer keeps the paid time left when the pause began.
    paused_for = at - sub.paused_at if sub.paused_at else timedelta(0)
    term_end = sub.term_end + paused_for if sub.term_end else None
    cancel_at = sub.cancel_at + paused_for if sub.cancel_at else None
    status = "non_renewing" if cancel_at else "live"
    return _with(
        sub, status=status, paused_at=None, resume_at=None, term_end=term_end, cancel_at=cancel_at
    )


def _change(
    sub: Subscription,
    action: ChangeSubscription,
    catalogue: Catalogue,
    now: datetime,
    by_customer: bool,
) -> Outcome:
    _require_status(
        sub, {"live", "trial", "non_renewing"}, "this subscription cannot be changed now"
    )
    if action.when == "end_of_term" and sub.status == "non_renewing":
        raise Refused("ends_at_term_end", "the subscription ends at the term end")
    if (
        action.plan_code is None
        and action.quantity is None
        and action.addons is None
        and action.coupon_code is None
        and not action.remove_coupon
    ):
        raise Refused("nothing_to_change", "the change names nothing to change", "invalid")
    planned = PlannedChange(
        plan_code=action.plan_code,
        quantity=action.quantity,
        addons=action.addons,
        coupon_code=action.coupon_code,
        remove_coupon=action.remove_coupon,
    )
    changed = _apply_change(sub, planned, catalogue, by_customer)
    if action.when == "end_of_term":
        # Validated now, applied by the clock at the term end.
        return _outcome(_with(sub, scheduled_change=planned), "schedule_change", None, now)
    charge = None
    if sub.status != "trial":
        charge = _proration(sub, changed, now)
    total = charge.total_minor if charge else 0
    if action.confirm_total_minor is not None and action.confirm_total_minor != total:
        raise Refused(
            "price_changed",
            f"the change now costs {total} (not {action.confirm_total_minor}); preview it again",
        )
    return _outcome(_without_one_time_addons(changed) if charge else changed, "change", charge, now)


def _apply_change(
    sub: Subscription, change: PlannedChange, catalogue: Catalogue, by_customer: bool
) -> Subscription:
    updates: dict[str, Any] = {}
    current = catalogue.plans.get(sub.plan_code)
    if change.plan_code is not None and change.plan_code != sub.plan_code:
        plan = catalogue.plan(change.plan_code)
        if by_customer and (
            current is None
            or not current.portal_changes_allowed
            or plan.code not in current.switchable_to
        ):
            raise Refused(
                "plan_not_switchable",
                f"'{plan.code}' is not a plan you can switch to from this one",
                "forbidden",
            )
        if plan.price.currency != sub.currency:
            raise Refused("currency_mismatch", "the plan is priced in another currency", "invalid")
        updates |= {
            "plan_code": plan.code,
            "plan_name": plan.name,
            "unit_amount_minor": plan.price.amount_minor,
            "interval_unit": plan.interval_unit,
            "interval_count": plan.interval_count,
        }
        current = plan
    elif by_customer and current is not None and not current.portal_changes_allowed:
        raise Refused("plan_locked", "this plan cannot be changed from the portal", "forbidden")
    quantity = change.quantity if change.quantity is not None else sub.quantity
    if current is not None:
        _check_quantity(current, quantity)
    updates["quantity"] = quantity
    if change.addons is not None:
        updates["addons"] = _addons(change.addons, catalogue, sub.currency, sub, by_customer)
    if change.remove_coupon:
        updates["coupon"] = None
    if change.coupon_code is not None:
        updates["coupon"] = _coupon(change.coupon_code, catalogue, sub.currency)
    return _with(sub, **updates)


def _proration(before: Subscription, after: Subscription, now: datetime) -> Charge | None:
    """Credit for the unused part of the term at the old price, charge for it at the new one,
    plus one-time addons in full. The term itself does not move."""
    assert before.term_start is not None
    assert before.term_end is not None
    # Whole days, so a preview and the change confirmed later the same day charge the same.
    term = timedelta(days=(before.term_end.date() - before.term_start.date()).days)
    remaining = timedelta(days=(before.term_end.date() - now.date()).days)
    period = {"period_start": now, "period_end": before.term_end}
    lines: list[ChargeLine] = []
    for description, quantity, unit in _recurring_items(before):
        amount = -prorate(unit * quantity, remaining, term)
        if amount:
            lines.append(
                ChargeLine(
                    description=f"Unused time on {description}",
                    quantity=quantity,
                    unit_amount_minor=unit,
                    amount_minor=amount,
                    **period,
                )
            )
    for description, quantity, unit in _recurring_items(after):
        amount = prorate(unit * quantity, remaining, term)
        if amount:
            lines.append(
                ChargeLine(
                    description=f"Remaining time on {description}",
                    quantity=quantity,
                    unit_amount_minor=unit,
                    amount_minor=amount,
                    **period,
                )
            )
    lines.extend(_one_time_lines(after))
    if not lines or sum(line.amount_minor for line in lines) == 0:
        return None
    reason: ChargeReason = (
        "plan_change"
        if (before.plan_code, before.quantity) != (after.plan_code, after.quantity)
        else "addon"
    )
    return _charge(after, f"{reason}:v{before.version + 1}", reason, lines, 0)


# --- the billing clock --------------------------------------------------------------------


def due_at(sub: Subscription) -> datetime | None:
    """When the clock next has something to do for this subscription (None: nothing)."""
    candidates = [when for _, when in _due_steps(sub)]
    return min(candidates) if candidates else None


def _due_steps(sub: Subscription) -> list[tuple[str, datetime]]:
    steps: list[tuple[str, datetime | None]] = []
    if sub.status == "trial":
        steps.append(("trial_end", sub.trial_end))
    elif sub.status == "paused":
        steps.append(("resume", sub.resume_at))
    elif sub.status in RUNNING:
        if sub.status == "live":
            steps.append(("pause", sub.pause_at))
        steps.append(("term_end", sub.term_end))
    return [(name, when) for name, when in steps if when is not None]


def advance(sub: Subscription, catalogue: Catalogue, now: datetime) -> list[Outcome]:
    """Everything due up to `now`, in time order. Running it again at the same `now` finds
    nothing due and returns [] (each step moves its own due date forward)."""
    outcomes: list[Outcome] = []
    for _ in range(MAX_STEPS_PER_RUN):
        due = [(when, name) for name, when in _due_steps(sub) if when <= now]
        if not due:
            break
        # At the same instant a pause wins over a renewal (nothing is billed for a paused term).
        when, name = min(due, key=lambda d: (d[0], d[1] != "pause"))
        outcome = _step(sub, name, when, catalogue)
        outcomes.append(outcome)
        sub = outcome.subscription
    return outcomes


def _step(sub: Subscription, name: str, at: datetime, catalogue: Catalogue) -> Outcome:
    if name == "trial_end":
        if sub.autocharge and not sub.payment_method_id:
            # Nothing to charge: the trial expires (it may be extended or reactivated).
            new = _with(sub, status="expired", expired_from_trial=True, trial_end=at)
            return _outcome(new, "trial_expired", None, at)
        new, charge = _start_term(_scheduled(sub, catalogue), at, "trial_activated")
        return _outcome(new, "trial_ended", charge, at)
    if name == "resume":
        return _outcome(_resumed(sub, at), "resumed", None, at)
    if name == "pause":
        new = _with(sub, status="paused", paused_at=at, pause_at=None)
        return _outcome(new, "paused", None, at)
    if sub.status == "non_renewing":
        new = _with(sub, status="cancelled", cancelled_at=at, cancel_at=None)
        return _outcome(new, "cancelled", None, at)
    new, charge = _start_term(_scheduled(sub, catalogue), at, "renewal")
    return _outcome(new, "renewed", charge, at)


def _scheduled(sub: Subscription, catalogue: Catalogue) -> Subscription:
    """Apply the change scheduled for the term end. A change the catalogue no longer allows
    (a plan withdrawn since) is dropped rather than blocking the renewal."""
    if sub.scheduled_change is None:
        return sub
    try:
        changed = _apply_change(sub, sub.scheduled_change, catalogue, by_customer=False)
    except Refused:
        changed = sub
    return _with(changed, scheduled_change=None)


# --- payment outcomes from invoicing ------------------------------------------------------


def autocharge_failed(sub: Subscription, retries_exhausted: bool, at: datetime) -> Outcome | None:
    """A renewal could not be collected: past due, and unpaid once the retries are used up."""
    if retries_exhausted and sub.status in {"live", "non_renewing", "past_due"}:
        return _outcome(_with(sub, status="unpaid"), "unpaid", None, at)
    if sub.status in {"live", "non_renewing"}:
        return _outcome(_with(sub, status="past_due"), "payment_failed", None, at)
    return None


def invoice_paid(sub: Subscription, at: datetime) -> Outcome | None:
    if sub.status not in {"past_due", "unpaid"}:
        return None
    status = "non_renewing" if sub.cancel_at else "live"
    return _outcome(_with(sub, status=status), "paid", None, at)


def payment_method_replaced(sub: Subscription, old: str, new: str, at: datetime) -> Outcome | None:
    """The customer updated the card this subscription pays with: it now uses the new one."""
    if sub.payment_method_id != old or old == new:
        return None
    return _outcome(_with(sub, payment_method_id=new), "payment_method_replaced", None, at)


def payment_method_removed(sub: Subscription, removed: str, at: datetime) -> Outcome | None:
    """The customer deleted the method this subscription pays with. Autocharge is left as it
    is: the next trial end or renewal then finds no method (a trial expires; a renewal's
    invoice is not collected automatically) until a method is linked again."""
    if sub.payment_method_id != removed:
        return None
    return _outcome(_with(sub, payment_method_id=None), "payment_method_removed", None, at)


# --- helpers ------------------------------------------------------------------------------


def _with(sub: Subscription, **changes: Any) -> Subscription:
    return sub.model_copy(update=changes)


def _settled(sub: Subscription) -> Subscription:
    return _with(sub, recurring_total_minor=recurring_total(sub))


def _outcome(sub: Subscription, change: str, charge: Charge | None, at: datetime) -> Outcome:
    return Outcome(_settled(_with(sub, version=sub.version + 1)), change, charge, at)


def _require_status(sub: Subscription, allowed: Iterable[str], reason: str) -> None:
    if sub.status not in set(allowed):
        raise Refused("wrong_status", f"{reason} (it is {sub.status})")


def _require_chargeable(sub: Subscription) -> None:
    if sub.autocharge and not sub.payment_method_id:
        raise Refused("no_payment_method", "autocharge is on but no payment method is linked")


def _check_quantity(plan: PlanTerms, quantity: int) -> None:
    if quantity < plan.min_quantity or (
        plan.max_quantity is not None and quantity > plan.max_quantity
    ):
        most = f" and at most {plan.max_quantity}" if plan.max_quantity is not None else ""
        raise Refused(
            "quantity_out_of_range",
            f"the quantity must be at least {plan.min_quantity}{most}",
            "invalid",
        )


def _addons(
    choices: Iterable[AddonChoice],
    catalogue: Catalogue,
    currency: str,
    before: Subscription | None,
    by_customer: bool,
) -> tuple[SubscribedAddon, ...]:
    had = {a.code: a for a in before.addons} if before else {}
    chosen: dict[str, SubscribedAddon] = {}
    for choice in choices:
        addon = catalogue.addon(choice.code)
        if addon.price.currency != currency:
            raise Refused("currency_mismatch", "the addon is priced in another currency", "invalid")
        if choice.quantity != 1 and not addon.quantity_allowed:
            raise Refused("addon_quantity", f"'{addon.code}' comes in a quantity of 1", "invalid")
        previous = had.get(addon.code)
        if (
            by_customer
            and not addon.portal_manageable
            and (previous is None or previous.quantity != choice.quantity)
        ):
            raise Refused(
                "addon_not_manageable",
                f"'{addon.code}' cannot be changed from the portal",
                "forbidden",
            )
        chosen[addon.code] = SubscribedAddon(
            code=addon.code,
            name=addon.name,
            charge=addon.charge,
            unit_amount_minor=previous.unit_amount_minor if previous else addon.price.amount_minor,
            quantity=choice.quantity,
        )
    if by_customer:
        for code in had.keys() - chosen.keys():
            known = catalogue.addons.get(code)
            if known is None or not known.portal_manageable:
                raise Refused(
                    "addon_not_manageable",
                    f"'{code}' cannot be removed from the portal",
                    "forbidden",
                )
    return tuple(chosen.values())


def _coupon(code: str, catalogue: Catalogue, currency: str) -> AppliedCoupon:
    coupon = catalogue.coupon(code)
    if coupon.amount is not None and coupon.amount.currency != currency:
        raise Refused("currency_mismatch", "the coupon is in another currency", "invalid")
    return AppliedCoupon(
        code=coupon.code,
        name=coupon.name,
        discount=coupon.discount,
        percentage=coupon.percentage,
        amount_minor=coupon.amount.amount_minor if coupon.amount else None,
        duration=coupon.duration,
        remaining_periods=coupon.periods if coupon.duration == "periods" else None,
    )


def _recurring_items(sub: Subscription) -> list[tuple[str, int, int]]:
    unit = "year" if sub.interval_unit == "year" else "month"
    every = f"every {sub.interval_count} {unit}s" if sub.interval_count > 1 else f"per {unit}"
    items = [(f"{sub.plan_name} ({every})", sub.quantity, sub.unit_amount_minor)]
    items += [
        (a.name, a.quantity, a.unit_amount_minor) for a in sub.addons if a.charge == "recurring"
    ]
    return items


def _one_time_lines(sub: Subscription) -> list[ChargeLine]:
    return [
        ChargeLine(
            description=a.name,
            quantity=a.quantity,
            unit_amount_minor=a.unit_amount_minor,
            amount_minor=a.unit_amount_minor * a.quantity,
        )
        for a in sub.addons
        if a.charge == "one_time"
    ]


def _without_one_time_addons(sub: Subscription) -> Subscription:
    return _with(sub, addons=tuple(a for a in sub.addons if a.charge == "recurring"))


def _start_term(
    sub: Subscription, start: datetime, reason: ChargeReason
) -> tuple[Subscription, Charge]:
    """A new term from `start`, charged in full (with the coupon's discount)."""
    end = add_interval(start, sub.interval_unit, sub.interval_count)
    lines = [
        ChargeLine(
            description=description,
            quantity=quantity,
            unit_amount_minor=unit,
            amount_minor=unit * quantity,
            period_start=start,
            period_end=end,
        )
        for description, quantity, unit in _recurring_items(sub)
    ] + _one_time_lines(sub)
    subtotal = sum(line.amount_minor for line in lines)
    discount, coupon = _discount(sub.coupon, subtotal)
    new = _with(
        _without_one_time_addons(sub),
        status="live",
        term_start=start,
        term_end=end,
        coupon=coupon,
        cancel_at=None,
        paused_at=None,
        pause_at=None,
        resume_at=None,
    )
    charge = _charge(sub, f"{reason}:{start.isoformat()}", reason, lines, discount)
    return new, charge


def _discount(coupon: AppliedCoupon | None, subtotal: int) -> tuple[int, AppliedCoupon | None]:
    """The discount on one period charge, and the coupon left afterwards."""
    if coupon is None or subtotal <= 0:
        return 0, coupon
    if coupon.discount == "percentage":
        discount = percentage_of(subtotal, coupon.percentage or 0)
    else:
        discount = min(subtotal, coupon.amount_minor or 0)
    if coupon.duration == "once":
        return discount, None
    if coupon.duration == "periods":
        left = (coupon.remaining_periods or 1) - 1
        return discount, (coupon.model_copy(update={"remaining_periods": left}) if left else None)
    return discount, coupon


def _charge(
    sub: Subscription, key: str, reason: ChargeReason, lines: list[ChargeLine], discount: int
) -> Charge:
    return Charge(
        customer_id=sub.customer_id,
        subscription_id=sub.subscription_id,
        charge_id=f"{sub.subscription_id}:{key}",
        reason=reason,
        currency=sub.currency,
        lines=tuple(lines),
        discount_minor=discount,
        total_minor=sum(line.amount_minor for line in lines) - discount,
        autocharge=sub.autocharge,
        payment_method_id=sub.payment_method_id if sub.autocharge else None,
    )
