"""The portal's layout (public) and the signed-in customer's own account details, changed
within the access level the merchant set per field (enforced here, on the server)."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Response, get, patch
from litestar.openapi.spec import Example
from litestar.params import Body, Parameter

from portal_contracts.envelope import Actor
from portal_gateway.adapters.read_models import CustomerViews
from portal_gateway.api.schemas import SLUG
from portal_gateway.api.security import PORTAL_DEPENDENCIES, PortalPrincipal, portal_guard
from portal_gateway.domain.settings import account_view, check_portal_change, details_update
from portal_gateway.service_layer.commands import raise_if_rejected
from portal_gateway.service_layer.context import Gateway
from portal_gateway.service_layer.customer_details import update_details
from portal_gateway.service_layer.merchants import merchant_for_portal
from portal_gateway.service_layer.preferences import preferences_of
from portal_gateway.service_layer.settings import (
    field_access_of,
    portal_layout,
    signed_in_layout,
)
from portal_runtime.errors import NotFound

Slug = Annotated[str, Parameter(pattern=SLUG, max_length=63)]
DetailsBody = Annotated[
    dict[str, Any],
    Body(
        description="Customer fields to change; null or an empty value clears a field.",
        examples=[
            Example(
                summary="A new phone number and billing address",
                value={
                    "phone": "+49 30 1234567",
                    "billing_address": {"street": "Hauptstr. 1", "city": "Berlin", "country": "DE"},
                },
            )
        ],
    ),
]


def controllers(gateway: Gateway) -> list[type[Controller]]:
    class PortalLayoutController(Controller):
        path = "/portal/{slug:str}/api"
        tags = ["portal"]

        @get("/portal")
        async def layout(self, slug: Slug) -> dict[str, Any]:
            """The portal's name, banner, custom sidebar tabs and whether sign-up is open."""
            merchant = await merchant_for_portal(gateway, slug)
            if merchant is None:
                raise NotFound(f"there is no portal at '{slug}'")
            return await portal_layout(gateway, merchant)

    class AccountController(Controller):
        path = "/portal/{slug:str}/api"
        tags = ["portal"]
        guards = [portal_guard(gateway)]
        dependencies = PORTAL_DEPENDENCIES
        security = [{"BearerToken": []}]

        async def _view(self, principal: PortalPrincipal) -> dict[str, Any]:
            org = principal.organisation_id
            customer = await CustomerViews(gateway.store.db).get(org, principal.customer_id)
            if customer is None:
                raise NotFound("your account is still being set up; try again in a moment")
            access = await field_access_of(gateway, org)
            prefs = await preferences_of(gateway, org)
            view = account_view(customer, access, gst_editable=prefs.portal.edit_gst_treatment)
            assert isinstance(view, dict)
            return view

        @get("/layout")
        async def signed_in(self, slug: Slug, merchant: dict[str, Any]) -> dict[str, Any]:
            """The portal's layout for a signed-in contact: name, banner, custom tabs and the
            modules the merchant turned on."""
            return await signed_in_layout(gateway, merchant)

        @get("/account")
        async def account(self, slug: Slug, principal: PortalPrincipal) -> dict[str, Any]:
            """Your account details (the fields the merchant shows), each field's access
            level, and your contact persons."""
            return await self._view(principal)

        @patch("/account")
        async def change_account(
            self, slug: Slug, data: DetailsBody, principal: PortalPrincipal
        ) -> Response[dict[str, Any]]:
            """Change your details: `{field: value}`; null or empty clears a field. Read-only
            and hidden fields answer 403, emptying a mandatory field 422."""
            org = principal.organisation_id
            access = await field_access_of(gateway, org)
            prefs = await preferences_of(gateway, org)
            check_portal_change(access, data, gst_editable=prefs.portal.edit_gst_treatment)
            if not data:
                return Response(await self._view(principal))
            update = details_update(principal.customer_id, data)
            if await CustomerViews(gateway.store.db).get(org, principal.customer_id) is None:
                raise NotFound("your account is still being set up; try again in a moment")
            command = await update_details(
                gateway, org, update, Actor(kind="contact", id=principal.contact_id)
            )
            raise_if_rejected(command)
            if command["status"] != "succeeded":
                # Saved later by the owning service; the account shows it once it is.
                return Response({"status": "pending"}, status_code=202)
            return Response(await self._view(principal))

    return [PortalLayoutController, AccountController]
