"""The Kafka broker every service uses, its subscribers, retries and dead letters.

Every subscriber has a named consumer group and acks only after the handler is done
(NACK_ON_ERROR: an unexpected crash re-delivers). The dead-letter middleware sorts failures:
malformed messages and permanent failures go straight to `<topic>.dlt`; anything else is
retried with capped exponential backoff and dead-lettered when the attempts run out. Either
way the consumer moves on to the next message.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar, cast

from faststream import AckPolicy, BaseMiddleware
from faststream.kafka import KafkaBroker
from faststream.kafka.opentelemetry import KafkaTelemetryMiddleware
from faststream.message import StreamMessage
from pydantic import ValidationError

from portal_contracts.topics import dead_letter_topic
from portal_runtime.errors import PermanentFailure, ServiceError
from portal_runtime.settings import ServiceSettings

log = logging.getLogger(__name__)

PERMANENT = (ValidationError, PermanentFailure, ServiceError, json.JSONDecodeError, UnicodeError)


class DeadLetters:
    """Policy shared by a broker's subscribers; `middleware` is what the broker installs."""

    def __init__(self, settings: ServiceSettings) -> None:
        self.consumer = settings.service_name
        self.attempts = settings.retry_attempts
        self.backoff = settings.retry_backoff_seconds
        self.cap = settings.retry_backoff_cap_seconds
        self.broker: KafkaBroker | None = None

    def delay(self, attempt: int) -> float:
        return float(min(self.cap, self.backoff * 2 ** min(attempt - 1, 32)))

    async def send(self, msg: StreamMessage[Any], error: BaseException) -> None:
        record = msg.raw_message
        topic = getattr(record, "topic", "unknown")
        if self.broker is None:
            raise RuntimeError("dead-letter policy has no broker")
        # The original headers travel along (message type, organisation, trace context), so
        # a replay from the dead-letter topic carries them again.
        original = {
            str(name): value.decode(errors="replace") if isinstance(value, bytes) else value
            for name, value in (getattr(record, "headers", None) or ())
            if not str(name).startswith("dlt-")
        }
        headers = {
            **{name: value for name, value in original.items() if isinstance(value, str)},
            "dlt-original-topic": str(topic),
            "dlt-original-partition": str(getattr(record, "partition", "")),
            "dlt-original-offset": str(getattr(record, "offset", "")),
            "dlt-consumer": self.consumer,
            "dlt-error-type": type(error).__name__,
            "dlt-reason": str(error)[:2000],
        }
        await self.broker.publish(
            msg.body,
            dead_letter_topic(str(topic)),
            key=getattr(record, "key", None),
            headers=headers,
        )
        log.warning(
            "dead-lettered message from %s offset %s: %s: %s",
            topic,
            headers["dlt-original-offset"],
            headers["dlt-error-type"],
            headers["dlt-reason"][:300],
        )

    def middleware(self, msg: Any, /, **kwargs: Any) -> BaseMiddleware:
        return _DeadLetterMiddleware(msg, policy=self, **kwargs)


class _DeadLetterMiddleware(BaseMiddleware):
    def __init__(self, msg: Any, /, *, policy: DeadLetters, **kwargs: Any) -> None:
        super().__init__(msg, **kwargs)
        self.policy = policy

    async def consume_scope(self, call_next: Any, msg: StreamMessage[Any]) -> Any:
        attempt = 1
        while True:
            try:
                return await call_next(msg)
            except PERMANENT as error:
                await self.policy.send(msg, error)
                return None
            except Exception as error:
                if attempt >= self.policy.attempts:
                    await self.policy.send(msg, error)
                    return None
                log.warning("handler failed (attempt %s), retrying: %r", attempt, error)
                await asyncio.sleep(self.policy.delay(attempt))
                attempt += 1


def make_broker(settings: ServiceSettings) -> tuple[KafkaBroker, DeadLetters]:
    """A broker configured for the profile; nothing connects until it is started."""
    dead_letters = DeadLetters(settings)
    broker = KafkaBroker(
        settings.kafka_bootstrap,
        client_id=settings.service_name,
        enable_idempotence=settings.enable_idempotence,
        acks=settings.acks,
        middlewares=[KafkaTelemetryMiddleware(), dead_letters.middleware],
        logger=logging.getLogger(f"{settings.service_name}.broker"),
    )
    dead_letters.broker = broker
    return broker, dead_letters


def subscriber_options(settings: ServiceSettings, group: str) -> dict[str, Any]:
    """Options every subscriber takes: a named group, explicit acks, short joins locally."""
    return {
        "group_id": group,
        "ack_policy": AckPolicy.NACK_ON_ERROR,
        "auto_offset_reset": "earliest",
        "session_timeout_ms": settings.session_timeout_ms,
        "heartbeat_interval_ms": settings.heartbeat_interval_ms,
        "fetch_max_wait_ms": settings.fetch_max_wait_ms,
    }


Handler = TypeVar("Handler", bound=Callable[..., Awaitable[None]])


def subscriber(
    broker: KafkaBroker,
    settings: ServiceSettings,
    topic: str,
    *,
    group: str,
    title: str,
    description: str,
) -> Callable[[Handler], Handler]:
    """`@subscriber(...)`: a handler in a named group with the shared ack policy."""
    decorator = broker.subscriber(
        topic, **subscriber_options(settings, group), title=title, description=description
    )
    return cast(Callable[[Handler], Handler], decorator)


def kafka_publisher(broker: KafkaBroker) -> Callable[..., Any]:
    """Adapter the outbox relay uses to publish a stored message."""

    async def publish(topic: str, key: str, body: bytes, headers: dict[str, str]) -> None:
        await broker.publish(
            body,
            topic,
            key=key.encode(),
            headers={**headers, "content-type": "application/json"},
        )

    return publish
