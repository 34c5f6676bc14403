"""Settings of the notifications service (env prefix NOTIFICATIONS_)."""

from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from portal_runtime.settings import ServiceSettings


class NotificationsSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="NOTIFICATIONS_", extra="ignore")

    service_name: str = "notifications"
    http_port: int = 8104
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 1025
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_timeout_seconds: float = 30.0
    smtp_keep_open_seconds: float = Field(default=30.0, ge=0)
    # Emails sent at the same time by one instance (each on its own SMTP connection).
    mail_senders: int = Field(default=4, ge=1, le=32)
    mail_from: str = "portal@localhost"
    mail_attempts: int = Field(default=8, ge=1)
    mail_backoff_seconds: float = 1.0
    mail_backoff_cap_seconds: float = 300
    # How long a sender may hold a claimed mail before another sender may take it over; longer
    # than one SMTP conversation can last, so a slow send is never sent twice.
    mail_lease_seconds: float = 120.0
    # New mail wakes the sender at once; the poll picks up retries that come due.
    mail_poll_seconds: float = 0.2
    # Webhooks: waits between tries (1m, 5m, 30m, 2h, 12h, then daily; dead after about 3.6
    # days), how long one POST may take, and the claim lease (longer than a POST can last).
    webhook_retry_schedule_seconds: tuple[float, ...] = (
        60,
        300,
        1800,
        7200,
        43200,
        86400,
        86400,
        86400,
    )
    webhook_timeout_seconds: float = 10.0
    webhook_lease_seconds: float = 60.0
    # Deliveries posted at the same time by one instance (order is not promised anyway).
    webhook_senders: int = Field(default=4, ge=1, le=32)
    webhook_poll_seconds: float = 0.2
    # Webhooks go only to public internet addresses, checked again before every delivery (see
    # portal_runtime.network). On only for a local stack whose receivers listen on 127.0.0.1.
    allow_private_webhook_targets: bool = False
