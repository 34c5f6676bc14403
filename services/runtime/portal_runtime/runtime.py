"""The composition root every service shares: database, broker, outbox relay, lifecycle."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from faststream.kafka import KafkaBroker

from portal_runtime.clock import Clock, SystemClock
from portal_runtime.logs import configure_logging
from portal_runtime.messaging import kafka_publisher, make_broker
from portal_runtime.mongo import connect, ping
from portal_runtime.outbox import OutboxRelay
from portal_runtime.settings import ServiceSettings
from portal_runtime.store import Store
from portal_runtime.telemetry import configure_tracing

log = logging.getLogger(__name__)
# The server named in the committed AsyncAPI documents (docker-compose's broker), so the
# documents do not depend on the environment they were generated in.
DOCUMENTED_BROKER = "kafka:9092"
BackgroundJob = Callable[[], Awaitable[None]]
STOP_GRACE_SECONDS = 5.0


class ServiceRuntime:
    """Owns the connections of one service process. Nothing connects until `start`."""

    def __init__(self, settings: ServiceSettings, clock: Clock | None = None) -> None:
        self.settings = settings
        self.clock: Clock = clock or SystemClock()
        self.mongo = connect(settings)
        self.broker: KafkaBroker
        self.broker, self.dead_letters = make_broker(settings)
        self.store = Store(self.mongo, settings.database_name, self.clock)
        self.relay = OutboxRelay(
            self.store.db,
            kafka_publisher(self.broker),
            self.clock,
            poll_seconds=settings.outbox_poll_seconds,
        )
        self.store.on_commit = self.relay.notify
        self.on_start: list[Callable[[], Awaitable[None]]] = [self.store.ensure_indexes]
        self.jobs: list[BackgroundJob] = []
        self._tasks: list[asyncio.Task[None]] = []
        self.started = False

    async def start(self) -> None:
        for step in self.on_start:
            await step()
        await self.broker.start()
        self.relay.start()
        self._tasks = [asyncio.create_task(self._keep_running(job)) for job in self.jobs]
        self.started = True
        log.info("%s started", self.settings.service_name)

    async def stop(self) -> None:
        self.started = False
        await cancel_and_wait(self._tasks)
        await self.relay.stop()
        await self.broker.stop()
        await self.mongo.close()
        log.info("%s stopped", self.settings.service_name)

    async def ready(self) -> dict[str, Any]:
        checks = {
            "started": self.started,
            "database": await ping(self.store.db),
            "broker": self.started and await self._broker_ok(),
        }
        return checks

    async def _broker_ok(self) -> bool:
        try:
            return bool(await self.broker.ping(timeout=2.0))
        except Exception:
            return False

    async def _keep_running(self, job: BackgroundJob) -> None:
        while True:
            try:
                await job()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("background job %s failed; restarting", job)
                await asyncio.sleep(1.0)


async def cancel_and_wait(tasks: list[asyncio.Task[None]]) -> None:
    """Cancel `tasks` and wait until each has ended. A task still running after a grace period
    lost its cancellation somewhere (see `portal_runtime.waiting`): it is named in the log and
    cancelled again, so stopping a service never hangs on it."""
    pending: set[asyncio.Task[None]] = set(tasks)
    for task in pending:
        task.cancel()
    while pending:
        _, pending = await asyncio.wait(pending, timeout=STOP_GRACE_SECONDS)
        for task in pending:
            log.error("%s ignored its cancellation; cancelling it again", task.get_name())
            task.cancel()


def bootstrap_process(settings: ServiceSettings) -> None:
    """Logging and tracing for a service process (call once, before building the app)."""
    configure_logging(settings.service_name, settings.log_level)
    configure_tracing(settings.service_name, settings.otel_exporter_endpoint)
