"""The notifications service in memory for component tests: its runtime on the real database
with fast poll settings, its broker under TestKafkaBroker, and what it publishes to merchants
(and the commands it dead-letters) collected for the test to look at. And the other side: the
gateway in memory with a fake notifications service answering its commands."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol, TypeVar

from faststream.kafka import KafkaBroker, KafkaMessage, TestKafkaBroker
from litestar import Litestar
from pydantic import SecretStr

from notifications.app import build_runtime
from notifications.settings import NotificationsSettings
from portal_contracts.envelope import Actor, Envelope
from portal_contracts.merchants import (
    MerchantProfile,
    MerchantRegistered,
    NotificationFlags,
    PortalSettings,
    PortalSettingsChanged,
)
from portal_contracts.notifications import (
    MerchantNotified,
    RegisterWebhookEndpoint,
    WebhookDeliveryChanged,
    WebhookEndpoint,
)
from portal_contracts.portal import PortalActivity, PortalActivityRecorded
from portal_contracts.registry import NotificationsCommand, parse_message
from portal_contracts.topics import (
    MERCHANT_EVENTS,
    MERCHANT_NOTIFICATIONS,
    NOTIFICATIONS_COMMANDS,
    PORTAL_EVENTS,
    dead_letter_topic,
)
from portal_gateway.app import create_app
from portal_gateway.settings import GatewaySettings
from portal_runtime.clock import MovableClock
from portal_runtime.runtime import ServiceRuntime
from portal_runtime.sealing import Sealer

FAST = {
    "smtp_timeout_seconds": 2,
    "mail_poll_seconds": 0.05,
    "webhook_poll_seconds": 0.05,
    "webhook_timeout_seconds": 2,
    "outbox_poll_seconds": 0.05,
}


@dataclass
class NotificationsHarness:
    """A running notifications service, one merchant organisation's view of it."""

    runtime: ServiceRuntime
    clock: MovableClock
    org: str = field(default_factory=lambda: f"org_{uuid.uuid4().hex[:8]}")
    published: list[Envelope] = field(default_factory=list)
    dead_letters: list[tuple[dict[str, str], dict[str, Any]]] = field(default_factory=list)

    @property
    def broker(self) -> KafkaBroker:
        return self.runtime.broker

    @property
    def sealer(self) -> Sealer:
        return Sealer(self.runtime.settings.sealing_key)

    @property
    def db(self) -> Any:
        return self.runtime.store.db

    def envelope(self, **extra: Any) -> dict[str, Any]:
        return {
            "occurred_at": self.clock.now(),
            "organisation_id": self.org,
            "correlation_id": uuid.uuid4().hex,
            **extra,
        }

    async def send(self, topic: str, message: Envelope) -> None:
        await self.broker.publish(message, topic, key=message.key().encode())

    def of(self, kind: type[Envelope]) -> list[Any]:
        return [m for m in self.published if isinstance(m, kind)]

    def notified(self, kind: str | None = None) -> list[MerchantNotified]:
        return [m for m in self.of(MerchantNotified) if kind is None or m.data.kind == kind]

    def deliveries(self, status: str) -> Callable[[], Awaitable[list[WebhookDeliveryChanged]]]:
        """A probe for `eventually`: the published delivery changes with this status."""

        async def probe() -> list[WebhookDeliveryChanged]:
            return [c for c in self.of(WebhookDeliveryChanged) if c.data.status == status]

        return probe

    async def merchant(self, *, notify: bool = True, by_email: bool = False) -> None:
        await self.send(
            MERCHANT_EVENTS,
            MerchantRegistered(
                **self.envelope(),
                data=MerchantProfile(
                    name="Acme Tea Club", portal_slug="acme", contact_email="owner@acme.example"
                ),
            ),
        )
        await self.send(
            MERCHANT_EVENTS,
            PortalSettingsChanged(
                **self.envelope(),
                data=PortalSettings(
                    portal_name="Acme Tea Club",
                    portal_slug="acme",
                    notifications=NotificationFlags(
                        notify_me_of_activity=notify,
                        notify_me_by_email=by_email,
                        email_customers_on_comments=False,
                    ),
                    preferences={},
                ),
            ),
        )

    async def activity(
        self, module: str, action: str, subject_id: str | None = None, customer_id: str = "cus_1"
    ) -> PortalActivityRecorded:
        """A contact of the customer did something in the portal."""
        event = PortalActivityRecorded(
            **self.envelope(actor=Actor(kind="contact", id="ct_1")),
            data=PortalActivity(
                customer_id=customer_id,
                contact_id="ct_1",
                module=module,
                action=action,
                subject_id=subject_id,
                ip="203.0.113.9",
                user_agent="Mozilla/5.0",
            ),
        )
        await self.send(PORTAL_EVENTS, event)
        return event

    async def endpoint(self, url: str, secret: str) -> str:
        """Registers a webhook endpoint signing with `secret`; its id."""
        endpoint_id = f"we_{uuid.uuid4().hex[:8]}"
        await self.send(
            NOTIFICATIONS_COMMANDS,
            RegisterWebhookEndpoint(
                **self.envelope(),
                data=WebhookEndpoint(
                    endpoint_id=endpoint_id, url=url, sealed_secret=self.sealer.seal(secret)
                ),
            ),
        )
        return endpoint_id


@asynccontextmanager
async def running_notifications(
    mongo_uri: str, database_name: str, smtp_port: int, *, start: datetime, **settings: Any
) -> AsyncIterator[NotificationsHarness]:
    """The service with its store indexes, senders and relay started (polling fast; any of
    `settings` overrides), on the in-memory broker, its clock standing at `start`."""
    clock = MovableClock(start)
    runtime = build_runtime(
        NotificationsSettings(
            mongo_uri=mongo_uri,
            mongo_database=database_name,
            smtp_port=smtp_port,
            **(FAST | settings),
        ),
        clock,
    )
    service = NotificationsHarness(runtime, clock)

    @runtime.broker.subscriber(MERCHANT_NOTIFICATIONS, group_id="test-stream")
    async def keep(message: KafkaMessage) -> None:
        parsed = parse_message(message.body)
        if isinstance(parsed, Envelope):
            service.published.append(parsed)

    @runtime.broker.subscriber(dead_letter_topic(NOTIFICATIONS_COMMANDS), group_id="test-dlt")
    async def keep_dead_letter(message: KafkaMessage) -> None:
        service.dead_letters.append((dict(message.headers), json.loads(message.body)))

    # connect_only: the runtime starts the (patched) broker itself, together with its on_start
    # steps and background jobs, exactly as the service process does.
    async with TestKafkaBroker(runtime.broker, connect_only=True):
        await runtime.start()
        try:
            yield service
        finally:
            await runtime.stop()


OPERATOR_TOKEN = "operator-secret"


class AnswersCommands(Protocol):
    async def answer(self, message: Envelope) -> None: ...


Fake = TypeVar("Fake", bound=AnswersCommands)


def gateway_with_fake_notifications(
    mongo_uri: str,
    database_name: str,
    clock: MovableClock,
    fake: Callable[[KafkaBroker], Fake],
    **settings: Any,
) -> tuple[Litestar, Fake]:
    """The gateway app (operator token OPERATOR_TOKEN, quick commands and relay) and the
    fake, built on the gateway's broker, that answers every command it sends to notifications.
    Enter `TestKafkaBroker(app.state.runtime.broker)` and a test client to run them."""
    app = create_app(
        GatewaySettings(
            mongo_uri=mongo_uri,
            mongo_database=database_name,
            operator_token=SecretStr(OPERATOR_TOKEN),
            command_timeout_seconds=5,
            outbox_poll_seconds=0.05,
            **settings,
        ),
        clock,
    )
    broker = app.state.runtime.broker
    answering = fake(broker)

    @broker.subscriber(NOTIFICATIONS_COMMANDS, group_id="fake-notifications")  # type: ignore[untyped-decorator]
    async def on_command(message: NotificationsCommand) -> None:
        if isinstance(message, Envelope):
            await answering.answer(message)

    return app, answering
