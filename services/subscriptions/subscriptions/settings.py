"""Settings of the subscriptions service (env prefix SUBSCRIPTIONS_)."""

from pydantic_settings import SettingsConfigDict

from portal_runtime.settings import ServiceSettings


class SubscriptionsSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="SUBSCRIPTIONS_", extra="ignore")

    service_name: str = "subscriptions"
    http_port: int = 8102
