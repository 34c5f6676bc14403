"""The merchant's admin API for portal access (X-API-Key): enable (a contact, every contact of
a customer, the primary contacts of many customers), disable (a contact, a whole customer),
resend the portal link, see each contact's access, and record a hosted-page payment (which
enables the primary contact when `portal.auto_enable_for_hosted_payments` is on)."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Response, delete, get, post
from pydantic import BaseModel, ConfigDict, Field

from portal_gateway.api.merchant_auth import ADMIN_DEPENDENCIES, Merchant, merchant_guard
from portal_gateway.service_layer import portal_access
from portal_gateway.service_layer.context import Gateway

ID = r"^[A-Za-z0-9_-]{1,64}$"
CUSTOMER = "/customers/{customer_id:str}/portal-access"
CONTACT = "/customers/{customer_id:str}/contacts/{contact_id:str}/portal-access"


class BulkEnable(BaseModel):
    model_config = ConfigDict(extra="forbid")

    customer_ids: list[str] = Field(min_length=1, max_length=100)


def controller(gateway: Gateway) -> type[Controller]:
    class AdminAccessController(Controller):
        path = "/admin/v1"
        tags = ["admin: portal access"]
        guards = [merchant_guard(gateway)]
        dependencies = ADMIN_DEPENDENCIES
        security = [{"ApiKey": []}]

        @get(CUSTOMER)
        async def status(self, customer_id: str, merchant: Merchant) -> dict[str, Any]:
            """Each contact's portal access: not_invited, invited, expired, accepted, disabled,
            refused or sign_up_pending."""
            return await portal_access.access_of(gateway, str(merchant["_id"]), customer_id)

        @post(CUSTOMER, status_code=200)
        async def enable_customer(
            self, customer_id: str, merchant: Merchant
        ) -> Response[dict[str, Any]]:
            """Enable every contact of the customer that has an email address."""
            return _response(
                await portal_access.enable(gateway, str(merchant["_id"]), customer_id, None)
            )

        @post(CONTACT, status_code=200)
        async def enable_contact(
            self, customer_id: str, contact_id: str, merchant: Merchant
        ) -> Response[dict[str, Any]]:
            """Enable one contact (422 when it has no email address)."""
            return _response(
                await portal_access.enable(gateway, str(merchant["_id"]), customer_id, contact_id)
            )

        @post("/portal-access/bulk-enable", status_code=200)
        async def enable_many(self, data: BulkEnable, merchant: Merchant) -> dict[str, Any]:
            """Enable the primary contact of each customer; a result per customer."""
            results = await portal_access.enable_many(
                gateway, str(merchant["_id"]), data.customer_ids
            )
            return {"results": results}

        @delete(CUSTOMER, status_code=200)
        async def disable_customer(
            self, customer_id: str, merchant: Merchant
        ) -> Response[dict[str, Any]]:
            """Disable every contact of the customer; their sessions end at once."""
            return _response(
                await portal_access.disable(gateway, str(merchant["_id"]), customer_id, None)
            )

        @delete(CONTACT, status_code=200)
        async def disable_contact(
            self, customer_id: str, contact_id: str, merchant: Merchant
        ) -> Response[dict[str, Any]]:
            """Disable one contact; their sessions end at once."""
            return _response(
                await portal_access.disable(gateway, str(merchant["_id"]), customer_id, contact_id)
            )

        @post(CONTACT + "/resend", status_code=200)
        async def resend(
            self, customer_id: str, contact_id: str, merchant: Merchant
        ) -> Response[dict[str, Any]]:
            """Email a new portal link; the previous link stops working."""
            return _response(
                await portal_access.resend(gateway, str(merchant["_id"]), customer_id, contact_id)
            )

        @post("/customers/{customer_id:str}/hosted-page-payments", status_code=200)
        async def hosted_payment(self, customer_id: str, merchant: Merchant) -> dict[str, Any]:
            """Record that the customer paid for a subscription on a hosted payment page."""
            return await portal_access.hosted_payment_completed(
                gateway, str(merchant["_id"]), customer_id
            )

    return AdminAccessController


def _response(answer: tuple[int, dict[str, Any]]) -> Response[dict[str, Any]]:
    status, body = answer
    return Response(body, status_code=status)
