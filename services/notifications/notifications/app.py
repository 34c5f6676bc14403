"""Composition root of the notifications service."""

from __future__ import annotations

import uuid
from datetime import timedelta

from faststream import FastStream
from faststream.specification import AsyncAPI
from litestar import Litestar

from notifications.adapters.outgoing_mail import OutgoingMailRepository
from notifications.adapters.smtp import SmtpMailer
from notifications.adapters.webhooks import WebhookPoster, WebhookRepository
from notifications.domain.mail import DeliveryPolicy, OutgoingMail
from notifications.domain.webhooks import RetrySchedule
from notifications.handlers import commands, events
from notifications.service_layer import activity
from notifications.service_layer.mail import MailSender
from notifications.service_layer.merchant_notifications import Origin, notify_merchant
from notifications.service_layer.webhooks import WebhookSender
from notifications.settings import NotificationsSettings
from portal_runtime.clock import Clock
from portal_runtime.http import service_app
from portal_runtime.runtime import DOCUMENTED_BROKER, ServiceRuntime
from portal_runtime.sealing import Sealer
from portal_runtime.store import Transaction


def build_runtime(
    settings: NotificationsSettings | None = None, clock: Clock | None = None
) -> ServiceRuntime:
    settings = settings or NotificationsSettings()
    runtime = ServiceRuntime(settings, clock)
    store = runtime.store

    async def mail_is_dead(mail: OutgoingMail, attempts: int, error: str) -> None:
        """The merchant sees every email that could not be delivered, in its feed."""
        origin = Origin(
            event_id=uuid.uuid5(uuid.NAMESPACE_URL, mail.message_id),
            organisation_id=mail.organisation_id,
            correlation_id=f"mail:{mail.message_id}"[:128],
        )

        async def work(tx: Transaction) -> None:
            await notify_merchant(
                tx,
                store.clock.now(),
                settings.mail_from,
                origin,
                "email.undeliverable",
                f"The {mail.kind.replace('_', ' ')} email to {mail.to} could not be delivered "
                f"after {attempts} attempts: {error}",
                customer_id=mail.customer_id or None,
                subject_id=mail.message_id,
                details={"to": mail.to, "kind": mail.kind},
            )

        await store.transaction(work)
        webhook_sender.notify()

    sender = MailSender(
        OutgoingMailRepository(runtime.store.db),
        SmtpMailer(settings),
        runtime.clock,
        DeliveryPolicy(
            attempts=settings.mail_attempts,
            backoff_seconds=settings.mail_backoff_seconds,
            cap_seconds=settings.mail_backoff_cap_seconds,
        ),
        lease=timedelta(seconds=settings.mail_lease_seconds),
        poll_seconds=settings.mail_poll_seconds,
        workers=settings.mail_senders,
        on_dead=mail_is_dead,
    )
    poster = WebhookPoster(
        settings.webhook_timeout_seconds,
        allow_private_targets=settings.allow_private_webhook_targets,
    )
    webhook_sender = WebhookSender(
        store,
        Sealer(settings.sealing_key),
        poster,
        RetrySchedule(tuple(settings.webhook_retry_schedule_seconds)),
        sender=settings.mail_from,
        lease=timedelta(seconds=settings.webhook_lease_seconds),
        poll_seconds=settings.webhook_poll_seconds,
        workers=settings.webhook_senders,
    )

    def wake() -> None:
        sender.notify()
        webhook_sender.notify()

    runtime.on_start.append(lambda: OutgoingMailRepository.ensure_indexes(store.db))
    runtime.on_start.append(lambda: WebhookRepository.ensure_indexes(store.db))
    runtime.on_start.append(lambda: activity.ensure_indexes(store.db))
    runtime.jobs.append(sender.run)
    runtime.jobs.append(webhook_sender.run)
    commands.register(runtime, settings, wake)
    events.register(runtime, settings, wake)
    return runtime


def create_app(
    settings: NotificationsSettings | None = None, clock: Clock | None = None
) -> Litestar:
    return service_app(build_runtime(settings, clock))


def asyncapi_app() -> FastStream:
    """For `faststream docs gen --factory notifications.app:asyncapi_app`."""
    runtime = build_runtime(NotificationsSettings(kafka_bootstrap=DOCUMENTED_BROKER))
    return FastStream(
        runtime.broker,
        specification=AsyncAPI(title="notifications", version="1.0.0"),
    )
