"""Identity's internal API answers only a caller that shows the deployment's shared secret
(`X-Internal-Token`), as the gateway's identity client does; the health probes stay open.
Identity in memory: Litestar's test client, FastStream's TestKafkaBroker, the real database."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from faststream.kafka import TestKafkaBroker
from litestar import Litestar
from litestar.testing import AsyncTestClient
from pydantic import SecretStr

from identity.app import create_app
from identity.settings import DEV_INTERNAL_TOKEN as IDENTITY_DEFAULT
from identity.settings import IdentitySettings
from portal_gateway.adapters.identity_client import IdentityClient, IdentityRefusal
from portal_gateway.settings import DEV_INTERNAL_TOKEN as GATEWAY_DEFAULT
from portal_gateway.settings import GatewaySettings
from tests.support.internal_api import ViaTestClient

pytestmark = pytest.mark.component
SECRET = "a-deployment-secret-of-some-length"
SIGN_IN = {
    "portal_slug": "no-such-portal",
    "email": "ada@engines.example",
    "password": "correct-horse-42",
    "correlation_id": "c-1",
}


def internal_routes(app: Litestar) -> list[str]:
    return sorted(route.path for route in app.routes if route.path.startswith("/internal/"))


@pytest.fixture
async def identity(mongo_uri: str, database_name: str) -> AsyncIterator[AsyncTestClient[Any]]:
    app = create_app(
        IdentitySettings(
            mongo_uri=mongo_uri, mongo_database=database_name, internal_token=SecretStr(SECRET)
        )
    )
    async with TestKafkaBroker(app.state.runtime.broker), AsyncTestClient(app) as client:
        yield client


async def test_every_internal_route_refuses_a_caller_without_the_token(
    identity: AsyncTestClient[Any],
) -> None:
    routes = internal_routes(identity.app)
    assert "/internal/v1/sessions" in routes
    assert "/internal/v1/sign-ups/complete" in routes
    assert "/internal/v1/sso/configuration/read" in routes

    for path in routes:
        # Refused before the body is even read: an empty body is not a 400.
        answer = await identity.post(path, json={})
        assert answer.status_code == 401, (path, answer.text)
        assert answer.json()["code"] == "internal_token_invalid"


@pytest.mark.parametrize(
    "token", ["", "wrong", SECRET[:-1], SECRET + "x", SECRET.upper(), IDENTITY_DEFAULT]
)
async def test_a_wrong_token_is_refused(identity: AsyncTestClient[Any], token: str) -> None:
    answer = await identity.post(
        "/internal/v1/sessions", json=SIGN_IN, headers={"X-Internal-Token": token}
    )
    assert answer.status_code == 401
    assert answer.json()["code"] == "internal_token_invalid"
    assert "password" not in answer.text


async def test_the_right_token_reaches_the_api(identity: AsyncTestClient[Any]) -> None:
    answer = await identity.post(
        "/internal/v1/sessions", json=SIGN_IN, headers={"X-Internal-Token": SECRET}
    )
    # Past the guard: identity itself answers that there is no such portal.
    assert answer.status_code == 404, answer.text


async def test_health_probes_need_no_token(identity: AsyncTestClient[Any]) -> None:
    assert (await identity.get("/health/live")).status_code == 200
    assert (await identity.get("/health/ready")).status_code in (200, 503)
    assert (await identity.get("/health/ready")).status_code != 401


async def test_an_empty_configured_token_refuses_everyone(
    mongo_uri: str, database_name: str
) -> None:
    app = create_app(
        IdentitySettings(
            mongo_uri=mongo_uri, mongo_database=database_name, internal_token=SecretStr("")
        )
    )
    async with TestKafkaBroker(app.state.runtime.broker), AsyncTestClient(app) as client:
        answer = await client.post(
            "/internal/v1/sessions", json=SIGN_IN, headers={"X-Internal-Token": ""}
        )
    assert answer.status_code == 401


async def test_the_gateway_client_shows_its_configured_token(
    identity: AsyncTestClient[Any],
) -> None:
    transport = ViaTestClient(identity)
    right = IdentityClient("http://identity", SECRET, transport=transport)
    wrong = IdentityClient("http://identity", "not-the-secret", transport=transport)
    try:
        with pytest.raises(IdentityRefusal) as no_portal:
            await right.call("/internal/v1/sessions", SIGN_IN)
        assert no_portal.value.status == 404
        with pytest.raises(IdentityRefusal) as refused:
            await wrong.call("/internal/v1/sessions", SIGN_IN)
        assert refused.value.status == 401
        assert refused.value.code == "internal_token_invalid"
    finally:
        await right.close()
        await wrong.close()


def test_the_local_profile_defaults_match() -> None:
    """A local stack sets neither token: both services fall back to the same value."""
    assert IDENTITY_DEFAULT == GATEWAY_DEFAULT
    assert IdentitySettings().internal_token.get_secret_value() == (
        GatewaySettings().identity_internal_token.get_secret_value()
    )
