"""Settings of the portal gateway (env prefix GATEWAY_)."""

from pydantic import SecretStr
from pydantic_settings import SettingsConfigDict

from portal_runtime.settings import ServiceSettings

# Development-only key pair's public half (identity holds the private half in dev).
DEV_TOKEN_PUBLIC_KEY = (
    "-----BEGIN PUBLIC KEY-----\n"
    "MCowBQYDK2VwAyEACk0FOX74jR8O7jiFK2eWcpyUiBxHnxSE4tVQtWYuxTQ=\n"
    "-----END PUBLIC KEY-----\n"
)


class GatewaySettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="GATEWAY_", extra="ignore")

    service_name: str = "portal-gateway"
    http_port: int = 8000
    public_url: str = "http://127.0.0.1:8000"
    identity_url: str = "http://127.0.0.1:8101"
    operator_token: SecretStr = SecretStr("")
    token_public_key: str = DEV_TOKEN_PUBLIC_KEY
    command_timeout_seconds: float = 10.0
    api_key_cache_seconds: float = 30.0
    # Webhook URLs must name public internet addresses (portal_runtime.network); when on (a
    # local stack whose receivers listen on 127.0.0.1) the address is not looked at at all.
    allow_private_webhook_targets: bool = False
    # After a secret rotation, how long deliveries also carry the replaced secret's signature.
    webhook_secret_grace_seconds: float = 24 * 3600
