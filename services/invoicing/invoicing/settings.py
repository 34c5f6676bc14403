"""Settings of the invoicing service (env prefix INVOICING_)."""

from pydantic_settings import SettingsConfigDict

from portal_runtime.settings import ServiceSettings


class InvoicingSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="INVOICING_", extra="ignore")

    service_name: str = "invoicing"
    http_port: int = 8103
    # How often the clock-driven jobs look for work (overdue invoices, expired quotes,
    # autocharge retries, attempts to resolve). Each change is a conditional update in its own
    # transaction, so instances running a job at once never apply it twice; the
    # autocharge, payment-resolving and quote-expiry jobs also hold a lease so one instance
    # does the work.
    jobs_poll_seconds: float = 5.0
    # The sandbox gateway: how long a bank (ACH) payment stays pending before it settles/fails.
    sandbox_settle_after_seconds: float = 3 * 24 * 3600
