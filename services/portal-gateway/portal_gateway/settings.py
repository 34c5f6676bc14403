"""Settings of the portal gateway (env prefix GATEWAY_)."""

import json
from ipaddress import IPv4Network, IPv6Network
from typing import Annotated, Any

from pydantic import IPvAnyNetwork, SecretStr, field_validator
from pydantic_settings import NoDecode, SettingsConfigDict

from portal_runtime.settings import ServiceSettings

# Development-only key pair's public half (identity holds the private half in dev).
DEV_TOKEN_PUBLIC_KEY = (
    "-----BEGIN PUBLIC KEY-----\n"
    "MCowBQYDK2VwAyEACk0FOX74jR8O7jiFK2eWcpyUiBxHnxSE4tVQtWYuxTQ=\n"
    "-----END PUBLIC KEY-----\n"
)
# Development-only shared secret of identity's internal API (identity.settings has the same).
DEV_INTERNAL_TOKEN = "local-dev-internal-token-not-for-production"


class GatewaySettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="GATEWAY_", extra="ignore")

    service_name: str = "portal-gateway"
    http_port: int = 8000
    public_url: str = "http://127.0.0.1:8000"
    identity_url: str = "http://127.0.0.1:8101"
    # Sent as X-Internal-Token to identity; must equal IDENTITY_INTERNAL_TOKEN.
    identity_internal_token: SecretStr = SecretStr(DEV_INTERNAL_TOKEN)
    # Load balancers / reverse proxies in front of the gateway (CIDRs, JSON list or
    # comma-separated). Empty: the socket peer is the client. See api/client_address.py.
    trusted_proxies: Annotated[list[IPvAnyNetwork], NoDecode] = []
    operator_token: SecretStr = SecretStr("")
    token_public_key: str = DEV_TOKEN_PUBLIC_KEY
    command_timeout_seconds: float = 10.0
    api_key_cache_seconds: float = 30.0
    # Webhook URLs must name public internet addresses (portal_runtime.network); when on (a
    # local stack whose receivers listen on 127.0.0.1) the address is not looked at at all.
    allow_private_webhook_targets: bool = False
    # After a secret rotation, how long deliveries also carry the replaced secret's signature.
    webhook_secret_grace_seconds: float = 24 * 3600

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _networks(cls, value: Any) -> Any:
        """`10.0.0.0/8,192.168.0.0/16` or `["10.0.0.0/8"]` from the environment."""
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                return json.loads(text)
            return [part.strip() for part in text.split(",") if part.strip()]
        return value

    @property
    def trusted_networks(self) -> tuple[IPv4Network | IPv6Network, ...]:
        return tuple(self.trusted_proxies)
