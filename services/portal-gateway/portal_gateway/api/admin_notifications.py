"""The merchant's notifications: the in-app feed, webhook endpoints with their delivery log
and replay, the portal activity report, reviews and review requests (admin API, X-API-Key).

Reads come from the gateway's views built from notifications' events; changes are commands to
notifications (webhooks, replays) or emails it sends (review requests).
"""

from __future__ import annotations

import secrets
import uuid
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any
from urllib.parse import urlsplit

from litestar import Controller, Response, delete, get, post
from litestar.params import Parameter
from pydantic import BaseModel, ConfigDict, Field

from portal_contracts.envelope import Actor
from portal_contracts.notifications import (
    CustomerEmail,
    EndpointRef,
    RegisterWebhookEndpoint,
    RemoveWebhookEndpoint,
    ReplayWebhookDelivery,
    RotateWebhookSecret,
    SecretRotation,
    SendCustomerEmail,
    WebhookEndpoint,
)
from portal_contracts.notifications import DeliveryRef as DeliveryReference
from portal_contracts.topics import NOTIFICATIONS_COMMANDS
from portal_gateway.adapters.read_models import CustomerViews
from portal_gateway.api.merchant_auth import ADMIN_DEPENDENCIES, Merchant, merchant_guard
from portal_gateway.domain.preferences import require
from portal_gateway.service_layer import notification_views as views
from portal_gateway.service_layer.commands import (
    Rejected,
    pending_response,
    raise_if_rejected,
    send_command,
)
from portal_gateway.service_layer.context import Gateway
from portal_gateway.service_layer.preferences import preferences_of
from portal_runtime import network
from portal_runtime.errors import NotFound
from portal_runtime.sealing import Sealer
from portal_runtime.store import Transaction

Limit = Annotated[int, Parameter(ge=1, le=500)]
Page = Annotated[int, Parameter(ge=1, le=100_000)]


class NewEndpoint(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str = Field(min_length=8, max_length=2000)
    description: str = Field(default="", max_length=200)


class ReadMarks(BaseModel):
    """Which notifications the merchant has read; none listed means all of them."""

    model_config = ConfigDict(extra="forbid")

    notification_ids: list[str] | None = Field(default=None, max_length=500)


class ReviewRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    contact_id: str | None = Field(default=None, max_length=64)


def _actor(merchant: Merchant) -> Actor:
    return Actor(kind="merchant", id=str(merchant.get("api_key_id") or merchant["_id"]))


async def _checked_url(gateway: Gateway, url: str) -> str:
    """An https URL (http too on the local profile) whose host is, or resolves only to,
    public internet addresses. Notifications checks the address again at every delivery: a
    name may be re-pointed after this check."""
    parts = urlsplit(url)
    insecure_allowed = gateway.settings.profile == "local"
    if parts.scheme != "https" and not (insecure_allowed and parts.scheme == "http"):
        raise Rejected("webhook URLs must use https", code="webhook_url_not_https")
    try:
        host, port = parts.hostname, parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as bad:
        raise Rejected("the webhook URL has an invalid port", code="webhook_url_invalid") from bad
    if not host:
        raise Rejected("the webhook URL has no host", code="webhook_url_invalid")
    if gateway.settings.allow_private_webhook_targets:
        return url
    try:
        await network.allowed_addresses(host, port)
    except network.TargetNotAllowed as refused:
        raise Rejected(
            f"the webhook target is not allowed: {refused}", code="webhook_target_not_allowed"
        ) from refused
    except network.TargetUnresolvable as unknown:
        raise Rejected(
            f"the webhook host cannot be resolved: {unknown}", code="webhook_target_unresolvable"
        ) from unknown
    return url


def controller(gateway: Gateway) -> type[Controller]:
    sealer = Sealer(gateway.settings.sealing_key)
    db = gateway.store.db

    class AdminNotificationsController(Controller):
        path = "/admin/v1"
        tags = ["admin: notifications"]
        guards = [merchant_guard(gateway)]
        dependencies = ADMIN_DEPENDENCIES
        security = [{"ApiKey": []}]

        @get("/notifications")
        async def list_notifications(
            self, merchant: Merchant, unread: bool = False, limit: Limit = 50, page: Page = 1
        ) -> dict[str, Any]:
            """The in-app feed of portal activity, newest first, `limit` a page (`total`
            counts them all)."""
            org = str(merchant["_id"])
            found, total = await views.feed(db, org, unread_only=unread, limit=limit, page=page)
            return {"notifications": found, "page": page, "limit": limit, "total": total}

        @post("/notifications/read", status_code=200)
        async def mark_read(self, data: ReadMarks, merchant: Merchant) -> dict[str, Any]:
            marked = await views.mark_read(db, str(merchant["_id"]), data.notification_ids)
            return {"marked_read": marked}

        @get("/webhooks/endpoints")
        async def list_endpoints(self, merchant: Merchant) -> dict[str, Any]:
            return {"endpoints": await views.endpoints(db, str(merchant["_id"]))}

        @post("/webhooks/endpoints", status_code=201)
        async def register_endpoint(
            self, data: NewEndpoint, merchant: Merchant
        ) -> Response[dict[str, Any]]:
            """Register an endpoint. The answer holds its signing secret: shown this once."""
            org = str(merchant["_id"])
            url = await _checked_url(gateway, data.url)
            secret = f"whsec_{secrets.token_urlsafe(32)}"
            endpoint_id = f"we_{uuid.uuid4().hex[:20]}"
            command = RegisterWebhookEndpoint(
                occurred_at=gateway.store.clock.now(),
                organisation_id=org,
                correlation_id=uuid.uuid4().hex,
                actor=_actor(merchant),
                data=WebhookEndpoint(
                    endpoint_id=endpoint_id,
                    url=url,
                    description=data.description,
                    sealed_secret=sealer.seal(secret),
                ),
            )
            done = await send_command(
                gateway,
                NOTIFICATIONS_COMMANDS,
                command,
                customer_id="",
                outcomes=("WebhookEndpointChanged",),
            )
            raise_if_rejected(done)
            body = {
                "endpoint_id": endpoint_id,
                "url": url,
                "description": data.description,
                "secret": secret,
                "status": "active" if done["status"] == "succeeded" else "pending",
            }
            return Response(body, status_code=201)

        @delete("/webhooks/endpoints/{endpoint_id:str}", status_code=200)
        async def remove_endpoint(self, endpoint_id: str, merchant: Merchant) -> dict[str, Any]:
            org = str(merchant["_id"])
            if await views.endpoint(db, org, endpoint_id) is None:
                raise NotFound(f"there is no webhook endpoint '{endpoint_id}'")
            done = await send_command(
                gateway,
                NOTIFICATIONS_COMMANDS,
                RemoveWebhookEndpoint(
                    occurred_at=gateway.store.clock.now(),
                    organisation_id=org,
                    correlation_id=uuid.uuid4().hex,
                    actor=_actor(merchant),
                    data=EndpointRef(endpoint_id=endpoint_id),
                ),
                customer_id="",
                outcomes=("WebhookEndpointChanged",),
            )
            raise_if_rejected(done)
            if done["status"] != "succeeded":
                return pending_response(done, "/admin/v1")
            return {"endpoint_id": endpoint_id, "status": "removed"}

        @post("/webhooks/endpoints/{endpoint_id:str}/rotate-secret", status_code=200)
        async def rotate_secret(self, endpoint_id: str, merchant: Merchant) -> dict[str, Any]:
            """Replace the endpoint's signing secret. The answer holds the new secret, shown
            this once. Until `previous_secret_valid_until` deliveries carry two signatures
            (new, then old), so the receiver can switch to the new secret at any moment."""
            org = str(merchant["_id"])
            known = await views.endpoint(db, org, endpoint_id)
            if known is None or known.get("status") != "active":
                raise NotFound(f"there is no webhook endpoint '{endpoint_id}'")
            secret = f"whsec_{secrets.token_urlsafe(32)}"
            now = gateway.store.clock.now()
            grace = timedelta(seconds=gateway.settings.webhook_secret_grace_seconds)
            grace_end = now.replace(microsecond=0) + grace  # whole seconds: the same everywhere
            done = await send_command(
                gateway,
                NOTIFICATIONS_COMMANDS,
                RotateWebhookSecret(
                    occurred_at=now,
                    organisation_id=org,
                    correlation_id=uuid.uuid4().hex,
                    actor=_actor(merchant),
                    data=SecretRotation(
                        endpoint_id=endpoint_id,
                        sealed_secret=sealer.seal(secret),
                        previous_valid_until=grace_end,
                    ),
                ),
                customer_id="",
                outcomes=("WebhookEndpointChanged",),
            )
            raise_if_rejected(done)
            # Shown even while pending: the rotation is on its way, and the merchant could not
            # learn this secret any other way.
            return {
                "endpoint_id": endpoint_id,
                "secret": secret,
                "previous_secret_valid_until": grace_end.isoformat(),
                "status": "rotated" if done["status"] == "succeeded" else "pending",
            }

        @get("/webhooks/deliveries")
        async def list_deliveries(
            self,
            merchant: Merchant,
            status: Annotated[
                str | None, Parameter(pattern="^(pending|retrying|delivered|dead)$")
            ] = None,
            endpoint_id: str | None = None,
            limit: Limit = 100,
            page: Page = 1,
        ) -> dict[str, Any]:
            """The delivery log: every delivery with its status, attempts and last error, the
            latest change first, `limit` a page."""
            found, total = await views.deliveries(
                db,
                str(merchant["_id"]),
                status=status,
                endpoint_id=endpoint_id,
                limit=limit,
                page=page,
            )
            return {"deliveries": found, "page": page, "limit": limit, "total": total}

        @post("/webhooks/deliveries/{delivery_id:str}/replay", status_code=202)
        async def replay(self, delivery_id: str, merchant: Merchant) -> dict[str, Any]:
            """Send a delivery again now, with the same event id and body."""
            org = str(merchant["_id"])
            if await views.delivery(db, org, delivery_id) is None:
                raise NotFound(f"there is no webhook delivery '{delivery_id}'")
            done = await send_command(
                gateway,
                NOTIFICATIONS_COMMANDS,
                ReplayWebhookDelivery(
                    occurred_at=gateway.store.clock.now(),
                    organisation_id=org,
                    correlation_id=uuid.uuid4().hex,
                    actor=_actor(merchant),
                    data=DeliveryReference(delivery_id=delivery_id),
                ),
                customer_id="",
                outcomes=("WebhookDeliveryChanged",),
            )
            raise_if_rejected(done)
            return {"delivery_id": delivery_id, "status": "replay_requested"}

        @get("/portal-activity")
        async def activity_report(
            self,
            merchant: Merchant,
            customer_id: str | None = None,
            since: Annotated[datetime | None, Parameter(query="from")] = None,
            until: Annotated[datetime | None, Parameter(query="to")] = None,
            limit: Limit = 100,
            page: Page = 1,
        ) -> dict[str, Any]:
            """Portal activity by module (and action), with the latest entries; filter by
            customer and by date range (`from` inclusive, `to` exclusive, ISO 8601)."""
            since, until = _utc(since), _utc(until)
            report = await views.activity_report(
                db,
                str(merchant["_id"]),
                customer_id=customer_id,
                since=since,
                until=until,
                limit=limit,
                page=page,
            )
            return {
                **report,
                "page": page,
                "limit": limit,
                "filters": {
                    "customer_id": customer_id,
                    "from": _iso(since),
                    "to": _iso(until),
                },
            }

        @get("/reviews")
        async def list_reviews(
            self,
            merchant: Merchant,
            customer_id: str | None = None,
            limit: Limit = 100,
            page: Page = 1,
        ) -> dict[str, Any]:
            """Reviews customers wrote, newest first; private to the merchant."""
            found, total = await views.reviews(db, str(merchant["_id"]), customer_id, limit, page)
            return {"reviews": found, "page": page, "limit": limit, "total": total}

        @post("/customers/{customer_id:str}/review-requests", status_code=202)
        async def request_review(
            self, customer_id: str, merchant: Merchant, data: ReviewRequest | None = None
        ) -> dict[str, Any]:
            """Email the customer's contact (the primary one unless named) asking for a
            review in the portal."""
            org = str(merchant["_id"])
            require((await preferences_of(gateway, org)).portal.reviews, "reviews")
            customer = await CustomerViews(db).get(org, customer_id)
            if customer is None:
                raise NotFound(f"there is no customer '{customer_id}'")
            wanted = data.contact_id if data else None
            contacts = [
                c
                for c in customer.get("contacts", [])
                if c.get("email")
                and (c["contact_id"] == wanted or (not wanted and c.get("is_primary")))
            ]
            if not contacts:
                raise Rejected("the contact has no email address", code="contact_without_email")
            contact = contacts[0]
            command = SendCustomerEmail(
                occurred_at=gateway.store.clock.now(),
                organisation_id=org,
                correlation_id=uuid.uuid4().hex,
                actor=_actor(merchant),
                data=CustomerEmail(
                    template="review_request",
                    customer_id=customer_id,
                    contact_id=contact["contact_id"],
                    to_email=contact["email"],
                    to_name=" ".join(
                        p for p in (contact.get("first_name"), contact.get("last_name")) if p
                    ),
                    merchant_name=str(merchant.get("name", "")) or "Your supplier",
                    language=customer.get("portal_language", "en"),
                    values={"portal_url": _portal_url(gateway, merchant)},
                ),
            )

            async def work(tx: Transaction) -> None:
                await tx.emit(NOTIFICATIONS_COMMANDS, command)

            await gateway.store.transaction(work)
            return {"status": "requested", "contact_id": contact["contact_id"]}

    return AdminNotificationsController


def _utc(moment: datetime | None) -> datetime | None:
    """A date without a zone is read as UTC."""
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def _portal_url(gateway: Gateway, merchant: Merchant) -> str:
    slug = merchant.get("portal_slug", "")
    return f"{gateway.settings.public_url.rstrip('/')}/portal/{slug}/" if slug else ""
