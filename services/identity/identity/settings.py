"""Settings of the identity service (env prefix IDENTITY_)."""

from pydantic import SecretStr
from pydantic_settings import SettingsConfigDict

from portal_runtime.settings import ServiceSettings

# Development-only signing key: every real deployment sets IDENTITY_TOKEN_PRIVATE_KEY.
DEV_TOKEN_PRIVATE_KEY = (
    "-----BEGIN PRIVATE KEY-----\n"
    "MC4CAQAwBQYDK2VwBCIEII85GMYkcW6CKy3Ottl9/xuq06ybP4jt1OKEhf0IAtYf\n"
    "-----END PRIVATE KEY-----\n"
)


class IdentitySettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="IDENTITY_", extra="ignore")

    service_name: str = "identity"
    http_port: int = 8101
    public_url: str = "http://127.0.0.1:8000"
    token_private_key: SecretStr = SecretStr(DEV_TOKEN_PRIVATE_KEY)
    access_token_minutes: int = 10
    refresh_token_days: int = 30
    invitation_days: int = 7
    # argon2id: OWASP's minimum profile (19 MiB, 2 passes, 1 lane); see docs/decisions.md.
    argon2_time_cost: int = 2
    argon2_memory_kib: int = 19456
    argon2_parallelism: int = 1
