"""The merchant's single sign-on settings (X-API-Key): which OpenID Connect provider its
customers' contacts may sign in with. Identity owns the configuration and its client secret,
so every route calls identity's internal API; the secret is sent, never answered."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Controller, delete, get, put
from pydantic import BaseModel, ConfigDict, Field

from portal_gateway.api.merchant_auth import ADMIN_DEPENDENCIES, Merchant, merchant_guard
from portal_gateway.service_layer.context import Gateway


class SsoSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    issuer: str = Field(
        min_length=8,
        max_length=512,
        description="The provider's issuer URL; discovery reads "
        "`<issuer>/.well-known/openid-configuration`.",
    )
    client_id: str = Field(min_length=1, max_length=512)
    client_secret: str | None = Field(
        default=None,
        min_length=1,
        max_length=2048,
        description="Required the first time and when the issuer or client id changes; "
        "stored encrypted and never shown again.",
    )
    allowed_email_domains: list[str] = Field(
        default_factory=list,
        max_length=50,
        description="Empty: any existing portal user may sign in with this provider. "
        "Otherwise only existing portal users whose email is in one of these domains.",
    )
    enabled: bool = True


def controller(gateway: Gateway) -> type[Controller]:
    class SingleSignOnAdminController(Controller):
        path = "/admin/v1/sso"
        tags = ["admin", "single sign-on"]
        guards = [merchant_guard(gateway)]
        dependencies = ADMIN_DEPENDENCIES
        security = [{"ApiKey": []}]

        @put("/", status_code=200)
        async def save(self, data: SsoSettings, merchant: Merchant) -> dict[str, Any]:
            """Set up or change the provider. The answer's `redirect_uri` is the address to
            register at the provider."""
            return await gateway.identity.call(
                "/internal/v1/sso/configuration/save",
                {
                    "organisation_id": str(merchant["_id"]),
                    "correlation_id": uuid.uuid4().hex,
                    **data.model_dump(),
                },
            )

        @get("/")
        async def read(self, merchant: Merchant) -> dict[str, Any]:
            """The provider settings, without the client secret."""
            return await gateway.identity.call(
                "/internal/v1/sso/configuration/read", {"organisation_id": str(merchant["_id"])}
            )

        @delete("/", status_code=204)
        async def remove(self, merchant: Merchant) -> None:
            """Remove the provider; contacts sign in with their passwords again."""
            await gateway.identity.call(
                "/internal/v1/sso/configuration/remove",
                {"organisation_id": str(merchant["_id"]), "correlation_id": uuid.uuid4().hex},
            )

    return SingleSignOnAdminController
