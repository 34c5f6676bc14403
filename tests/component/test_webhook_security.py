"""Webhook safety in memory (TestKafkaBroker, real database, a real receiver): deliveries never
go to private addresses, refused at registration by the gateway and again at delivery time by
notifications; and rotating an endpoint's secret keeps every delivery verifiable by a receiver
that switches secrets at any moment of the grace period."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from faststream.kafka import KafkaBroker, TestKafkaBroker
from litestar.testing import AsyncTestClient

from deploy.local.mailbox import Mailbox
from notifications.adapters.webhooks import WebhookPoster
from notifications.domain.webhooks import verify_signature
from portal_contracts.customers import CommandRejected
from portal_contracts.envelope import Actor, Envelope
from portal_contracts.notifications import (
    EndpointRef,
    RegisterWebhookEndpoint,
    RemoveWebhookEndpoint,
    RotateWebhookSecret,
    SecretRotation,
    WebhookEndpointChanged,
    WebhookEndpointFacts,
)
from portal_contracts.topics import MERCHANT_NOTIFICATIONS, NOTIFICATIONS_COMMANDS
from portal_gateway.settings import GatewaySettings
from portal_runtime import network
from portal_runtime.clock import MovableClock
from portal_runtime.sealing import Sealer
from tests.support.notifications import (
    OPERATOR_TOKEN,
    NotificationsHarness,
    gateway_with_fake_notifications,
    running_notifications,
)
from tests.support.portal import register_merchant
from tests.support.waiting import eventually
from tests.support.webhooks import WebhookReceiver

pytestmark = pytest.mark.component

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
OLD_SECRET = "whsec_old_secret"
NEW_SECRET = "whsec_new_secret"
GRACE = timedelta(hours=24)


async def _value(value: Any) -> Any:
    return value


# -- notifications ---------------------------------------------------------------------------


async def registered(service: NotificationsHarness, url: str, secret: str = OLD_SECRET) -> str:
    """A webhook endpoint registered, once notifications has confirmed it."""
    endpoint_id = await service.endpoint(url, secret)
    await eventually(
        lambda: _value(
            [e for e in service.of(WebhookEndpointChanged) if e.data.endpoint_id == endpoint_id]
        ),
        timeout=10,
    )
    return endpoint_id


def secret_rotation(
    service: NotificationsHarness, endpoint_id: str, secret: str = NEW_SECRET
) -> RotateWebhookSecret:
    return RotateWebhookSecret(
        **service.envelope(actor=Actor(kind="merchant", id="key_1")),
        data=SecretRotation(
            endpoint_id=endpoint_id,
            sealed_secret=service.sealer.seal(secret),
            previous_valid_until=service.clock.now() + GRACE,
        ),
    )


async def test_after_a_rotation_both_secrets_sign_until_the_grace_period_ends(
    mongo_uri: str, database_name: str, smtp_server: tuple[Mailbox, int]
) -> None:
    _, port = smtp_server
    async with (
        WebhookReceiver() as receiver,
        running_notifications(
            mongo_uri, database_name, port, start=START, allow_private_webhook_targets=True
        ) as service,
    ):
        await service.merchant()
        endpoint_id = await registered(service, receiver.url)
        rotation = secret_rotation(service, endpoint_id)
        await service.send(NOTIFICATIONS_COMMANDS, rotation)
        [rotated] = await eventually(
            lambda: _value(
                [
                    e
                    for e in service.of(WebhookEndpointChanged)
                    if e.correlation_id == rotation.correlation_id
                ]
            ),
            timeout=10,
        )
        await service.activity("quotes", "approve", "qt_in_grace")
        await eventually(lambda: _value(len(receiver.received) == 1), timeout=10)

        service.clock.advance(GRACE + timedelta(seconds=1))
        await service.activity("quotes", "approve", "qt_after_grace")
        await eventually(lambda: _value(len(receiver.received) == 2), timeout=10)

    assert rotated.data.status == "active"
    assert rotated.data.secret_rotated_at == START
    assert rotated.data.previous_secret_valid_until == START + GRACE
    assert "sealed" not in rotated.model_dump_json()
    in_grace, after_grace = receiver.received
    header = in_grace.headers["portal-signature"]
    assert header.count("v1=") == 2
    sent_at = START.timestamp()
    # A receiver still holding the old secret and one already on the new one both accept it.
    assert verify_signature(NEW_SECRET, in_grace.body, header, now=sent_at)
    assert verify_signature(OLD_SECRET, in_grace.body, header, now=sent_at)
    assert not verify_signature("whsec_someone_else", in_grace.body, header, now=sent_at)
    header = after_grace.headers["portal-signature"]
    assert header.count("v1=") == 1
    sent_at = (START + GRACE + timedelta(seconds=1)).timestamp()
    assert verify_signature(NEW_SECRET, after_grace.body, header, now=sent_at)
    assert not verify_signature(OLD_SECRET, after_grace.body, header, now=sent_at)


async def test_rotating_an_endpoint_that_is_not_the_merchants_is_refused(
    mongo_uri: str, database_name: str, smtp_server: tuple[Mailbox, int]
) -> None:
    _, port = smtp_server
    async with running_notifications(mongo_uri, database_name, port, start=START) as service:
        endpoint_id = await registered(service, "https://hooks.acme.example/in")
        owner = service.org
        service.org = f"org_{uuid.uuid4().hex[:8]}"
        stolen = secret_rotation(service, endpoint_id, "whsec_thief")
        unknown = secret_rotation(service, "we_nobody")
        service.org = owner
        await service.send(
            NOTIFICATIONS_COMMANDS,
            RemoveWebhookEndpoint(**service.envelope(), data=EndpointRef(endpoint_id=endpoint_id)),
        )
        removed = secret_rotation(service, endpoint_id, "whsec_too_late")
        for command in (stolen, unknown, removed):
            await service.send(NOTIFICATIONS_COMMANDS, command)
        refusals = await eventually(
            lambda: _value(len(service.of(CommandRejected)) == 3 and service.of(CommandRejected)),
            timeout=10,
        )
        endpoint = await service.runtime.store.db["webhook_endpoints"].find_one(
            {"_id": endpoint_id}
        )

    assert {(r.correlation_id, r.data.kind) for r in refusals} == {
        (stolen.correlation_id, "not_found"),
        (unknown.correlation_id, "not_found"),
        (removed.correlation_id, "not_found"),
    }
    assert service.sealer.open(endpoint["sealed_secret"]) == OLD_SECRET
    assert "previous_sealed_secret" not in endpoint


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
async def test_a_delivery_to_a_private_address_fails_without_a_request_and_is_shown(
    mongo_uri: str, database_name: str, smtp_server: tuple[Mailbox, int], host: str
) -> None:
    """The endpoint passed (or skipped) the gateway's check, then its name came to point at a
    private address: notifications refuses before connecting, and the merchant sees why."""
    _, port = smtp_server
    async with (
        WebhookReceiver() as receiver,
        running_notifications(
            mongo_uri, database_name, port, start=START, webhook_retry_schedule_seconds=(60,)
        ) as service,
    ):
        await service.merchant()
        await registered(service, f"http://{host}:{receiver.port}/hooks")
        await service.activity("quotes", "approve", "qt_1")
        [retrying] = await eventually(service.deliveries("retrying"), timeout=10)
        service.clock.advance(timedelta(seconds=60))
        [dead] = await eventually(service.deliveries("dead"), timeout=10)
        [alert] = await eventually(lambda: _value(service.notified("webhook.dead")), timeout=10)

    assert retrying.data.response_status is None
    assert retrying.data.last_error is not None
    assert retrying.data.last_error.startswith("target refused:")
    assert "a loopback address" in retrying.data.last_error
    assert (dead.data.attempts, dead.data.last_error) == (2, retrying.data.last_error)
    assert "loopback" in alert.data.summary
    assert receiver.received == []


async def test_the_checking_client_connects_to_the_address_it_checked(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With the rule relaxed to let loopback pass, the checking client (its own resolution,
    its own connection) still delivers, to the address it was shown."""
    checked: list[str] = []

    def loopback_passes(address: Any) -> str | None:
        checked.append(str(address))
        return None

    monkeypatch.setattr(network, "refusal", loopback_passes)
    poster = WebhookPoster(2)
    async with WebhookReceiver() as receiver:
        try:
            status = await poster.post(
                f"http://localhost:{receiver.port}/hooks", b"{}", {"Portal-Event-Id": "ev_1"}
            )
        finally:
            await poster.close()

    assert status == 200
    assert [r.event_id for r in receiver.received] == ["ev_1"]
    assert checked
    assert set(checked) <= {"127.0.0.1", "::1"}


# -- gateway ---------------------------------------------------------------------------------


@dataclass
class FakeNotifications:
    """Answers endpoint commands the way notifications does; remembers what it got."""

    broker: KafkaBroker
    commands: list[Envelope] = field(default_factory=list)

    async def answer(self, message: Envelope) -> None:
        self.commands.append(message)
        match message:
            case RegisterWebhookEndpoint(data=endpoint):
                facts = WebhookEndpointFacts(
                    endpoint_id=endpoint.endpoint_id, url=endpoint.url, status="active"
                )
            case RemoveWebhookEndpoint(data=ref):
                facts = WebhookEndpointFacts(
                    endpoint_id=ref.endpoint_id, url="https://93.184.215.14/", status="removed"
                )
            case RotateWebhookSecret(data=rotation):
                facts = WebhookEndpointFacts(
                    endpoint_id=rotation.endpoint_id,
                    url="https://93.184.215.14/",
                    status="active",
                    secret_rotated_at=message.occurred_at,
                    previous_secret_valid_until=rotation.previous_valid_until,
                )
            case _:
                return
        changed = WebhookEndpointChanged(
            **message.follow_up(), occurred_at=message.occurred_at, data=facts
        )
        await self.broker.publish(changed.model_dump(mode="json"), MERCHANT_NOTIFICATIONS)


@dataclass
class Gateway:
    client: AsyncTestClient[Any]
    clock: MovableClock
    fake: FakeNotifications

    async def merchant(self) -> dict[str, str]:
        merchant = await register_merchant(self.client, "", OPERATOR_TOKEN, "Acme")
        return {"X-API-Key": merchant["api_key"]}

    async def register(self, admin: dict[str, str], url: str) -> Any:
        return await self.client.post(
            "/admin/v1/webhooks/endpoints", json={"url": url}, headers=admin
        )


@pytest.fixture
async def gateway(mongo_uri: str, database_name: str) -> AsyncIterator[Gateway]:
    clock = MovableClock(START)
    app, fake = gateway_with_fake_notifications(mongo_uri, database_name, clock, FakeNotifications)
    async with TestKafkaBroker(app.state.runtime.broker), AsyncTestClient(app) as client:
        yield Gateway(client, clock, fake)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080/hooks",
        "http://localhost:8080/hooks",
        "https://10.0.0.5/hooks",
        "https://172.20.1.1/hooks",
        "https://192.168.0.10/hooks",
        "http://169.254.169.254/latest/meta-data/",
        "https://100.64.0.1/hooks",
        "https://[::1]/hooks",
        "https://[fd00::1]/hooks",
        "https://[fe80::1]/hooks",
        "https://[::ffff:169.254.169.254]/hooks",
        "https://0.0.0.0/hooks",
        "https://224.0.0.1/hooks",
    ],
)
async def test_registering_a_private_target_is_refused(gateway: Gateway, url: str) -> None:
    admin = await gateway.merchant()

    refused = await gateway.register(admin, url)

    assert refused.status_code == 422, refused.text
    assert refused.json()["code"] == "webhook_target_not_allowed"
    assert "webhooks are sent only to public internet addresses" in refused.json()["detail"]
    assert gateway.fake.commands == []


async def test_a_host_that_does_not_resolve_is_refused_and_a_public_address_accepted(
    gateway: Gateway,
) -> None:
    admin = await gateway.merchant()

    unknown = await gateway.register(admin, "https://nothing-here.invalid/hooks")
    public = await gateway.register(admin, "https://93.184.215.14/hooks")

    assert unknown.status_code == 422, unknown.text
    assert unknown.json()["code"] == "webhook_target_unresolvable"
    assert public.status_code == 201, public.text
    assert [type(c) for c in gateway.fake.commands] == [RegisterWebhookEndpoint]


async def test_rotating_a_secret_shows_the_new_one_once_and_only_to_its_merchant(
    gateway: Gateway,
) -> None:
    acme, other = await gateway.merchant(), await gateway.merchant()
    created = (await gateway.register(acme, "https://93.184.215.14/hooks")).json()
    endpoint_id = created["endpoint_id"]
    rotate = f"/admin/v1/webhooks/endpoints/{endpoint_id}/rotate-secret"

    anonymous = await gateway.client.post(rotate)
    stolen = await gateway.client.post(rotate, headers=other)
    unknown = await gateway.client.post(
        "/admin/v1/webhooks/endpoints/we_nobody/rotate-secret", headers=acme
    )
    rotated = await gateway.client.post(rotate, headers=acme)

    assert anonymous.status_code == 401
    assert (stolen.status_code, unknown.status_code) == (404, 404)
    assert rotated.status_code == 200, rotated.text
    body = rotated.json()
    assert body["secret"].startswith("whsec_")
    assert body["secret"] != created["secret"]
    assert body["status"] == "rotated"
    assert body["previous_secret_valid_until"] == (START + GRACE).isoformat()
    [command] = [c for c in gateway.fake.commands if isinstance(c, RotateWebhookSecret)]
    assert command.data.endpoint_id == endpoint_id
    assert command.data.previous_valid_until == START + GRACE
    sealer = Sealer(GatewaySettings().sealing_key)
    assert sealer.open(command.data.sealed_secret) == body["secret"]
    assert body["secret"] not in command.model_dump_json()
    listed = (await gateway.client.get("/admin/v1/webhooks/endpoints", headers=acme)).json()
    [shown] = listed["endpoints"]
    assert shown["previous_secret_valid_until"] is not None
    assert body["secret"] not in str(listed)

    await gateway.client.delete(f"/admin/v1/webhooks/endpoints/{endpoint_id}", headers=acme)
    gone = await gateway.client.post(rotate, headers=acme)
    assert gone.status_code == 404
