"""A session remembers only its last `refresh_token_history` exchanged refresh tokens:
reusing one of them still ends the session, an older one is merely an unknown token, and the
session document stops growing. Identity in-process on the real broker and database."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from litestar.testing import AsyncTestClient
from pymongo import AsyncMongoClient

from identity.adapters.repositories import Merchants
from identity.app import create_app
from identity.settings import IdentitySettings
from portal_runtime.clock import MovableClock
from tests.support.sign_in import PASSWORD, stored_contact

pytestmark = pytest.mark.connected
HISTORY = IdentitySettings().refresh_token_history


@dataclass
class Portal:
    client: AsyncTestClient  # type: ignore[type-arg]
    settings: IdentitySettings
    db: Any
    slug: str
    organisation_id: str

    async def post(self, path: str, body: dict[str, Any]) -> httpx.Response:
        token = {"X-Internal-Token": self.settings.internal_token.get_secret_value()}
        full = {"correlation_id": uuid.uuid4().hex, **body}
        return await self.client.post(f"/internal/v1{path}", json=full, headers=token)

    async def refresh(self, refresh_token: str) -> httpx.Response:
        return await self.post(
            "/sessions/refresh", {"portal_slug": self.slug, "refresh_token": refresh_token}
        )

    async def signed_in(self) -> dict[str, Any]:
        """A new contact's first token pair."""
        email = await stored_contact(self.db, self.organisation_id)
        answer = await self.post(
            "/sessions", {"portal_slug": self.slug, "email": email, "password": PASSWORD}
        )
        assert answer.status_code == 201, answer.text
        tokens: dict[str, Any] = answer.json()
        return tokens

    async def rotations(self, first: str, times: int) -> list[str]:
        """`first` and the refresh tokens of `times` refreshes in a row, oldest first."""
        tokens = [first]
        for _ in range(times):
            answer = await self.refresh(tokens[-1])
            assert answer.status_code == 201, answer.text
            tokens.append(answer.json()["refresh_token"])
        return tokens

    async def events(self, type_: str) -> list[dict[str, Any]]:
        rows = self.db["outbox"].find({"type": type_, "organisation_id": self.organisation_id})
        return [json.loads(row["body"]) async for row in rows]


@pytest.fixture
async def portal(kafka_bootstrap: str, mongo_uri: str, database_name: str) -> AsyncIterator[Portal]:
    settings = IdentitySettings(
        kafka_bootstrap=kafka_bootstrap,
        mongo_uri=mongo_uri,
        mongo_database=database_name,
        argon2_time_cost=1,
        argon2_memory_kib=1024,
    )
    app = create_app(settings, MovableClock(datetime.now(UTC)))
    mongo: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongo_uri, tz_aware=True)
    async with AsyncTestClient(app) as client:
        db = mongo[database_name]
        organisation_id = f"org_{uuid.uuid4().hex[:12]}"
        slug = f"m-{uuid.uuid4().hex[:10]}"
        await Merchants(db).save(organisation_id, "Orbit Software", slug)
        yield Portal(client, settings, db, slug, organisation_id)
    await mongo.close()


async def test_the_session_keeps_only_the_newest_exchanged_tokens(portal: Portal) -> None:
    first = await portal.signed_in()
    await portal.rotations(first["refresh_token"], HISTORY + 10)

    session = await portal.db["sessions"].find_one({"_id": first["session_id"]})
    assert HISTORY == 50
    assert len(session["rotated_digests"]) == HISTORY


async def test_a_token_older_than_the_history_is_unknown_and_the_session_lives_on(
    portal: Portal,
) -> None:
    first = await portal.signed_in()
    tokens = await portal.rotations(first["refresh_token"], HISTORY + 1)

    # tokens[0] was exchanged HISTORY + 1 refreshes ago: forgotten, so only "not valid".
    forgotten = await portal.refresh(tokens[0])
    assert forgotten.status_code == 401
    assert forgotten.json()["code"] == "refresh_token_invalid"
    assert await portal.events("SessionsRevoked") == []
    assert await portal.events("RefreshTokenReused") == []
    # The holder of the newest token is not signed out by it.
    assert (await portal.refresh(tokens[-1])).status_code == 201


async def test_reusing_the_oldest_remembered_token_still_ends_the_session(
    portal: Portal,
) -> None:
    first = await portal.signed_in()
    tokens = await portal.rotations(first["refresh_token"], HISTORY + 1)

    # tokens[1] is the oldest of the HISTORY exchanged tokens still remembered.
    reused = await portal.refresh(tokens[1])
    assert reused.status_code == 401
    assert reused.json()["code"] == "refresh_token_reused"
    newest = await portal.refresh(tokens[-1])
    assert newest.status_code == 401
    assert newest.json()["code"] == "refresh_token_invalid"
    revoked = await portal.events("SessionsRevoked")
    assert [e["data"]["session_ids"] for e in revoked] == [[first["session_id"]]]
    assert len(await portal.events("RefreshTokenReused")) == 1
