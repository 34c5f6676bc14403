"""Identity's internal HTTP API, called by the portal gateway only.

Credentials go over this synchronous call rather than Kafka so that passwords and fresh
tokens are never written to a retained log (docs/decisions.md)."""

from __future__ import annotations

from typing import Any

from litestar import Controller, post
from pydantic import BaseModel, ConfigDict, EmailStr, Field

from identity.service_layer.context import Identity
from identity.service_layer.signing_in import accept_invitation, sign_in

SLUG = r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$"


class AcceptInvitation(BaseModel):
    model_config = ConfigDict(extra="forbid")

    portal_slug: str = Field(pattern=SLUG)
    token: str = Field(min_length=10, max_length=200)
    password: str = Field(min_length=1, max_length=1024)
    correlation_id: str = Field(min_length=1, max_length=128)


class SignIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    portal_slug: str = Field(pattern=SLUG)
    email: EmailStr
    password: str = Field(min_length=1, max_length=1024)
    ip: str = Field(default="", max_length=64)
    user_agent: str = Field(default="", max_length=512)
    correlation_id: str = Field(min_length=1, max_length=128)


def controller(identity: Identity) -> type[Controller]:
    class CredentialsController(Controller):
        path = "/internal/v1"

        @post("/invitations/accept", status_code=200)
        async def accept(self, data: AcceptInvitation) -> dict[str, Any]:
            contact = await accept_invitation(
                identity, data.portal_slug, data.token, data.password, data.correlation_id
            )
            return contact.model_dump()

        @post("/sessions", status_code=201)
        async def create_session(self, data: SignIn) -> dict[str, Any]:
            signed_in = await sign_in(
                identity,
                data.portal_slug,
                data.email,
                data.password,
                data.ip,
                data.user_agent,
                data.correlation_id,
            )
            return {
                "access_token": signed_in.access_token,
                "refresh_token": signed_in.refresh_token,
                "token_type": "Bearer",
                "expires_in": signed_in.expires_in,
                "session_id": signed_in.session_id,
            }

    return CredentialsController
