"""Every subscription action: what it changes, what it charges, and when it is refused."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from portal_contracts.catalogue import AddonTerms, CouponTerms, PlanTerms
from portal_contracts.common import Money
from portal_contracts.subscriptions import (
    ActivateTrial,
    AddonChoice,
    Cancel,
    ChangeSubscription,
    ExtendTrial,
    NewSubscription,
    Pause,
    Reactivate,
    RemovePauseSchedule,
    RemoveScheduledCancellation,
    RemoveScheduledChanges,
    Resume,
    SetAutocharge,
    SubscriptionAction,
    SubscriptionSnapshot,
    UnlinkPaymentMethod,
)
from subscriptions.domain.subscriptions import (
    Catalogue,
    Outcome,
    Refused,
    act,
    add_interval,
    advance,
    autocharge_failed,
    create,
    invoice_paid,
    prorate,
)

pytestmark = pytest.mark.unit

NOW = datetime(2025, 3, 1, tzinfo=UTC)


def eur(amount: int) -> Money:
    return Money(amount_minor=amount, currency="EUR")


CATALOGUE = Catalogue(
    plans={
        "basic": PlanTerms(
            code="basic",
            name="Basic",
            price=eur(1000),
            trial_days=14,
            switchable_to=("pro",),
            max_quantity=10,
        ),
        "pro": PlanTerms(code="pro", name="Pro", price=eur(3000), trial_days=14),
        "secret": PlanTerms(code="secret", name="Secret", price=eur(500)),
        "locked": PlanTerms(
            code="locked", name="Locked", price=eur(800), portal_changes_allowed=False
        ),
    },
    addons={
        "towels": AddonTerms(code="towels", name="Towels", price=eur(500), portal_manageable=True),
        "seats": AddonTerms(
            code="seats",
            name="Seats",
            price=eur(200),
            portal_manageable=True,
            quantity_allowed=True,
        ),
        "setup": AddonTerms(
            code="setup",
            name="Setup",
            price=eur(2500),
            charge="one_time",
            portal_manageable=True,
        ),
        "support": AddonTerms(code="support", name="Support", price=eur(900)),
    },
    coupons={
        "TEN": CouponTerms(
            code="TEN",
            name="10%",
            discount="percentage",
            percentage=10,
            duration="periods",
            periods=2,
        ),
        "FIVER": CouponTerms(code="FIVER", name="5 off", discount="fixed", amount=eur(500)),
        "HALF": CouponTerms(
            code="HALF", name="Half", discount="percentage", percentage=50, duration="forever"
        ),
    },
)


def subscribe(
    *,
    trial: bool = False,
    autocharge: bool = False,
    method: str | None = None,
    plan: str = "basic",
    quantity: int = 1,
    addons: tuple[AddonChoice, ...] = (),
    coupon: str | None = None,
) -> Outcome:
    return create(
        NewSubscription(
            customer_id="cus_1",
            subscription_id="sub_1",
            plan_code=plan,
            quantity=quantity,
            addons=addons,
            coupon_code=coupon,
            autocharge=autocharge,
            payment_method_id=method,
            start_with_trial=trial,
        ),
        "EUR",
        CATALOGUE,
        NOW,
    )


def live(**kwargs: object) -> SubscriptionSnapshot:
    return subscribe(**kwargs).subscription  # type: ignore[arg-type]


def do(
    sub: SubscriptionSnapshot,
    action: SubscriptionAction,
    at: datetime = NOW,
    by_customer: bool = True,
) -> Outcome:
    return act(sub, action, CATALOGUE, at, by_customer=by_customer)


def refused(sub: SubscriptionSnapshot, action: SubscriptionAction, at: datetime = NOW) -> Refused:
    with pytest.raises(Refused) as caught:
        do(sub, action, at)
    return caught.value


# --- creating ---


def test_a_subscription_without_trial_starts_live_and_charges_its_first_term() -> None:
    outcome = subscribe(quantity=3, addons=(AddonChoice(code="towels"),))
    sub, charge = outcome.subscription, outcome.charge
    assert sub.status == "live"
    assert sub.term_end == datetime(2025, 4, 1, tzinfo=UTC)
    assert charge is not None
    assert charge.reason == "signup"
    assert [line.amount_minor for line in charge.lines] == [3000, 500]
    assert charge.total_minor == 3500
    assert sub.recurring_total_minor == 3500


def test_a_trial_subscription_charges_nothing_until_the_trial_ends() -> None:
    outcome = subscribe(trial=True)
    assert outcome.subscription.status == "trial"
    assert outcome.subscription.trial_end == NOW + timedelta(days=14)
    assert outcome.charge is None


def test_quantity_outside_the_plan_limits_is_refused() -> None:
    with pytest.raises(Refused) as caught:
        subscribe(quantity=11)
    assert caught.value.code == "quantity_out_of_range"


# --- trials ---


def test_activating_a_trial_ends_it_now_and_charges_a_full_term() -> None:
    at = NOW + timedelta(days=3)
    outcome = do(live(trial=True), ActivateTrial(), at)
    assert outcome.subscription.status == "live"
    assert outcome.subscription.term_start == at
    assert outcome.charge is not None
    assert outcome.charge.reason == "trial_activated"
    assert outcome.charge.total_minor == 1000


def test_activating_is_refused_outside_a_trial() -> None:
    assert refused(live(), ActivateTrial()).code == "wrong_status"


def test_activating_an_autocharge_trial_without_a_payment_method_is_refused() -> None:
    sub = live(trial=True).model_copy(update={"autocharge": True})
    assert refused(sub, ActivateTrial()).code == "no_payment_method"


def expired_trial() -> SubscriptionSnapshot:
    sub = live(trial=True).model_copy(update={"autocharge": True})
    [outcome] = advance(sub, CATALOGUE, NOW + timedelta(days=14))
    assert outcome.change == "trial_expired"
    return outcome.subscription


def test_an_expired_trial_is_extended_by_the_plans_trial_length_up_to_the_limit() -> None:
    at = NOW + timedelta(days=20)
    extended = do(expired_trial(), ExtendTrial(max_extensions=1), at).subscription
    assert extended.status == "trial"
    assert extended.trial_end == at + timedelta(days=14)
    assert extended.trial_extensions == 1
    again = advance(extended, CATALOGUE, at + timedelta(days=14))[0].subscription
    assert refused(again, ExtendTrial(max_extensions=1)).code == "trial_extension_limit"


def test_only_an_expired_trial_can_be_extended() -> None:
    assert refused(live(trial=True), ExtendTrial(max_extensions=3)).code == "not_expired_trial"
    cancelled = do(live(), Cancel(when="immediately")).subscription
    assert refused(cancelled, ExtendTrial(max_extensions=3)).code == "not_expired_trial"


# --- cancelling and reactivating ---


def test_cancelling_at_term_end_makes_it_non_renewing_until_the_clock_cancels_it() -> None:
    sub = do(live(), Cancel(when="end_of_term")).subscription
    assert sub.status == "non_renewing"
    assert sub.cancel_at == sub.term_end
    [outcome] = advance(sub, CATALOGUE, datetime(2025, 4, 1, tzinfo=UTC))
    assert outcome.change == "cancelled"
    assert outcome.subscription.status == "cancelled"
    assert outcome.charge is None


def test_removing_a_scheduled_cancellation_makes_it_live_again() -> None:
    sub = do(live(), Cancel(when="end_of_term")).subscription
    back = do(sub, RemoveScheduledCancellation()).subscription
    assert (back.status, back.cancel_at) == ("live", None)
    assert refused(back, RemoveScheduledCancellation()).code == "wrong_status"


def test_cancel_refusals() -> None:
    cancelled = do(live(), Cancel(when="immediately")).subscription
    assert cancelled.status == "cancelled"
    assert refused(cancelled, Cancel(when="immediately")).code == "already_ended"
    assert refused(live(trial=True), Cancel(when="end_of_term")).code == "wrong_status"
    non_renewing = do(live(), Cancel(when="end_of_term")).subscription
    assert refused(non_renewing, Cancel(when="end_of_term")).code == "already_scheduled"


def test_reactivating_starts_a_new_term_now_and_charges_it() -> None:
    cancelled = do(live(), Cancel(when="immediately")).subscription
    at = NOW + timedelta(days=40)
    outcome = do(cancelled, Reactivate(), at)
    assert outcome.subscription.status == "live"
    assert outcome.subscription.term_start == at
    assert outcome.charge is not None
    assert outcome.charge.reason == "reactivation"
    assert refused(outcome.subscription, Reactivate()).code == "wrong_status"


# --- pause and resume ---


def test_pausing_now_and_resuming_keeps_the_paid_time_left() -> None:
    sub = live()
    paused = do(sub, Pause(when="immediately"), NOW + timedelta(days=10)).subscription
    assert paused.status == "paused"
    assert advance(paused, CATALOGUE, NOW + timedelta(days=60)) == []  # no renewal while paused
    resumed = do(paused, Resume(when="immediately"), NOW + timedelta(days=15)).subscription
    assert resumed.status == "live"
    assert resumed.term_end == datetime(2025, 4, 6, tzinfo=UTC)


def test_a_pause_on_a_date_with_a_resume_date_runs_on_the_clock() -> None:
    pause_on, resume_on = NOW + timedelta(days=5), NOW + timedelta(days=8)
    sub = do(live(), Pause(when="on_date", pause_on=pause_on, resume_on=resume_on)).subscription
    assert (sub.status, sub.pause_at, sub.resume_at) == ("live", pause_on, resume_on)
    steps = advance(sub, CATALOGUE, NOW + timedelta(days=9))
    assert [s.change for s in steps] == ["paused", "resumed"]
    assert steps[-1].subscription.status == "live"
    assert steps[-1].subscription.term_end == datetime(2025, 4, 4, tzinfo=UTC)


def test_a_pause_schedule_can_be_changed_and_deleted() -> None:
    sub = do(live(), Pause(when="on_date", pause_on=NOW + timedelta(days=5))).subscription
    moved = do(sub, Pause(when="on_date", pause_on=NOW + timedelta(days=7)))
    assert moved.change == "reschedule_pause"
    assert moved.subscription.pause_at == NOW + timedelta(days=7)
    cleared = do(moved.subscription, RemovePauseSchedule()).subscription
    assert cleared.pause_at is None
    assert refused(cleared, RemovePauseSchedule()).code == "nothing_scheduled"


def test_a_resume_date_can_be_set_and_deleted_while_paused() -> None:
    paused = do(live(), Pause(when="immediately")).subscription
    scheduled = do(paused, Resume(when="on_date", resume_on=NOW + timedelta(days=3))).subscription
    assert scheduled.resume_at == NOW + timedelta(days=3)
    assert do(scheduled, RemovePauseSchedule()).subscription.resume_at is None


def test_pause_and_resume_refusals() -> None:
    assert refused(live(trial=True), Pause(when="immediately")).code == "wrong_status"
    assert refused(live(), Resume(when="immediately")).code == "wrong_status"
    past = Pause(when="on_date", pause_on=NOW - timedelta(days=1))
    assert refused(live(), past).kind == "invalid"
    backwards = Pause(
        when="on_date", pause_on=NOW + timedelta(days=5), resume_on=NOW + timedelta(days=2)
    )
    assert refused(live(), backwards).code == "resume_before_pause"


# --- changes and proration ---


def test_an_upgrade_mid_term_credits_the_unused_old_price_and_charges_the_new() -> None:
    sub = live()  # Basic 1000 for March (31 days)
    halfway = NOW + timedelta(days=15, hours=12)
    outcome = do(sub, ChangeSubscription(when="immediately", plan_code="pro"), halfway)
    assert outcome.subscription.plan_code == "pro"
    assert outcome.subscription.term_end == sub.term_end
    charge = outcome.charge
    assert charge is not None
    assert charge.reason == "plan_change"
    # 16 of March's 31 days are left (proration counts whole days).
    assert [line.amount_minor for line in charge.lines] == [-516, 1548]
    assert charge.total_minor == 1032
    assert charge.charge_id == "sub_1:plan_change:v2"


def test_a_change_confirmed_at_another_price_than_applies_is_refused() -> None:
    change = ChangeSubscription(when="immediately", plan_code="pro", confirm_total_minor=1032)
    halfway = NOW + timedelta(days=15, hours=12)
    assert do(live(), change, halfway).charge is not None
    assert refused(live(), change, halfway + timedelta(days=1)).code == "price_changed"


def test_proration_rounds_half_away_from_zero_in_one_place() -> None:
    assert prorate(1000, timedelta(days=1), timedelta(days=3)) == 333
    assert prorate(-1000, timedelta(days=2), timedelta(days=3)) == -667
    assert prorate(1, timedelta(days=1), timedelta(days=2)) == 1
    assert prorate(1000, timedelta(0), timedelta(days=3)) == 0


def test_months_are_added_with_the_day_clamped() -> None:
    assert add_interval(datetime(2025, 1, 31, tzinfo=UTC), "month", 1) == datetime(
        2025, 2, 28, tzinfo=UTC
    )
    assert add_interval(datetime(2024, 2, 29, tzinfo=UTC), "year", 1) == datetime(
        2025, 2, 28, tzinfo=UTC
    )


def test_adding_a_one_time_addon_charges_it_once_in_full() -> None:
    outcome = do(
        live(), ChangeSubscription(when="immediately", addons=(AddonChoice(code="setup"),))
    )
    assert outcome.charge is not None
    assert outcome.charge.reason == "addon"
    assert outcome.charge.total_minor == 2500
    assert outcome.subscription.addons == ()


def test_a_change_in_trial_swaps_the_plan_without_a_charge() -> None:
    outcome = do(live(trial=True), ChangeSubscription(when="immediately", plan_code="pro"))
    assert outcome.subscription.plan_code == "pro"
    assert outcome.charge is None


def test_an_end_of_term_change_waits_for_the_renewal_and_can_be_removed() -> None:
    sub = do(live(), ChangeSubscription(when="end_of_term", plan_code="pro", quantity=2))
    assert sub.charge is None
    assert sub.subscription.plan_code == "basic"
    [renewal] = advance(sub.subscription, CATALOGUE, datetime(2025, 4, 1, tzinfo=UTC))
    assert renewal.subscription.plan_code == "pro"
    assert renewal.subscription.scheduled_change is None
    assert renewal.charge is not None
    assert renewal.charge.total_minor == 6000
    removed = do(sub.subscription, RemoveScheduledChanges()).subscription
    assert removed.scheduled_change is None
    assert refused(removed, RemoveScheduledChanges()).code == "nothing_scheduled"


def test_customers_may_only_switch_to_the_plans_the_merchant_listed() -> None:
    assert refused(live(), ChangeSubscription(when="immediately", plan_code="secret")).kind == (
        "forbidden"
    )
    # The merchant may.
    merchant = do(
        live(), ChangeSubscription(when="immediately", plan_code="secret"), by_customer=False
    )
    assert merchant.subscription.plan_code == "secret"
    locked = live(plan="locked")
    assert refused(locked, ChangeSubscription(when="immediately", quantity=2)).code == (
        "plan_locked"
    )


def test_customers_cannot_add_or_remove_addons_the_merchant_keeps_for_itself() -> None:
    with_support = live(addons=(AddonChoice(code="support"),))
    assert refused(with_support, ChangeSubscription(when="immediately", addons=())).code == (
        "addon_not_manageable"
    )
    adding = ChangeSubscription(when="immediately", addons=(AddonChoice(code="support"),))
    assert refused(live(), adding).code == "addon_not_manageable"
    quantity = ChangeSubscription(
        when="immediately", addons=(AddonChoice(code="towels", quantity=2),)
    )
    assert refused(live(), quantity).code == "addon_quantity"


def test_changes_are_refused_in_statuses_that_do_not_allow_them() -> None:
    cancelled = do(live(), Cancel(when="immediately")).subscription
    assert refused(cancelled, ChangeSubscription(when="immediately", quantity=2)).code == (
        "wrong_status"
    )
    non_renewing = do(live(), Cancel(when="end_of_term")).subscription
    assert refused(non_renewing, ChangeSubscription(when="end_of_term", quantity=2)).code == (
        "ends_at_term_end"
    )
    assert refused(live(), ChangeSubscription(when="immediately")).code == "nothing_to_change"


# --- coupons ---


def test_a_coupon_for_two_periods_discounts_two_renewals_then_drops_off() -> None:
    sub = live(coupon="TEN")
    first = subscribe(coupon="TEN").charge
    assert first is not None
    assert (first.discount_minor, first.total_minor) == (100, 900)
    steps = advance(sub, CATALOGUE, datetime(2025, 5, 1, tzinfo=UTC))
    assert [s.charge.discount_minor for s in steps if s.charge] == [100, 0]
    assert steps[-1].subscription.coupon is None


def test_a_fixed_once_coupon_discounts_only_the_first_charge() -> None:
    outcome = subscribe(coupon="FIVER")
    assert outcome.charge is not None
    assert outcome.charge.total_minor == 500
    assert outcome.subscription.coupon is None


def test_a_coupon_applied_now_discounts_the_next_renewal() -> None:
    sub = do(live(), ChangeSubscription(when="immediately", coupon_code="HALF")).subscription
    [renewal] = advance(sub, CATALOGUE, datetime(2025, 4, 1, tzinfo=UTC))
    assert renewal.charge is not None
    assert renewal.charge.total_minor == 500
    assert renewal.subscription.coupon is not None  # forever
    removed = do(sub, ChangeSubscription(when="immediately", remove_coupon=True)).subscription
    assert removed.coupon is None


# --- autocharge and payment methods ---


def test_turning_autocharge_off_brings_a_past_due_subscription_back_to_live() -> None:
    sub = live(autocharge=True, method="pm_1")
    past_due = autocharge_failed(sub, retries_exhausted=False, at=NOW)
    assert past_due is not None
    assert past_due.subscription.status == "past_due"
    off = do(past_due.subscription, SetAutocharge(enabled=False))
    assert (off.subscription.status, off.subscription.autocharge) == ("live", False)
    assert off.charge is None


def test_turning_autocharge_on_needs_a_payment_method_and_collects_nothing() -> None:
    assert refused(live(), SetAutocharge(enabled=True)).code == "no_payment_method"
    on = do(live(), SetAutocharge(enabled=True, payment_method_id="pm_2"))
    assert on.subscription.autocharge
    assert on.charge is None
    assert refused(on.subscription, SetAutocharge(enabled=True)).code == "already_on"


def test_removing_the_payment_method_turns_autocharge_off() -> None:
    sub = do(live(autocharge=True, method="pm_1"), UnlinkPaymentMethod()).subscription
    assert (sub.payment_method_id, sub.autocharge) == (None, False)
    assert refused(sub, UnlinkPaymentMethod()).code == "no_payment_method"


def test_payment_outcomes_move_between_live_past_due_and_unpaid() -> None:
    sub = live(autocharge=True, method="pm_1")
    unpaid = autocharge_failed(sub, retries_exhausted=True, at=NOW)
    assert unpaid is not None
    assert unpaid.subscription.status == "unpaid"
    assert advance(unpaid.subscription, CATALOGUE, NOW + timedelta(days=90)) == []
    paid = invoice_paid(unpaid.subscription, NOW)
    assert paid is not None
    assert paid.subscription.status == "live"
    assert invoice_paid(sub, NOW) is None


# --- the clock's rules ---


def test_the_clock_renews_each_term_with_a_charge_id_per_period() -> None:
    steps = advance(live(), CATALOGUE, datetime(2025, 6, 1, tzinfo=UTC))
    assert [s.change for s in steps] == ["renewed"] * 3
    ids = [s.charge.charge_id for s in steps if s.charge]
    assert ids == [
        "sub_1:renewal:2025-04-01T00:00:00+00:00",
        "sub_1:renewal:2025-05-01T00:00:00+00:00",
        "sub_1:renewal:2025-06-01T00:00:00+00:00",
    ]
    assert advance(steps[-1].subscription, CATALOGUE, datetime(2025, 6, 1, tzinfo=UTC)) == []


def test_a_trial_with_a_payment_method_becomes_live_and_is_charged_at_its_end() -> None:
    sub = live(trial=True, autocharge=True, method="pm_1")
    [step] = advance(sub, CATALOGUE, NOW + timedelta(days=14))
    assert step.subscription.status == "live"
    assert step.charge is not None
    assert step.charge.autocharge
    assert step.charge.payment_method_id == "pm_1"
