"""The merchant's API key on every admin route: checked by a guard before the body is read."""

from __future__ import annotations

from typing import Any

from litestar.connection import ASGIConnection
from litestar.di import Provide
from litestar.handlers import BaseRouteHandler

from portal_gateway.service_layer.context import Gateway
from portal_gateway.service_layer.merchants import merchant_for_api_key

Merchant = dict[str, Any]


def merchant_guard(gateway: Gateway) -> Any:
    """No valid API key, no answer about anything else."""

    async def guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
        connection.state.merchant = await merchant_for_api_key(
            gateway, connection.headers.get("x-api-key")
        )

    return guard


def _merchant(request: ASGIConnection[Any, Any, Any, Any]) -> Merchant:
    merchant: Merchant = request.state.merchant
    return merchant


ADMIN_DEPENDENCIES = {"merchant": Provide(_merchant, sync_to_thread=False)}
"""Handlers take `merchant: Merchant` (the merchant document; its id is `merchant["_id"]`)."""
