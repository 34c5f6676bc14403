"""Signing in to a portal with the merchant's OpenID Connect provider.

`GET .../sso/start` sends the browser to the provider; the provider sends it back to
`GET .../sso/callback`, which answers with a redirect to the portal's page
`/portal/{slug}/sign-in/sso#code=...`: a one-time code, 60 seconds, in the URL fragment (never
sent to a server or kept in logs). The page trades it with `POST .../sso/sessions` for the
same tokens a password sign-in answers. Tokens never appear in a URL."""

from __future__ import annotations

import uuid
from typing import Annotated, Any
from urllib.parse import quote

from litestar import Controller, Request, get, post
from litestar.params import Parameter
from litestar.response import Redirect
from pydantic import BaseModel, ConfigDict, Field

from portal_gateway.api.client_address import client_address
from portal_gateway.api.schemas import SLUG
from portal_gateway.service_layer.context import Gateway
from portal_gateway.service_layer.merchants import merchant_for_portal
from portal_runtime.errors import NotFound

Slug = Annotated[str, Parameter(pattern=SLUG, max_length=63)]
QueryValue = Annotated[str | None, Parameter(required=False, max_length=4096)]
# `state` is a name Litestar keeps for the application state.
StateValue = Annotated[str | None, Parameter(query="state", required=False, max_length=512)]
NO_STORE = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}


class HandOff(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str = Field(min_length=10, max_length=200)


def _caller(request: Request[Any, Any, Any]) -> dict[str, str]:
    return {
        "ip": client_address(request.scope),
        "user_agent": request.headers.get("user-agent", "")[:512],
        "correlation_id": uuid.uuid4().hex,
    }


def controller(gateway: Gateway) -> type[Controller]:
    async def portal(slug: str) -> None:
        if await merchant_for_portal(gateway, slug) is None:
            raise NotFound(f"there is no portal at '{slug}'")

    class PortalSingleSignOnController(Controller):
        path = "/portal/{slug:str}/api/sso"
        tags = ["portal", "single sign-on"]

        @get("/start", status_code=302)
        async def start(self, slug: Slug) -> Redirect:
            """Go to the merchant's identity provider to sign in (404 when the portal has no
            single sign-on)."""
            await portal(slug)
            answer = await gateway.identity.call("/internal/v1/sso/start", {"portal_slug": slug})
            return Redirect(answer["authorization_url"], status_code=302, headers=NO_STORE)

        @get("/callback", status_code=302)
        async def callback(
            self,
            slug: Slug,
            request: Request[Any, Any, Any],
            code: QueryValue = None,
            sso_state: StateValue = None,
            error: QueryValue = None,
        ) -> Redirect:
            """Where the identity provider sends the browser back. Answers a redirect to the
            portal's sign-in page with a one-time code in the fragment, or a problem (400 for a
            missing, unknown or used state; 401/403 when the sign-in is refused)."""
            await portal(slug)
            answer = await gateway.identity.call(
                "/internal/v1/sso/callback",
                {
                    "portal_slug": slug,
                    "code": code,
                    "state": sso_state,
                    "error": error[:256] if error else None,
                    **_caller(request),
                },
            )
            page = f"{gateway.settings.public_url.rstrip('/')}/portal/{slug}/sign-in/sso"
            return Redirect(
                f"{page}#code={quote(str(answer['code']))}", status_code=302, headers=NO_STORE
            )

        @post("/sessions", status_code=201)
        async def sessions(
            self, slug: Slug, data: HandOff, request: Request[Any, Any, Any]
        ) -> dict[str, Any]:
            """Trade the one-time code for an access and a refresh token (once)."""
            await portal(slug)
            return await gateway.identity.call(
                "/internal/v1/sso/sessions",
                {"portal_slug": slug, "code": data.code, **_caller(request)},
            )

    return PortalSingleSignOnController
