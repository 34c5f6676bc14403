"""The customer portal's API, reached by the merchant's portal address (slug)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from litestar import Controller, Request, get, post
from litestar.params import Parameter

from portal_gateway.adapters.read_models import CustomerViews
from portal_gateway.api.schemas import SLUG, Credentials, InvitationAcceptance
from portal_gateway.api.security import PORTAL_DEPENDENCIES, PortalPrincipal, portal_guard
from portal_gateway.domain.views import home_view
from portal_gateway.service_layer.context import Gateway
from portal_gateway.service_layer.merchants import merchant_for_portal
from portal_runtime.errors import NotFound

Slug = Annotated[str, Parameter(pattern=SLUG, max_length=63)]


def controllers(gateway: Gateway) -> list[type[Controller]]:
    async def portal(slug: str) -> dict[str, Any]:
        merchant = await merchant_for_portal(gateway, slug)
        if merchant is None:
            raise NotFound(f"there is no portal at '{slug}'")
        return merchant

    class PortalController(Controller):
        path = "/portal/{slug:str}/api"
        tags = ["portal"]

        @post("/invitations/accept", status_code=200)
        async def accept_invitation(self, slug: Slug, data: InvitationAcceptance) -> dict[str, Any]:
            """Set the first password with the token from the invitation email."""
            await portal(slug)
            await gateway.identity.call(
                "/internal/v1/invitations/accept",
                {
                    "portal_slug": slug,
                    "token": data.token,
                    "password": data.password,
                    "correlation_id": uuid.uuid4().hex,
                },
            )
            return {"status": "accepted"}

        @post("/sessions", status_code=201)
        async def sign_in(
            self, slug: Slug, data: Credentials, request: Request[Any, Any, Any]
        ) -> dict[str, Any]:
            """Sign in with email and password; answers an access and a refresh token."""
            await portal(slug)
            return await gateway.identity.call(
                "/internal/v1/sessions",
                {
                    "portal_slug": slug,
                    "email": data.email,
                    "password": data.password,
                    "ip": request.client.host if request.client else "",
                    "user_agent": request.headers.get("user-agent", "")[:512],
                    "correlation_id": uuid.uuid4().hex,
                },
            )

    class HomeController(Controller):
        path = "/portal/{slug:str}/api"
        tags = ["portal"]
        guards = [portal_guard(gateway)]
        dependencies = PORTAL_DEPENDENCIES
        security = [{"BearerToken": []}]

        @get("/home")
        async def home(
            self, slug: Slug, principal: PortalPrincipal, merchant: dict[str, Any]
        ) -> dict[str, Any]:
            """The signed-in contact's home: their customer, the merchant, what is owed."""
            customer = await CustomerViews(gateway.store.db).get(
                principal.organisation_id, principal.customer_id
            )
            if customer is None:
                raise NotFound("your account is still being set up; try again in a moment")
            return home_view(customer, merchant, principal.contact_id)

    return [PortalController, HomeController]
