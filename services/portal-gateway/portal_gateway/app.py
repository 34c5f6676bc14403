"""Composition root of the portal gateway."""

from __future__ import annotations

from faststream import FastStream
from faststream.specification import AsyncAPI
from litestar import Litestar
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import SwaggerRenderPlugin
from litestar.openapi.spec import Components, SecurityScheme

from portal_gateway.adapters import read_models
from portal_gateway.adapters.identity_client import IdentityClient
from portal_gateway.adapters.merchants import Merchants, TimedCache
from portal_gateway.api import admin, operator, portal
from portal_gateway.handlers import projections
from portal_gateway.service_layer.context import Gateway
from portal_gateway.settings import GatewaySettings
from portal_runtime.clock import Clock
from portal_runtime.http import service_app
from portal_runtime.runtime import DOCUMENTED_BROKER, ServiceRuntime


def build(
    settings: GatewaySettings | None = None, clock: Clock | None = None
) -> tuple[ServiceRuntime, Gateway]:
    settings = settings or GatewaySettings()
    runtime = ServiceRuntime(settings, clock)
    gateway = Gateway(
        settings=settings,
        store=runtime.store,
        identity=IdentityClient(settings.identity_url),
        api_keys=TimedCache(settings.api_key_cache_seconds),
        portals=TimedCache(settings.api_key_cache_seconds),
    )
    runtime.on_start.append(lambda: Merchants.ensure_indexes(runtime.store.db))
    runtime.on_start.append(lambda: read_models.ensure_indexes(runtime.store.db))
    projections.register(runtime, gateway)
    return runtime, gateway


def create_app(settings: GatewaySettings | None = None, clock: Clock | None = None) -> Litestar:
    runtime, gateway = build(settings, clock)
    return service_app(
        runtime,
        [operator.controller(gateway), admin.controller(gateway), *portal.controllers(gateway)],
        on_shutdown=[gateway.identity.close],
        openapi_config=OpenAPIConfig(
            title="Customer portal API",
            version="1.0.0",
            description="Merchant admin API and the customer portal API.",
            path="/schema",
            render_plugins=[SwaggerRenderPlugin()],
            components=Components(
                security_schemes={
                    "ApiKey": SecurityScheme(
                        type="apiKey", name="X-API-Key", security_scheme_in="header"
                    ),
                    "BearerToken": SecurityScheme(
                        type="http", scheme="bearer", bearer_format="JWT"
                    ),
                }
            ),
        ),
    )


def asyncapi_app() -> FastStream:
    """For `faststream docs gen --factory portal_gateway.app:asyncapi_app`."""
    return FastStream(
        build(GatewaySettings(kafka_bootstrap=DOCUMENTED_BROKER))[0].broker,
        specification=AsyncAPI(title="portal-gateway", version="1.0.0"),
    )
