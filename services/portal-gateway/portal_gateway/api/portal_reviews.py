"""Customers rate the merchant and write a review (when the merchant enabled reviews), and
write to the merchant from the portal (a few messages per contact per day)."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Annotated, Any

from litestar import Controller, Response, get, post
from litestar.params import Parameter
from pydantic import BaseModel, ConfigDict, Field

from portal_contracts.envelope import Actor
from portal_contracts.notifications import EmailMerchant, MessageToMerchant, Review, SubmitReview
from portal_contracts.topics import NOTIFICATIONS_COMMANDS
from portal_gateway.adapters.read_models import CustomerViews
from portal_gateway.api.schemas import SLUG
from portal_gateway.api.security import PORTAL_DEPENDENCIES, PortalPrincipal, portal_guard
from portal_gateway.domain.preferences import require
from portal_gateway.service_layer import notification_views as views
from portal_gateway.service_layer.commands import (
    pending_response,
    raise_if_rejected,
    send_command,
    sending_lock,
)
from portal_gateway.service_layer.context import Gateway
from portal_gateway.service_layer.preferences import preferences_of
from portal_runtime.errors import TooManyRequests
from portal_runtime.store import Transaction

Slug = Annotated[str, Parameter(pattern=SLUG, max_length=63)]
# A contact may write to the merchant this often per day: enough for a conversation, too few
# to flood the merchant's inbox through the portal.
MESSAGES_PER_DAY = 5


class NewReview(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rating: int = Field(ge=1, le=5)
    text: str = Field(default="", max_length=5000)


class NewMessage(BaseModel):
    model_config = ConfigDict(extra="forbid")

    subject: str = Field(min_length=1, max_length=200)
    message: str = Field(min_length=1, max_length=5000)


def _contact(customer: dict[str, Any] | None, contact_id: str) -> dict[str, Any]:
    for contact in (customer or {}).get("contacts", []):
        if contact.get("contact_id") == contact_id:
            found: dict[str, Any] = contact
            return found
    return {}


def controller(gateway: Gateway) -> type[Controller]:
    db = gateway.store.db

    class PortalReviewsController(Controller):
        path = "/portal/{slug:str}/api"
        tags = ["portal: reviews and messages"]
        guards = [portal_guard(gateway)]
        dependencies = PORTAL_DEPENDENCIES
        security = [{"BearerToken": []}]

        @post("/reviews", status_code=201)
        async def submit_review(
            self, slug: Slug, data: NewReview, principal: PortalPrincipal
        ) -> Response[dict[str, Any]]:
            """Rate the merchant (1 to 5) and say why; only the merchant reads it."""
            org = principal.organisation_id
            require((await preferences_of(gateway, org)).portal.reviews, "reviews")
            customer = await CustomerViews(db).get(org, principal.customer_id)
            review_id = f"rv_{uuid.uuid4().hex[:20]}"
            done = await send_command(
                gateway,
                NOTIFICATIONS_COMMANDS,
                SubmitReview(
                    occurred_at=gateway.store.clock.now(),
                    organisation_id=org,
                    correlation_id=uuid.uuid4().hex,
                    actor=Actor(kind="contact", id=principal.contact_id),
                    data=Review(
                        review_id=review_id,
                        customer_id=principal.customer_id,
                        contact_id=principal.contact_id,
                        customer_name=str((customer or {}).get("display_name", ""))[:200],
                        rating=data.rating,
                        text=data.text,
                    ),
                ),
                customer_id=principal.customer_id,
                outcomes=("ReviewSubmitted",),
            )
            raise_if_rejected(done)
            if done["status"] != "succeeded":
                return Response(pending_response(done, f"/portal/{slug}/api"), status_code=202)
            body = {"review_id": review_id, "rating": data.rating, "text": data.text}
            return Response(body, status_code=201)

        @get("/reviews")
        async def my_reviews(self, slug: Slug, principal: PortalPrincipal) -> dict[str, Any]:
            """The reviews this customer wrote (never anyone else's)."""
            org = principal.organisation_id
            require((await preferences_of(gateway, org)).portal.reviews, "reviews")
            found, _ = await views.reviews(db, org, principal.customer_id, 50)
            return {
                "reviews": [
                    {k: r.get(k) for k in ("review_id", "rating", "text", "submitted_at")}
                    for r in found
                    if r.get("customer_id") == principal.customer_id
                ]
            }

        @post("/messages", status_code=202)
        async def email_merchant(
            self, slug: Slug, data: NewMessage, principal: PortalPrincipal
        ) -> dict[str, Any]:
            """Write to the merchant; the answer comes by email to the contact's address."""
            org = principal.organisation_id
            now = gateway.store.clock.now()
            sent = await views.messages_sent_since(
                db, org, principal.contact_id, now - timedelta(days=1)
            )
            if sent >= MESSAGES_PER_DAY:
                raise TooManyRequests(
                    f"at most {MESSAGES_PER_DAY} messages a day; please try again tomorrow",
                    code="too_many_messages",
                )
            customer = await CustomerViews(db).get(org, principal.customer_id)
            contact = _contact(customer, principal.contact_id)
            command = EmailMerchant(
                occurred_at=now,
                organisation_id=org,
                correlation_id=uuid.uuid4().hex,
                actor=Actor(kind="contact", id=principal.contact_id),
                data=MessageToMerchant(
                    customer_id=principal.customer_id,
                    contact_id=principal.contact_id,
                    customer_name=str((customer or {}).get("display_name", ""))[:200],
                    reply_to=contact.get("email"),
                    subject=data.subject,
                    message=data.message,
                ),
            )

            async def work(tx: Transaction) -> None:
                await tx.db[views.MESSAGES_SENT].insert_one(
                    {"organisation_id": org, "contact_id": principal.contact_id, "at": now},
                    session=tx.session,
                )
                await tx.emit(NOTIFICATIONS_COMMANDS, command)

            async with sending_lock(principal.customer_id):
                await gateway.store.transaction(work)
            return {"status": "sent"}

    return PortalReviewsController
