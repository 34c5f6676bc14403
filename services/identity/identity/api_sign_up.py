"""Identity's internal HTTP API for completing a self sign-up (the gateway calls it; the
password never travels over Kafka)."""

from __future__ import annotations

from typing import Any

from litestar import Controller, post
from pydantic import BaseModel, ConfigDict, Field

from identity.api import SLUG
from identity.service_layer.context import Identity
from identity.service_layer.sign_up import complete_sign_up


class CompleteSignUp(BaseModel):
    model_config = ConfigDict(extra="forbid")

    portal_slug: str = Field(pattern=SLUG)
    token: str = Field(min_length=10, max_length=200)
    password: str = Field(min_length=1, max_length=1024)
    correlation_id: str = Field(min_length=1, max_length=128)


def controller(identity: Identity) -> type[Controller]:
    class SignUpController(Controller):
        path = "/internal/v1"

        @post("/sign-ups/complete", status_code=200)
        async def complete(self, data: CompleteSignUp) -> dict[str, Any]:
            contact = await complete_sign_up(
                identity, data.portal_slug, data.token, data.password, data.correlation_id
            )
            return contact.model_dump()

    return SignUpController
