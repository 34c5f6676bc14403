"""Identity's internal HTTP API for single sign-on, called by the portal gateway only.

The merchant's client secret and the sign-in codes travel over this call, never over Kafka
(docs/decisions.md); no answer ever carries the client secret."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Controller, post
from pydantic import BaseModel, ConfigDict, Field

from identity.adapters.oidc import OidcProviders
from identity.service_layer import sso
from identity.service_layer.context import Identity
from identity.service_layer.sessions import Client

SLUG = r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$"


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Organisation(_Body):
    organisation_id: str = Field(min_length=1, max_length=64)
    correlation_id: str = Field(default_factory=lambda: uuid.uuid4().hex, max_length=128)


class SaveConfiguration(Organisation):
    issuer: str = Field(min_length=8, max_length=512)
    client_id: str = Field(min_length=1, max_length=512)
    client_secret: str | None = Field(default=None, min_length=1, max_length=2048)
    allowed_email_domains: list[str] = Field(default_factory=list, max_length=50)
    enabled: bool = True


class StartSignIn(_Body):
    portal_slug: str = Field(pattern=SLUG)


class _FromBrowser(_Body):
    portal_slug: str = Field(pattern=SLUG)
    ip: str = Field(default="", max_length=64)
    user_agent: str = Field(default="", max_length=512)
    correlation_id: str = Field(min_length=1, max_length=128)

    def caller(self) -> Client:
        return Client(self.ip, self.user_agent, self.correlation_id)


class FinishSignIn(_FromBrowser):
    state: str | None = Field(default=None, max_length=512)
    code: str | None = Field(default=None, max_length=4096)
    error: str | None = Field(default=None, max_length=256)


class RedeemHandOff(_FromBrowser):
    code: str = Field(min_length=10, max_length=200)


def controller(identity: Identity) -> type[Controller]:
    single_sign_on = sso.SingleSignOn(
        identity,
        OidcProviders(
            sso.allow_private_issuers(identity), identity.settings.sso_discovery_cache_seconds
        ),
    )

    class SingleSignOnController(Controller):
        path = "/internal/v1/sso"

        @post("/configuration/save", status_code=200)
        async def save(self, data: SaveConfiguration) -> dict[str, Any]:
            return await sso.save_configuration(
                single_sign_on,
                data.organisation_id,
                issuer=data.issuer,
                client_id=data.client_id,
                client_secret=data.client_secret,
                allowed_email_domains=data.allowed_email_domains,
                enabled=data.enabled,
                correlation_id=data.correlation_id,
            )

        @post("/configuration/read", status_code=200)
        async def read(self, data: Organisation) -> dict[str, Any]:
            return await sso.read_configuration(single_sign_on, data.organisation_id)

        @post("/configuration/remove", status_code=200)
        async def remove(self, data: Organisation) -> dict[str, Any]:
            await sso.remove_configuration(
                single_sign_on, data.organisation_id, data.correlation_id
            )
            return {"status": "removed"}

        @post("/start", status_code=200)
        async def start(self, data: StartSignIn) -> dict[str, Any]:
            url = await sso.start_sign_in(single_sign_on, data.portal_slug)
            return {"authorization_url": url}

        @post("/callback", status_code=200)
        async def callback(self, data: FinishSignIn) -> dict[str, Any]:
            code, lifetime = await sso.finish_sign_in(
                single_sign_on,
                data.portal_slug,
                state=data.state,
                code=data.code,
                error=data.error,
                caller=data.caller(),
            )
            return {"code": code, "expires_in": lifetime}

        @post("/sessions", status_code=201)
        async def redeem(self, data: RedeemHandOff) -> dict[str, Any]:
            signed_in = await sso.redeem_hand_off(
                single_sign_on, data.portal_slug, data.code, data.caller()
            )
            return signed_in.as_answer()

    return SingleSignOnController
