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
from portal_gateway.api import (
    activity,
    admin,
    admin_access,
    admin_customers,
    admin_documents,
    admin_invoices,
    admin_notifications,
    admin_projects,
    admin_public_links,
    admin_settings,
    admin_sso,
    admin_subscriptions,
    operator,
    portal,
    portal_account,
    portal_document_lists,
    portal_invoices,
    portal_payments,
    portal_projects,
    portal_quotes,
    portal_reviews,
    portal_signup,
    portal_sso,
    portal_statements,
    portal_subscriptions,
    public_links,
)
from portal_gateway.handlers import access as access_handlers
from portal_gateway.handlers import documents as document_handlers
from portal_gateway.handlers import invoicing as invoicing_handlers
from portal_gateway.handlers import notifications as notification_handlers
from portal_gateway.handlers import projections
from portal_gateway.handlers import subscriptions as subscription_handlers
from portal_gateway.service_layer import document_views, invoice_views, project_views
from portal_gateway.service_layer import public_links as public_link_views
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
        identity=IdentityClient(
            settings.identity_url, settings.identity_internal_token.get_secret_value()
        ),
        api_keys=TimedCache(settings.api_key_cache_seconds),
        portals=TimedCache(settings.api_key_cache_seconds),
    )
    runtime.on_start.append(lambda: Merchants.ensure_indexes(runtime.store.db))
    runtime.on_start.append(lambda: read_models.ensure_indexes(runtime.store.db))
    projections.register(runtime, gateway)
    access_handlers.register(runtime, gateway)
    notification_handlers.register(runtime, gateway)
    subscription_handlers.register(runtime, gateway)
    document_handlers.register(runtime, gateway)
    runtime.on_start.append(lambda: document_views.ensure_indexes(runtime.store.db))
    runtime.on_start.append(lambda: project_views.ensure_indexes(runtime.store.db))
    invoicing_handlers.register(runtime, gateway)
    runtime.on_start.append(lambda: invoice_views.ensure_indexes(runtime.store.db))
    runtime.on_start.append(lambda: public_link_views.ensure_indexes(runtime.store.db))
    return runtime, gateway


def create_app(settings: GatewaySettings | None = None, clock: Clock | None = None) -> Litestar:
    runtime, gateway = build(settings, clock)
    return service_app(
        runtime,
        [
            operator.controller(gateway),
            admin.controller(gateway),
            admin_access.controller(gateway),
            portal_signup.controller(gateway),
            *portal.controllers(gateway),
            admin_sso.controller(gateway),
            portal_sso.controller(gateway),
            admin_settings.controller(gateway),
            admin_customers.controller(gateway),
            *portal_account.controllers(gateway),
            admin_notifications.controller(gateway),
            portal_reviews.controller(gateway),
            admin_subscriptions.controller(gateway),
            portal_subscriptions.controller(gateway),
            admin_documents.controller(gateway),
            *portal_quotes.controllers(gateway),
            admin_projects.controller(gateway),
            portal_projects.controller(gateway),
            *portal_document_lists.controllers(gateway),
            *portal_statements.controllers(gateway),
            admin_invoices.controller(gateway),
            *portal_invoices.controllers(gateway),
            *portal_payments.controllers(gateway),
            admin_public_links.controller(gateway),
            *public_links.controllers(gateway),
        ],
        on_shutdown=[gateway.identity.close],
        middleware=[activity.middleware(gateway)],
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
