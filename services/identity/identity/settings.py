"""Settings of the identity service (env prefix IDENTITY_)."""

from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from portal_runtime.settings import ServiceSettings

# Development-only signing key: every real deployment sets IDENTITY_TOKEN_PRIVATE_KEY.
DEV_TOKEN_PRIVATE_KEY = (
    "-----BEGIN PRIVATE KEY-----\n"
    "MC4CAQAwBQYDK2VwBCIEII85GMYkcW6CKy3Ottl9/xuq06ybP4jt1OKEhf0IAtYf\n"
    "-----END PRIVATE KEY-----\n"
)
# Development-only shared secret of the internal HTTP API; the gateway's default is the same
# value (GATEWAY_IDENTITY_INTERNAL_TOKEN). Every real deployment sets both, like the keys.
DEV_INTERNAL_TOKEN = "local-dev-internal-token-not-for-production"


class IdentitySettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="IDENTITY_", extra="ignore")

    service_name: str = "identity"
    http_port: int = 8101
    public_url: str = "http://127.0.0.1:8000"
    token_private_key: SecretStr = SecretStr(DEV_TOKEN_PRIVATE_KEY)
    access_token_minutes: int = 10
    refresh_token_days: int = 30
    # Digests of exchanged refresh tokens kept per session to recognise a reuse; an older
    # token is simply unknown (docs/identity-sign-in.md, "Refresh-token history").
    refresh_token_history: int = Field(default=50, ge=1)
    # The gateway sends this in X-Internal-Token on every internal API call (health and
    # readiness probes excepted); anything else is answered 401.
    internal_token: SecretStr = SecretStr(DEV_INTERNAL_TOKEN)
    invitation_days: int = 7
    # argon2id: OWASP's minimum profile (19 MiB, 2 passes, 1 lane); see docs/decisions.md.
    argon2_time_cost: int = 2
    argon2_memory_kib: int = 19456
    argon2_parallelism: int = 1
    # Password checks run at once (None: one per CPU) and may wait; beyond: 429 at once.
    password_hashing_workers: int | None = None
    sign_in_max_waiting: int = 64
    # Password reset links and the step between password and one-time code.
    password_reset_minutes: int = 60
    mfa_challenge_minutes: int = 5
    mfa_challenge_attempts: int = 5
    # TOTP seeds are sealed with this key; without it, with the service's sealing key.
    mfa_sealing_key: SecretStr | None = None
    mfa_issuer: str = "Customer portal"
    # Failed sign-ins: per account (email on one portal) and per client address.
    account_failures_before_lock: int = 5
    ip_failures_before_lock: int = 100
    first_lock_minutes: int = 15
    longest_lock_minutes: int = 24 * 60
    forget_failures_after_minutes: int = 60
    # At most this many reset emails per account per hour; more are silently not sent.
    reset_emails_per_hour: int = 3
    # Single sign-on (OpenID Connect): how long a started sign-in and its hand-off code live;
    # private/loopback issuer URLs (None: only in the local profile); discovery cache.
    sso_attempt_minutes: int = 10
    sso_handoff_seconds: int = 60
    sso_allow_private_issuers: bool | None = None
    sso_discovery_cache_seconds: float = 300.0
