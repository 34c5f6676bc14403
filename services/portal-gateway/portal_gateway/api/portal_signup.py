"""Self sign-up on the portal (no sign-in needed), when the merchant turned on
`portal.self_sign_up`: a visitor gives an email; if it is a contact's, identity emails a
single-use link; opening it with a new password grants access. The answer to the first step is
the same whether or not the email is known."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from litestar import Controller, post
from litestar.params import Parameter
from pydantic import BaseModel, ConfigDict, EmailStr, Field

from portal_gateway.api.schemas import SLUG
from portal_gateway.domain.preferences import require
from portal_gateway.service_layer import portal_access
from portal_gateway.service_layer.context import Gateway
from portal_gateway.service_layer.merchants import merchant_for_portal
from portal_gateway.service_layer.preferences import preferences_of
from portal_runtime.errors import NotFound

Slug = Annotated[str, Parameter(pattern=SLUG, max_length=63)]


class SignUpRequestBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: EmailStr
    name: str | None = Field(default=None, min_length=1, max_length=200)


class SignUpCompletion(BaseModel):
    model_config = ConfigDict(extra="forbid")

    token: str = Field(min_length=10, max_length=200)
    password: str = Field(min_length=1, max_length=1024)


def controller(gateway: Gateway) -> type[Controller]:
    async def portal(slug: str) -> dict[str, Any]:
        merchant = await merchant_for_portal(gateway, slug)
        if merchant is None:
            raise NotFound(f"there is no portal at '{slug}'")
        return merchant

    class PortalSignUpController(Controller):
        path = "/portal/{slug:str}/api/sign-up"
        tags = ["portal"]

        @post("", status_code=202)
        async def request_sign_up(self, slug: Slug, data: SignUpRequestBody) -> dict[str, Any]:
            """Ask to sign up; a confirmation link goes to the address if it may sign up."""
            merchant = await portal(slug)
            await portal_access.request_sign_up(gateway, merchant, str(data.email), data.name)
            return {
                "status": "check_your_email",
                "detail": "if this address may sign up, a confirmation link is on its way",
            }

        @post("/complete", status_code=200)
        async def complete(self, slug: Slug, data: SignUpCompletion) -> dict[str, Any]:
            """Open the emailed link with a new password: the email is confirmed, access
            granted; sign in next."""
            merchant = await portal(slug)
            prefs = await preferences_of(gateway, str(merchant["_id"]))
            require(prefs.portal.self_sign_up, "signing up for the portal")
            await gateway.identity.call(
                "/internal/v1/sign-ups/complete",
                {
                    "portal_slug": slug,
                    "token": data.token,
                    "password": data.password,
                    "correlation_id": uuid.uuid4().hex,
                },
            )
            return {"status": "signed_up"}

    return PortalSignUpController
