"""Settings of the subscriptions service (env prefix SUBSCRIPTIONS_)."""

from pydantic_settings import SettingsConfigDict

from portal_runtime.settings import ServiceSettings


class SubscriptionsSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="SUBSCRIPTIONS_", extra="ignore")

    service_name: str = "subscriptions"
    http_port: int = 8102
    # The billing clock: how often it looks for due subscriptions when idle, how many it
    # leases per run, and how long a lease holds if a run dies mid-way.
    billing_clock_enabled: bool = True
    billing_clock_poll_seconds: float = 1.0
    billing_clock_batch: int = 200
    billing_clock_lease_seconds: float = 60.0
