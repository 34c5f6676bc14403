"""What a merchant lets customers do in the portal: every preference, with its default.

The gateway owns these settings and enforces them on every portal action and view before a
command leaves for the owning service; the services enforce the rules of state (status,
autocharge) themselves.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from portal_runtime.errors import Forbidden

When = Literal["immediately", "end_of_term", "both"]
Timing = Literal["immediately", "on_date", "both"]


class _Section(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class PortalPreferences(_Section):
    """Portal preferences: the actions customers may perform."""

    auto_enable_for_hosted_payments: bool = False
    multi_factor_authentication: bool = False
    add_payment_methods: bool = True
    prevent_duplicate_payments: bool = True
    self_sign_up: bool = False
    notify_me_of_activity: bool = True
    notify_me_by_email: bool = False
    email_customers_on_comments: bool = False
    share_documents: bool = False
    edit_gst_treatment: bool = False
    forward_documents: bool = True
    bulk_payments: bool = True
    reviews: bool = False
    credit_notes: bool = True
    projects_and_timesheets: bool = False
    sales_orders: bool = False


class SavingPaymentMethods(_Section):
    """Whether "use this card/account for future transactions" starts checked."""

    save_by_default: bool = True


class Trials(_Section):
    extend_trials: bool = False
    max_trial_extensions: int = Field(default=1, ge=0, le=12)
    activate_trials: bool = False
    activate_when_autocharge_on: bool = True
    activate_when_autocharge_off: bool = True


class Cancellations(_Section):
    cancel: bool = False
    cancel_when: When = "end_of_term"
    reactivate: bool = False
    remove_scheduled_cancellation: bool = False


class PauseAndResume(_Section):
    pause: bool = False
    pause_when: Timing = "both"
    resume: bool = False
    resume_when: Timing = "both"


class Payments(_Section):
    toggle_autocharge: bool = False
    remove_payment_method: bool = False


class Advanced(_Section):
    """Subscription changes: when they apply and which parts customers may change."""

    apply_changes: When = "both"
    remove_end_of_term_changes: bool = False
    change_plan: bool = False
    change_plan_quantity: bool = False
    manage_addons: bool = False
    addon_quantities: bool = False
    coupons: bool = False
    allowed_statuses: tuple[str, ...] = ("live", "trial", "non_renewing")
    allowed_autocharge: Literal["on", "off", "both"] = "both"


class SecureLinks(_Section):
    """Public links to invoices and quotes."""

    enabled: bool = True
    verify_identity: bool = False
    expire_after_days: int | None = Field(default=None, ge=1, le=365)


class Preferences(_Section):
    portal: PortalPreferences = PortalPreferences()
    saving_payment_methods: SavingPaymentMethods = SavingPaymentMethods()
    trials: Trials = Trials()
    cancellations: Cancellations = Cancellations()
    pause_and_resume: PauseAndResume = PauseAndResume()
    payments: Payments = Payments()
    advanced: Advanced = Advanced()
    secure_links: SecureLinks = SecureLinks()


def patched(current: Preferences, patch: dict[str, Any]) -> Preferences:
    """`current` with the flags named in `patch` ({section: {flag: value}}) changed; an unknown
    section or flag, or a value of the wrong kind, raises pydantic's ValidationError."""
    merged: dict[str, Any] = current.model_dump()
    for section, flags in patch.items():
        if isinstance(flags, dict) and isinstance(merged.get(section), dict):
            merged[section] = {**merged[section], **flags}
        else:
            merged[section] = flags
    return Preferences.model_validate(merged)


def require(allowed: bool, what: str) -> None:
    """Refuse an action or view the merchant has not enabled (403, the same for every caller)."""
    if not allowed:
        raise Forbidden(f"{what} is not enabled for this portal", code="not_enabled")


def allows_timing(setting: When | Timing, requested: str) -> bool:
    return setting == "both" or setting == requested
