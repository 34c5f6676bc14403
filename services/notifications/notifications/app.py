"""Composition root of the notifications service."""

from __future__ import annotations

from datetime import timedelta

from faststream import FastStream
from faststream.specification import AsyncAPI
from litestar import Litestar

from notifications.adapters.outgoing_mail import OutgoingMailRepository
from notifications.adapters.smtp import SmtpMailer
from notifications.domain.mail import DeliveryPolicy
from notifications.handlers import commands
from notifications.service_layer.mail import MailSender
from notifications.settings import NotificationsSettings
from portal_runtime.clock import Clock
from portal_runtime.http import service_app
from portal_runtime.runtime import DOCUMENTED_BROKER, ServiceRuntime


def build_runtime(
    settings: NotificationsSettings | None = None, clock: Clock | None = None
) -> ServiceRuntime:
    settings = settings or NotificationsSettings()
    runtime = ServiceRuntime(settings, clock)
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
    )
    runtime.on_start.append(lambda: OutgoingMailRepository.ensure_indexes(runtime.store.db))
    runtime.jobs.append(sender.run)
    commands.register(runtime, settings, sender.notify)
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
