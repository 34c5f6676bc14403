"""Webhook endpoints (register, remove, rotate the secret), and delivering the notification
stream to them.

Delivery is at least once: a sender killed after the receiver took a delivery but before the
outcome was recorded sends it again after its lease, with the same `Portal-Event-Id` and the
same body; receivers drop an event id they have seen. Every change of a delivery (retrying,
delivered, dead) is published as `WebhookDeliveryChanged` for the merchant's delivery log.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta
from typing import Any, Protocol

from notifications.adapters.webhooks import (
    ClaimedDelivery,
    WebhookRefused,
    WebhookRepository,
)
from notifications.domain.webhooks import (
    DELIVERY_ID_HEADER,
    EVENT_ID_HEADER,
    SIGNATURE_HEADER,
    RetrySchedule,
    sign,
)
from notifications.service_layer.merchant_notifications import NOTIFICATIONS_ACTOR, notify_merchant
from notifications.service_layer.once import handle_once
from portal_contracts.customers import CommandRejected, Rejection
from portal_contracts.envelope import Envelope
from portal_contracts.notifications import (
    RegisterWebhookEndpoint,
    RemoveWebhookEndpoint,
    ReplayWebhookDelivery,
    RotateWebhookSecret,
    WebhookDeliveryChanged,
    WebhookDeliveryFacts,
    WebhookEndpointChanged,
    WebhookEndpointFacts,
)
from portal_contracts.topics import MERCHANT_NOTIFICATIONS
from portal_runtime.sealing import Sealer
from portal_runtime.store import Store, Transaction
from portal_runtime.waiting import woken_or_timed_out

log = logging.getLogger(__name__)
CONSUMER = "notifications"
Document = dict[str, Any]


class Poster(Protocol):
    async def post(self, url: str, body: bytes, headers: dict[str, str]) -> int: ...


async def register_endpoint(store: Store, sealer: Sealer, command: RegisterWebhookEndpoint) -> bool:
    endpoint = command.data
    sealer.open(endpoint.sealed_secret)  # a secret we cannot open is refused now, not later

    async def work(tx: Transaction) -> None:
        await WebhookRepository(tx.db, tx.session).save_endpoint(
            {
                "_id": endpoint.endpoint_id,
                "organisation_id": command.organisation_id,
                "url": endpoint.url,
                "description": endpoint.description,
                # Stored as it came: sealed, so the secret is encrypted at rest too.
                "sealed_secret": endpoint.sealed_secret,
                "status": "active",
                "created_at": store.clock.now(),
            }
        )
        await _endpoint_changed(tx, store, command, endpoint.endpoint_id, "active")

    return await handle_once(store, command, work)


async def remove_endpoint(store: Store, command: RemoveWebhookEndpoint) -> bool:
    async def work(tx: Transaction) -> None:
        repository = WebhookRepository(tx.db, tx.session)
        endpoint = await repository.endpoint(command.organisation_id, command.data.endpoint_id)
        if endpoint is None:
            await _reject(tx, store, command, "endpoint_not_found", "there is no such endpoint")
            return
        endpoint["status"] = "removed"
        await repository.save_endpoint(endpoint)
        await _endpoint_changed(tx, store, command, endpoint["_id"], "removed")

    return await handle_once(store, command, work)


async def rotate_secret(store: Store, sealer: Sealer, command: RotateWebhookSecret) -> bool:
    """The new secret signs from now on; the replaced one also signs until the grace period
    ends. Only the last replaced secret is kept: rotating again within the grace period ends
    the grace of the one before."""
    rotation = command.data
    sealer.open(rotation.sealed_secret)

    async def work(tx: Transaction) -> None:
        repository = WebhookRepository(tx.db, tx.session)
        endpoint = await repository.endpoint(command.organisation_id, rotation.endpoint_id)
        if endpoint is None or endpoint["status"] != "active":
            await _reject(tx, store, command, "endpoint_not_found", "there is no such endpoint")
            return
        endpoint |= {
            "previous_sealed_secret": endpoint["sealed_secret"],
            "previous_secret_valid_until": rotation.previous_valid_until,
            "sealed_secret": rotation.sealed_secret,
            "secret_rotated_at": store.clock.now(),
        }
        await repository.save_endpoint(endpoint)
        await _endpoint_changed(tx, store, command, endpoint["_id"], "active")

    return await handle_once(store, command, work)


def signing_secrets(sealer: Sealer, endpoint: Document, now: datetime) -> list[str]:
    """The secrets a delivery made at `now` is signed with: the current one, then the
    replaced one while its grace period runs."""
    secrets = [sealer.open(endpoint["sealed_secret"])]
    previous, until = (
        endpoint.get("previous_sealed_secret"),
        endpoint.get("previous_secret_valid_until"),
    )
    if previous and until is not None and now < until:
        secrets.append(sealer.open(previous))
    return secrets


async def replay_delivery(store: Store, command: ReplayWebhookDelivery) -> bool:
    async def work(tx: Transaction) -> None:
        repository = WebhookRepository(tx.db, tx.session)
        delivery = await repository.delivery(command.organisation_id, command.data.delivery_id)
        if delivery is None:
            await _reject(tx, store, command, "delivery_not_found", "there is no such delivery")
            return
        now = store.clock.now()
        await repository.reopen(delivery["_id"], now)
        delivery |= {"status": "pending", "next_attempt_at": now}
        await _delivery_changed(tx, now, delivery, cause=command)

    return await handle_once(store, command, work)


async def _endpoint_changed(
    tx: Transaction, store: Store, command: Envelope, endpoint_id: str, status: str
) -> None:
    endpoint = await WebhookRepository(tx.db, tx.session).endpoint(
        command.organisation_id, endpoint_id
    )
    assert endpoint is not None
    await tx.emit(
        MERCHANT_NOTIFICATIONS,
        WebhookEndpointChanged(
            occurred_at=store.clock.now(),
            actor=NOTIFICATIONS_ACTOR,
            **command.follow_up(),
            data=WebhookEndpointFacts(
                endpoint_id=endpoint_id,
                url=endpoint["url"],
                description=endpoint.get("description", ""),
                status=status,
                secret_rotated_at=endpoint.get("secret_rotated_at"),
                previous_secret_valid_until=endpoint.get("previous_secret_valid_until"),
            ),
        ),
    )


async def _reject(tx: Transaction, store: Store, command: Envelope, code: str, reason: str) -> None:
    await tx.emit(
        MERCHANT_NOTIFICATIONS,
        CommandRejected(
            occurred_at=store.clock.now(),
            actor=NOTIFICATIONS_ACTOR,
            **command.follow_up(),
            data=Rejection(
                customer_id="",
                command_type=command.type,
                code=code,
                reason=reason,
                kind="not_found",
            ),
        ),
    )


async def _delivery_changed(
    tx: Transaction,
    now: datetime,
    delivery: Document,
    *,
    cause: Envelope | None = None,
    response_status: int | None = None,
) -> WebhookDeliveryChanged:
    status = delivery["status"]
    facts = WebhookDeliveryFacts(
        delivery_id=delivery["_id"],
        endpoint_id=delivery["endpoint_id"],
        notification_event_id=delivery["event_id"],
        notification_kind=delivery["kind"],
        status="retrying" if status == "pending" and delivery["attempts"] else status,
        attempts=delivery["attempts"],
        response_status=response_status,
        last_error=(delivery.get("last_error") or None),
        next_attempt_at=delivery.get("next_attempt_at") if status == "pending" else None,
        delivered_at=delivery.get("delivered_at"),
    )
    envelope: dict[str, Any] = (
        cause.follow_up()
        if cause is not None
        else {
            "organisation_id": delivery["organisation_id"],
            "correlation_id": f"delivery:{delivery['_id']}",
        }
    )
    event = WebhookDeliveryChanged(
        occurred_at=now, actor=NOTIFICATIONS_ACTOR, **envelope, data=facts
    )
    await tx.emit(MERCHANT_NOTIFICATIONS, event)
    return event


class WebhookSender:
    """The background job that posts due deliveries, `workers` at a time; one claim (with a
    lease) per delivery."""

    def __init__(
        self,
        store: Store,
        sealer: Sealer,
        poster: Poster,
        schedule: RetrySchedule,
        *,
        sender: str,
        lease: timedelta,
        poll_seconds: float,
        workers: int = 1,
    ) -> None:
        self.workers = workers
        self.store = store
        self.sealer = sealer
        self.poster = poster
        self.schedule = schedule
        self.sender = sender
        self.lease = lease
        self.poll_seconds = poll_seconds
        self._wake = asyncio.Event()

    def notify(self) -> None:
        self._wake.set()

    async def run(self) -> None:
        while True:
            self._wake.clear()
            await self.deliver_due()
            await woken_or_timed_out(self._wake, self.poll_seconds)

    async def deliver_due(self) -> int:
        """Post every delivery that is due now; returns how many were tried."""
        tried = await asyncio.gather(*(self._drain() for _ in range(self.workers)))
        return sum(tried)

    async def _drain(self) -> int:
        tried = 0
        rows = WebhookRepository(self.store.db)
        while (claimed := await rows.claim_due(self.store.clock.now(), self.lease)) is not None:
            await self._deliver(claimed)
            tried += 1
        return tried

    async def _deliver(self, claimed: ClaimedDelivery) -> None:
        row = claimed.row
        endpoint = await WebhookRepository(self.store.db).endpoint(
            row["organisation_id"], row["endpoint_id"]
        )
        if endpoint is None or endpoint["status"] != "active":
            # Nobody listens there any more: no point in trying again for days.
            await self._settle(claimed, None, "the endpoint was removed", final=True)
            return
        body = bytes(row["body"])
        now = self.store.clock.now()
        timestamp = int(now.timestamp())
        current, *previous = signing_secrets(self.sealer, endpoint, now)
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "portal-webhooks/1",
            EVENT_ID_HEADER: row["event_id"],
            DELIVERY_ID_HEADER: row["_id"],
            SIGNATURE_HEADER: sign(current, body, timestamp, previous),
        }
        status: int | None = None
        error: str | None = None
        try:
            status = await self.poster.post(endpoint["url"], body, headers)
        except WebhookRefused as refused:
            status, error = refused.status, str(refused)
        except Exception as failure:
            log.exception("delivering %s failed unexpectedly", row["_id"])
            error = f"{type(failure).__name__}: {failure}"
        await self._settle(claimed, status, error)

    async def _settle(
        self,
        claimed: ClaimedDelivery,
        status: int | None,
        error: str | None,
        *,
        final: bool = False,
    ) -> None:
        now = self.store.clock.now()
        row = dict(claimed.row)
        attempts = claimed.attempts + 1
        if error is None:
            changes: Document = {"status": "delivered", "attempts": attempts, "delivered_at": now}
        elif not final and (retry_at := self.schedule.next_attempt_at(attempts, now)) is not None:
            changes = {
                "status": "pending",
                "attempts": attempts,
                "next_attempt_at": retry_at,
                "last_error": error,
            }
        else:
            changes = {"status": "dead", "attempts": attempts, "dead_at": now, "last_error": error}
        row |= changes

        async def work(tx: Transaction) -> None:
            if not await WebhookRepository(tx.db, tx.session).settle(claimed, changes):
                log.warning("delivery %s settled by another sender", claimed.delivery_id)
                return
            changed = await _delivery_changed(tx, now, row, response_status=status)
            if row["status"] == "dead" and not final:
                await notify_merchant(
                    tx,
                    now,
                    self.sender,
                    changed,
                    "webhook.dead",
                    f"A webhook delivery of {row['kind']} to endpoint {row['endpoint_id']} "
                    f"failed {attempts} times and was given up: {error}",
                    subject_id=row["_id"],
                    details={"endpoint_id": row["endpoint_id"], "event_id": row["event_id"]},
                )

        await self.store.transaction(work)
        log.info("delivery %s is %s after %s attempts", row["_id"], row["status"], attempts)
