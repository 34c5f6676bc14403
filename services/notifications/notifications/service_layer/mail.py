"""Delivering queued mail: claim a due row, send it, record the outcome.

Several senders (one per service instance, each with a few workers) may run against one
database: a row is claimed atomically with a lease, so only one worker sends it. A sender that
dies mid-send leaves its rows in `sending` (at most one per worker); once the lease has passed
another sender sends them again with the same Message-ID. Delivery is therefore at least once,
and a duplicate is recognisable.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Protocol

from notifications.adapters.outgoing_mail import ClaimedMail, OutgoingMailRepository
from notifications.adapters.smtp import MailDeliveryError
from notifications.domain.mail import DeliveryPolicy, OutgoingMail
from portal_runtime.clock import Clock
from portal_runtime.waiting import woken_or_timed_out

log = logging.getLogger(__name__)


class Mailer(Protocol):
    async def send(self, mail: OutgoingMail, at: datetime) -> None:
        """Hand the email to the mail server; raises MailDeliveryError when it was not taken."""

    async def close(self) -> None:
        """Let go of open connections (the sender stops)."""


class MailSender:
    def __init__(
        self,
        rows: OutgoingMailRepository,
        mailer: Mailer,
        clock: Clock,
        policy: DeliveryPolicy,
        *,
        lease: timedelta,
        poll_seconds: float,
        workers: int = 1,
        on_dead: Callable[[OutgoingMail, int, str], Awaitable[None]] | None = None,
    ) -> None:
        self.on_dead = on_dead
        self.rows = rows
        self.mailer = mailer
        self.clock = clock
        self.policy = policy
        self.lease = lease
        self.poll_seconds = poll_seconds
        self.workers = workers
        self._wake = asyncio.Event()

    def notify(self) -> None:
        """New mail was committed: look now instead of at the next poll."""
        self._wake.set()

    async def run(self) -> None:
        """The background job: deliver whatever is due, then wait for news or the next poll."""
        try:
            while True:
                self._wake.clear()
                await self.deliver_due()
                await woken_or_timed_out(self._wake, self.poll_seconds)
        finally:
            await self.mailer.close()

    async def deliver_due(self) -> int:
        """Send every row that is due now, `workers` at a time; returns how many were tried."""
        tried = await asyncio.gather(*(self._drain() for _ in range(self.workers)))
        return sum(tried)

    async def _drain(self) -> int:
        tried = 0
        while (claimed := await self.rows.claim_due(self.clock.now(), self.lease)) is not None:
            await self._deliver(claimed)
            tried += 1
        return tried

    async def _deliver(self, claimed: ClaimedMail) -> None:
        mail = claimed.mail
        try:
            await self.mailer.send(mail, self.clock.now())
        except MailDeliveryError as failure:
            await self._failed(claimed, str(failure))
            return
        except Exception as failure:
            # A bug or an email the library refuses to build: record it on the row rather than
            # leave it claimed, so it is retried and in the end reported like any failure.
            log.exception("sending %s %s failed unexpectedly", mail.kind, mail.message_id)
            await self._failed(claimed, f"{type(failure).__name__}: {failure}")
            return
        if await self.rows.mark_sent(claimed, self.clock.now()):
            log.info("sent %s %s for customer %s", mail.kind, mail.message_id, mail.customer_id)
        else:
            log.warning("sent %s %s after losing its lease", mail.kind, mail.message_id)

    async def _failed(self, claimed: ClaimedMail, error: str) -> None:
        mail = claimed.mail
        attempts = claimed.attempts + 1
        now = self.clock.now()
        retry_at = self.policy.next_attempt_at(attempts, now)
        if retry_at is None:
            if await self.rows.give_up(claimed, attempts, now, error) and self.on_dead:
                await self.on_dead(mail, attempts, error)
            log.error(
                "gave up on %s %s for customer %s after %s attempts: %s",
                mail.kind,
                mail.message_id,
                mail.customer_id,
                attempts,
                error,
            )
            return
        await self.rows.reschedule(claimed, attempts, retry_at, error)
        log.warning(
            "sending %s %s failed (attempt %s), next try at %s: %s",
            mail.kind,
            mail.message_id,
            attempts,
            retry_at.isoformat(),
            error,
        )
