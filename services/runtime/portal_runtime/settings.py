"""Settings every service shares; each service subclasses with its own env prefix."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class ServiceSettings(BaseSettings):
    """`profile` says which infrastructure we run on: `local` is Tansu + SecantusDB on one
    machine (no idempotent producer, short group timeouts); `kafka` is real Apache Kafka."""

    model_config = SettingsConfigDict(env_prefix="PORTAL_", extra="ignore")

    service_name: str = "service"
    profile: Literal["local", "kafka"] = "local"
    kafka_bootstrap: str = "127.0.0.1:9092"
    mongo_uri: str = "mongodb://127.0.0.1:27017/?replicaSet=secantus"
    mongo_database: str = ""
    http_host: str = "127.0.0.1"
    http_port: int = 8000
    # Group membership: Tansu joins take about half the session timeout, so keep it short
    # locally; real Kafka keeps the client defaults.
    kafka_session_timeout_ms: int | None = None
    kafka_heartbeat_interval_ms: int | None = None
    # Tansu answers a fetch only when its wait runs out, not when data arrives, so every hop
    # costs up to this wait locally; real Kafka answers as soon as data is there.
    kafka_fetch_max_wait_ms: int | None = None
    kafka_enable_idempotence: bool | None = None
    kafka_acks: Literal["all", "1", "0"] | None = None
    outbox_poll_seconds: float = 0.2
    retry_attempts: int = Field(default=5, ge=1)
    retry_backoff_seconds: float = 0.2
    retry_backoff_cap_seconds: float = 5.0
    # Encrypts links and secrets that must cross a topic (Fernet, urlsafe base64 32 bytes).
    sealing_key: SecretStr = SecretStr("dGhpcy1pcy1hLWxvY2FsLWRldi1rZXktMzItYnl0ZXM=")
    otel_exporter_endpoint: str | None = None
    log_level: str = "INFO"

    @property
    def database_name(self) -> str:
        return self.mongo_database or self.service_name.replace("-", "_")

    @property
    def session_timeout_ms(self) -> int:
        if self.kafka_session_timeout_ms is not None:
            return self.kafka_session_timeout_ms
        return 1000 if self.profile == "local" else 45000

    @property
    def heartbeat_interval_ms(self) -> int:
        if self.kafka_heartbeat_interval_ms is not None:
            return self.kafka_heartbeat_interval_ms
        return 300 if self.profile == "local" else 3000

    @property
    def fetch_max_wait_ms(self) -> int:
        if self.kafka_fetch_max_wait_ms is not None:
            return self.kafka_fetch_max_wait_ms
        return 20 if self.profile == "local" else 500

    @property
    def enable_idempotence(self) -> bool:
        if self.kafka_enable_idempotence is not None:
            return self.kafka_enable_idempotence
        return self.profile == "kafka"

    @property
    def acks(self) -> str | int:
        if self.kafka_acks is not None:
            return "all" if self.kafka_acks == "all" else int(self.kafka_acks)
        return "all" if self.profile == "kafka" else 1
