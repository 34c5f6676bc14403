"""Composition root of the identity service."""

from __future__ import annotations

from datetime import timedelta

from faststream import FastStream
from faststream.specification import AsyncAPI
from litestar import Litestar, Router

from identity import api, api_sign_up, api_sso
from identity.adapters import sso_repositories
from identity.adapters.credentials import ensure_sign_in_indexes
from identity.adapters.passwords import PasswordHashing
from identity.adapters.repositories import ensure_indexes
from identity.adapters.tokens import AccessTokens
from identity.handlers import commands, events
from identity.service_layer.context import Identity
from identity.settings import IdentitySettings
from portal_runtime.clock import Clock
from portal_runtime.http import service_app
from portal_runtime.runtime import DOCUMENTED_BROKER, ServiceRuntime
from portal_runtime.sealing import Sealer


def build(
    settings: IdentitySettings | None = None, clock: Clock | None = None
) -> tuple[ServiceRuntime, Identity]:
    settings = settings or IdentitySettings()
    runtime = ServiceRuntime(settings, clock)
    identity = Identity(
        settings=settings,
        store=runtime.store,
        passwords=PasswordHashing(
            settings.argon2_time_cost,
            settings.argon2_memory_kib,
            settings.argon2_parallelism,
            workers=settings.password_hashing_workers,
            max_waiting=settings.sign_in_max_waiting,
        ),
        tokens=AccessTokens(
            settings.token_private_key, timedelta(minutes=settings.access_token_minutes)
        ),
        sealer=Sealer(settings.sealing_key),
    )
    runtime.on_start.append(lambda: ensure_indexes(runtime.store.db))
    runtime.on_start.append(lambda: ensure_sign_in_indexes(runtime.store.db))
    runtime.on_start.append(lambda: sso_repositories.ensure_indexes(runtime.store.db))
    events.register(runtime, identity)
    commands.register(runtime, identity)
    return runtime, identity


def build_runtime(
    settings: IdentitySettings | None = None, clock: Clock | None = None
) -> ServiceRuntime:
    return build(settings, clock)[0]


def create_app(settings: IdentitySettings | None = None, clock: Clock | None = None) -> Litestar:
    runtime, identity = build(settings, clock)
    internal = [
        api.controller(identity),
        api_sign_up.controller(identity),
        api_sso.controller(identity),
    ]
    guard = api.internal_token_guard(identity.settings.internal_token)
    return service_app(runtime, [Router("/", route_handlers=internal, guards=[guard])])


def asyncapi_app() -> FastStream:
    """For `faststream docs gen --factory identity.app:asyncapi_app`."""
    return FastStream(
        build_runtime(IdentitySettings(kafka_bootstrap=DOCUMENTED_BROKER)).broker,
        specification=AsyncAPI(title="identity", version="1.0.0"),
    )
