"""The gateway's notification routes in memory (Litestar test client, TestKafkaBroker, real
database), with a fake notifications service answering its commands: portal activity is
recorded and reported, reviews and messages reach notifications, webhook endpoints and the
delivery log are served from the gateway's views, and nobody sees another merchant's data."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.serialization import load_pem_private_key
from faststream.kafka import KafkaBroker, TestKafkaBroker
from litestar.testing import AsyncTestClient
from pydantic import SecretStr

from identity.settings import DEV_TOKEN_PRIVATE_KEY
from portal_contracts.customers import CustomerCreated
from portal_contracts.envelope import Envelope
from portal_contracts.notifications import (
    EmailMerchant,
    MerchantNotification,
    MerchantNotified,
    RegisterWebhookEndpoint,
    RemoveWebhookEndpoint,
    ReplayWebhookDelivery,
    ReviewSubmitted,
    SendCustomerEmail,
    SubmitReview,
    WebhookDeliveryChanged,
    WebhookDeliveryFacts,
    WebhookEndpointChanged,
    WebhookEndpointFacts,
)
from portal_contracts.portal import PortalActivityRecorded
from portal_contracts.topics import (
    CUSTOMER_EVENTS,
    MERCHANT_NOTIFICATIONS,
    PORTAL_EVENTS,
)
from portal_gateway.app import create_app
from portal_gateway.settings import GatewaySettings
from portal_runtime.clock import MovableClock
from portal_runtime.sealing import Sealer
from tests.support.notifications import OPERATOR_TOKEN, gateway_with_fake_notifications
from tests.support.portal import register_merchant
from tests.support.waiting import eventually

pytestmark = pytest.mark.component
START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
SIGNING_KEY = load_pem_private_key(DEV_TOKEN_PRIVATE_KEY.encode(), password=None)
Client = AsyncTestClient[Any]


@dataclass
class FakeNotifications:
    """Answers the gateway's commands the way notifications does; remembers what it got."""

    broker: KafkaBroker
    commands: list[Envelope] = field(default_factory=list)
    secrets: dict[str, str] = field(default_factory=dict)

    async def answer(self, message: Envelope) -> None:
        now = datetime.now(UTC)
        self.commands.append(message)
        match message:
            case RegisterWebhookEndpoint(data=endpoint):
                self.secrets[endpoint.endpoint_id] = Sealer(GatewaySettings().sealing_key).open(
                    endpoint.sealed_secret
                )
                await self.publish(
                    WebhookEndpointChanged(
                        **message.follow_up(),
                        occurred_at=now,
                        data=WebhookEndpointFacts(
                            endpoint_id=endpoint.endpoint_id,
                            url=endpoint.url,
                            description=endpoint.description,
                            status="active",
                        ),
                    )
                )
            case RemoveWebhookEndpoint(data=ref):
                await self.publish(
                    WebhookEndpointChanged(
                        **message.follow_up(),
                        occurred_at=now,
                        data=WebhookEndpointFacts(
                            endpoint_id=ref.endpoint_id, url="https://x.example", status="removed"
                        ),
                    )
                )
            case ReplayWebhookDelivery(data=ref):
                await self.publish(
                    delivery_changed(
                        message.organisation_id, ref.delivery_id, "pending", **message.follow_up()
                    )
                )
            case SubmitReview(data=review):
                await self.publish(
                    ReviewSubmitted(**message.follow_up(), occurred_at=now, data=review)
                )

    async def publish(self, event: Envelope) -> None:
        await self.broker.publish(event.model_dump(mode="json"), MERCHANT_NOTIFICATIONS)


def delivery_changed(
    org: str, delivery_id: str, status: str, **envelope: Any
) -> WebhookDeliveryChanged:
    return WebhookDeliveryChanged(
        **({"organisation_id": org, "correlation_id": uuid.uuid4().hex} | envelope),
        occurred_at=datetime.now(UTC),
        data=WebhookDeliveryFacts(
            delivery_id=delivery_id,
            endpoint_id="we_1",
            notification_event_id=str(uuid.uuid4()),
            notification_kind="payment.made",
            status=status,
            attempts=9 if status == "dead" else 0,
            last_error="HTTP 503" if status == "dead" else None,
        ),
    )


@dataclass
class Portal:
    client: Client
    clock: MovableClock
    fake: FakeNotifications
    broker: KafkaBroker
    db: Any
    activity: list[PortalActivityRecorded] = field(default_factory=list)


@pytest.fixture
async def portal(mongo_uri: str, database_name: str) -> AsyncIterator[Portal]:
    clock = MovableClock(START)
    app, fake = gateway_with_fake_notifications(
        mongo_uri,
        database_name,
        clock,
        FakeNotifications,
        allow_private_webhook_targets=True,  # hooks.*.example names resolve nowhere
    )
    runtime = app.state.runtime
    broker = runtime.broker
    found = Portal(None, clock, fake, broker, runtime.store.db)  # type: ignore[arg-type]

    @broker.subscriber(PORTAL_EVENTS, group_id="test-activity")  # type: ignore[untyped-decorator]
    async def on_activity(message: PortalActivityRecorded) -> None:
        found.activity.append(message)

    async with TestKafkaBroker(broker), AsyncTestClient(app) as client:
        found.client = client
        yield found


@dataclass
class Merchant:
    organisation_id: str
    slug: str
    key: str

    @property
    def admin(self) -> dict[str, str]:
        return {"X-API-Key": self.key}


async def merchant(portal: Portal, *, reviews: bool = True) -> Merchant:
    body = await register_merchant(portal.client, "", OPERATOR_TOKEN, "Acme Tea Club")
    org = body.get("organisation_id") or body["merchant"]["organisation_id"]
    changed = await portal.client.patch(
        "/admin/v1/portal/preferences",
        json={"portal": {"reviews": reviews}},
        headers={"X-API-Key": body["api_key"]},
    )
    assert changed.status_code == 200, changed.text
    return Merchant(org, body["slug"], body["api_key"])


async def customer(portal: Portal, merchant: Merchant, name: str = "Ana Lima") -> tuple[str, str]:
    customer_id, contact_id = f"cus_{uuid.uuid4().hex[:8]}", f"ct_{uuid.uuid4().hex[:8]}"
    in_app(
        portal,
        portal.broker.publish,
        CustomerCreated(
            organisation_id=merchant.organisation_id,
            correlation_id=uuid.uuid4().hex,
            occurred_at=START,
            data={
                "customer_id": customer_id,
                "display_name": name,
                "currency": "EUR",
                "portal_language": "de",
                "contacts": [
                    {
                        "contact_id": contact_id,
                        "first_name": name.split()[0],
                        "last_name": name.split()[-1],
                        "email": f"{contact_id}@example.com",
                        "is_primary": True,
                    }
                ],
                "portal_enabled": True,
            },
        ).model_dump(mode="json"),
        CUSTOMER_EVENTS,
    )
    return customer_id, contact_id


def in_app(portal: Portal, function: Any, *args: Any) -> Any:
    """Run a coroutine function on the app's event loop (the test client runs the app in its
    own thread, and the app's database client belongs to that loop)."""
    return portal.client.blocking_portal.call(function, *args)


def token(org: str, customer_id: str, contact_id: str, *, expired: bool = False) -> dict[str, str]:
    issued = datetime.now(UTC) - (timedelta(minutes=30) if expired else timedelta())
    claims = {
        "iss": "portal-identity",
        "aud": "portal-gateway",
        "sub": contact_id,
        "org": org,
        "cus": customer_id,
        "sid": f"ses_{contact_id}",
        "iat": int(issued.timestamp()),
        "exp": int((issued + timedelta(minutes=10)).timestamp()),
    }
    encoded = jwt.encode(claims, SIGNING_KEY, algorithm="EdDSA")  # type: ignore[arg-type]
    return {"Authorization": f"Bearer {encoded}", "User-Agent": "Mozilla/5.0 (Test)"}


async def test_a_review_reaches_notifications_and_is_recorded_as_activity(portal: Portal) -> None:
    acme = await merchant(portal)
    customer_id, contact_id = await customer(portal, acme)

    submitted = await portal.client.post(
        f"/portal/{acme.slug}/api/reviews",
        json={"rating": 4, "text": "Lovely tea, slow shipping."},
        headers=token(acme.organisation_id, customer_id, contact_id),
    )

    assert submitted.status_code == 201, submitted.text
    [command] = [c for c in portal.fake.commands if isinstance(c, SubmitReview)]
    assert command.organisation_id == acme.organisation_id
    assert command.data.customer_id == customer_id
    assert command.data.customer_name == "Ana Lima"
    assert command.data.rating == 4
    listed = await portal.client.get("/admin/v1/reviews", headers=acme.admin)
    assert [(r["customer_id"], r["rating"]) for r in listed.json()["reviews"]] == [(customer_id, 4)]

    [activity] = await eventually(lambda: _async(portal.activity))
    assert activity.organisation_id == acme.organisation_id
    assert activity.data.customer_id == customer_id
    assert activity.data.contact_id == contact_id
    assert (activity.data.module, activity.data.action) == ("reviews", "create")
    assert activity.data.user_agent == "Mozilla/5.0 (Test)"
    assert activity.data.ip
    assert activity.occurred_at == START


async def test_reviews_are_refused_when_the_merchant_has_not_enabled_them(portal: Portal) -> None:
    acme = await merchant(portal, reviews=False)
    customer_id, contact_id = await customer(portal, acme)
    headers = token(acme.organisation_id, customer_id, contact_id)

    refused = await portal.client.post(
        f"/portal/{acme.slug}/api/reviews", json={"rating": 5}, headers=headers
    )
    asked = await portal.client.post(
        f"/admin/v1/customers/{customer_id}/review-requests", headers=acme.admin
    )

    assert refused.status_code == 403
    assert asked.status_code == 403
    assert portal.fake.commands == []
    # A refused action is not activity.
    assert portal.activity == []


async def test_a_customer_sees_only_its_own_reviews_and_never_another_merchants(
    portal: Portal,
) -> None:
    acme = await merchant(portal)
    other = await merchant(portal)
    ana = await customer(portal, acme, "Ana Lima")
    ben = await customer(portal, acme, "Ben Ode")
    for who, rating in ((ana, 5), (ben, 1)):
        response = await portal.client.post(
            f"/portal/{acme.slug}/api/reviews",
            json={"rating": rating, "text": "x"},
            headers=token(acme.organisation_id, *who),
        )
        assert response.status_code == 201

    mine = await portal.client.get(
        f"/portal/{acme.slug}/api/reviews", headers=token(acme.organisation_id, *ana)
    )
    assert [r["rating"] for r in mine.json()["reviews"]] == [5]
    # Ana's token is useless on another merchant's portal, and its key sees nothing of Acme's.
    elsewhere = await portal.client.get(
        f"/portal/{other.slug}/api/reviews", headers=token(acme.organisation_id, *ana)
    )
    assert elsewhere.status_code == 401
    theirs = (await portal.client.get("/admin/v1/reviews", headers=other.admin)).json()
    assert (theirs["reviews"], theirs["total"]) == ([], 0)
    no_token = await portal.client.post(f"/portal/{acme.slug}/api/reviews", json={"rating": 5})
    assert no_token.status_code == 401
    expired = await portal.client.post(
        f"/portal/{acme.slug}/api/reviews",
        json={"rating": 5},
        headers=token(acme.organisation_id, *ana, expired=True),
    )
    assert expired.json()["code"] == "token_expired"
    no_key = await portal.client.get("/admin/v1/reviews")
    assert no_key.status_code == 401


async def test_the_activity_report_counts_by_module_and_filters_by_customer_and_date(
    portal: Portal,
) -> None:
    acme = await merchant(portal)
    ana = await customer(portal, acme, "Ana Lima")
    ben = await customer(portal, acme, "Ben Ode")

    async def review(who: tuple[str, str]) -> None:
        response = await portal.client.post(
            f"/portal/{acme.slug}/api/reviews",
            json={"rating": 5},
            headers=token(acme.organisation_id, *who),
        )
        assert response.status_code == 201

    async def write(who: tuple[str, str]) -> None:
        response = await portal.client.post(
            f"/portal/{acme.slug}/api/messages",
            json={"subject": "Hi", "message": "A question"},
            headers=token(acme.organisation_id, *who),
        )
        assert response.status_code == 202, response.text

    await review(ana)
    await write(ana)
    portal.clock.advance(timedelta(days=2))
    await write(ana)
    await review(ben)
    await eventually(lambda: _async(len(portal.activity) == 4))

    async def report(**params: str) -> dict[str, Any]:
        async def probe() -> dict[str, Any] | None:
            response = await portal.client.get(
                "/admin/v1/portal-activity", params=params, headers=acme.admin
            )
            assert response.status_code == 200, response.text
            body: dict[str, Any] = response.json()
            return body if body["total"] else None

        return await eventually(probe)

    everything = await eventually(lambda: _full(report, 4))
    assert {m["module"]: m["count"] for m in everything["by_module"]} == {
        "reviews": 2,
        "messages": 2,
    }
    anas = await report(customer_id=ana[0])
    assert anas["total"] == 3
    assert {r["customer_id"] for r in anas["recent"]} == {ana[0]}
    later = await report(**{"from": (START + timedelta(days=1)).isoformat()})
    assert later["total"] == 2
    assert {m["module"]: m["actions"] for m in later["by_module"]} == {
        "messages": {"create": 1},
        "reviews": {"create": 1},
    }
    earlier = await report(customer_id=ana[0], to=(START + timedelta(days=1)).isoformat())
    assert earlier["total"] == 2
    other = await merchant(portal)
    nothing = await portal.client.get("/admin/v1/portal-activity", headers=other.admin)
    assert nothing.json()["total"] == 0


async def test_messages_to_the_merchant_are_rate_limited_per_contact(portal: Portal) -> None:
    acme = await merchant(portal)
    ana = await customer(portal, acme)
    headers = token(acme.organisation_id, *ana)
    answers = []
    for _ in range(6):
        response = await portal.client.post(
            f"/portal/{acme.slug}/api/messages",
            json={"subject": "Hello", "message": "Are you there?"},
            headers=headers,
        )
        answers.append(response.status_code)
    assert answers == [202] * 5 + [429]

    # The commands leave through the outbox relay, so the fifth may still be on its way.
    async def five_sent() -> list[EmailMerchant] | None:
        sent = [c for c in portal.fake.commands if isinstance(c, EmailMerchant)]
        return sent if len(sent) >= 5 else None

    sent = await eventually(five_sent, timeout=10)
    assert len(sent) == 5
    assert sent[0].data.reply_to == f"{ana[1]}@example.com"
    portal.clock.advance(timedelta(days=1, seconds=1))
    again = await portal.client.post(
        f"/portal/{acme.slug}/api/messages",
        json={"subject": "Hello", "message": "Again"},
        headers=headers,
    )
    assert again.status_code == 202


async def test_a_review_request_emails_the_customers_primary_contact_in_its_language(
    portal: Portal,
) -> None:
    acme = await merchant(portal)
    customer_id, contact_id = await customer(portal, acme)

    asked = await portal.client.post(
        f"/admin/v1/customers/{customer_id}/review-requests", headers=acme.admin
    )

    assert asked.status_code == 202, asked.text
    [email] = await eventually(
        lambda: _async([c for c in portal.fake.commands if isinstance(c, SendCustomerEmail)])
    )
    assert email.data.template == "review_request"
    assert email.data.to_email == f"{contact_id}@example.com"
    assert email.data.language == "de"
    assert email.data.values["portal_url"].endswith(f"/portal/{acme.slug}/")
    unknown = await portal.client.post(
        "/admin/v1/customers/cus_nobody/review-requests", headers=acme.admin
    )
    assert unknown.status_code == 404


async def test_a_webhook_secret_is_shown_once_and_the_endpoint_listed_without_it(
    portal: Portal,
) -> None:
    acme = await merchant(portal)

    created = await portal.client.post(
        "/admin/v1/webhooks/endpoints",
        json={"url": "https://hooks.acme.example/portal", "description": "CRM"},
        headers=acme.admin,
    )

    assert created.status_code == 201, created.text
    body = created.json()
    assert body["secret"].startswith("whsec_")
    assert body["status"] == "active"
    # Notifications received the same secret, sealed.
    assert portal.fake.secrets[body["endpoint_id"]] == body["secret"]
    listed = (await portal.client.get("/admin/v1/webhooks/endpoints", headers=acme.admin)).json()
    assert [e["endpoint_id"] for e in listed["endpoints"]] == [body["endpoint_id"]]
    assert body["secret"] not in str(listed)
    other = await merchant(portal)
    theirs = await portal.client.get("/admin/v1/webhooks/endpoints", headers=other.admin)
    assert theirs.json() == {"endpoints": []}
    stolen = await portal.client.delete(
        f"/admin/v1/webhooks/endpoints/{body['endpoint_id']}", headers=other.admin
    )
    assert stolen.status_code == 404
    removed = await portal.client.delete(
        f"/admin/v1/webhooks/endpoints/{body['endpoint_id']}", headers=acme.admin
    )
    assert removed.json()["status"] == "removed"
    left = (await portal.client.get("/admin/v1/webhooks/endpoints", headers=acme.admin)).json()
    assert left == {"endpoints": []}


async def test_an_insecure_webhook_url_is_refused_outside_the_local_profile(
    mongo_uri: str, database_name: str
) -> None:
    app = create_app(
        GatewaySettings(
            mongo_uri=mongo_uri,
            mongo_database=database_name,
            operator_token=SecretStr("operator-secret"),
            profile="kafka",
        )
    )
    async with TestKafkaBroker(app.state.runtime.broker), AsyncTestClient(app) as client:
        found = Portal(client, MovableClock(START), None, None, app.state.runtime.store.db)  # type: ignore[arg-type]
        acme = await merchant(found)
        refused = await client.post(
            "/admin/v1/webhooks/endpoints",
            json={"url": "http://hooks.acme.example/portal"},
            headers=acme.admin,
        )
    assert refused.status_code == 422
    assert refused.json()["code"] == "webhook_url_not_https"


async def test_the_feed_and_delivery_log_come_from_notifications_events(portal: Portal) -> None:
    acme = await merchant(portal)
    other = await merchant(portal)
    for n, kind in enumerate(("invoice.first_viewed", "payment.made")):
        in_app(
            portal,
            portal.fake.publish,
            MerchantNotified(
                organisation_id=acme.organisation_id,
                correlation_id=uuid.uuid4().hex,
                occurred_at=START + timedelta(minutes=n),
                data=MerchantNotification(
                    notification_id=f"nt_{n}",
                    kind=kind,
                    summary=f"summary {n}",
                ),
            ),
        )
    in_app(portal, portal.fake.publish, delivery_changed(acme.organisation_id, "wd_1", "dead"))

    feed = (await portal.client.get("/admin/v1/notifications", headers=acme.admin)).json()
    assert [(n["kind"], n["read"]) for n in feed["notifications"]] == [
        ("payment.made", False),
        ("invoice.first_viewed", False),
    ]
    marked = await portal.client.post(
        "/admin/v1/notifications/read", json={"notification_ids": ["nt_0"]}, headers=acme.admin
    )
    assert marked.json() == {"marked_read": 1}
    unread = await portal.client.get(
        "/admin/v1/notifications", params={"unread": "true"}, headers=acme.admin
    )
    assert [n["notification_id"] for n in unread.json()["notifications"]] == ["nt_1"]
    theirs = (await portal.client.get("/admin/v1/notifications", headers=other.admin)).json()
    assert (theirs["notifications"], theirs["total"]) == ([], 0)
    # A page at a time, newest first; `total` counts them all.
    second = await portal.client.get(
        "/admin/v1/notifications", params={"limit": 1, "page": 2}, headers=acme.admin
    )
    assert [n["notification_id"] for n in second.json()["notifications"]] == ["nt_0"]
    assert (second.json()["page"], second.json()["total"]) == (2, 2)
    beyond = await portal.client.get(
        "/admin/v1/notifications", params={"limit": 1, "page": 3}, headers=acme.admin
    )
    assert beyond.json()["notifications"] == []
    bad_page = await portal.client.get(
        "/admin/v1/notifications", params={"page": 0}, headers=acme.admin
    )
    assert bad_page.status_code == 400

    dead = await portal.client.get(
        "/admin/v1/webhooks/deliveries", params={"status": "dead"}, headers=acme.admin
    )
    [delivery] = dead.json()["deliveries"]
    assert (delivery["delivery_id"], delivery["attempts"], delivery["last_error"]) == (
        "wd_1",
        9,
        "HTTP 503",
    )
    not_theirs = await portal.client.post(
        "/admin/v1/webhooks/deliveries/wd_1/replay", headers=other.admin
    )
    assert not_theirs.status_code == 404
    replayed = await portal.client.post(
        "/admin/v1/webhooks/deliveries/wd_1/replay", headers=acme.admin
    )
    assert replayed.status_code == 202

    async def replays() -> list[str] | None:
        asked = [
            c.data.delivery_id for c in portal.fake.commands if isinstance(c, ReplayWebhookDelivery)
        ]
        return asked or None

    assert await eventually(replays, timeout=10) == ["wd_1"]
    log = await portal.client.get("/admin/v1/webhooks/deliveries", headers=acme.admin)
    assert [d["status"] for d in log.json()["deliveries"]] == ["pending"]


async def _async(value: Any) -> Any:
    return value


async def _full(report: Any, total: int) -> dict[str, Any] | None:
    body: dict[str, Any] = await report()
    return body if body["total"] == total else None
