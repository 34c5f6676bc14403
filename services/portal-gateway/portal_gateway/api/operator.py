"""Platform operator routes: registering merchants (guarded by the operator token)."""

from __future__ import annotations

from typing import Any

from litestar import Controller, post
from litestar.connection import ASGIConnection
from litestar.handlers import BaseRouteHandler

from portal_contracts.merchants import MerchantProfile
from portal_gateway.api.schemas import MerchantRegistration
from portal_gateway.service_layer.context import Gateway
from portal_gateway.service_layer.merchants import register_merchant
from portal_runtime.errors import Unauthorised
from portal_runtime.sealing import same_secret


def controller(gateway: Gateway) -> type[Controller]:
    expected = gateway.settings.operator_token.get_secret_value()

    def authenticate(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
        token = connection.headers.get("x-operator-token")
        if not expected or not token or not same_secret(token, expected):
            raise Unauthorised("a valid X-Operator-Token header is required")

    class OperatorController(Controller):
        path = "/operator/v1"
        tags = ["operator"]
        guards = [authenticate]

        @post("/merchants", status_code=201)
        async def register(self, data: MerchantRegistration) -> dict[str, Any]:
            """Register a merchant; the API key in the answer is shown only this once."""
            merchant = await register_merchant(gateway, MerchantProfile(**data.model_dump()))
            return {
                "organisation_id": merchant.organisation_id,
                "api_key": merchant.api_key,
                "portal_url": merchant.portal_url,
            }

    return OperatorController
