"""The gateway's revocation list on the real database: what a projected `SessionsRevoked`
makes the portal guard refuse, and the merchant's view of a contact's access status."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from portal_contracts.identity import Revocation, SessionsRevoked
from portal_gateway.adapters import revocations
from portal_gateway.adapters.revocations import RevocationList
from portal_gateway.service_layer.portal_access import access_status

pytestmark = pytest.mark.component
NOW = datetime.now(UTC).replace(microsecond=0)


@pytest.fixture
async def db(mongo_uri: str, database_name: str) -> AsyncIterator[AsyncDatabase[dict[str, Any]]]:
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongo_uri)
    await revocations.ensure_indexes(client[database_name])
    yield client[database_name]
    await client.close()


def revoked(
    org: str = "org_a",
    customer_id: str = "cus_1",
    contact_ids: tuple[str, ...] = (),
    session_ids: tuple[str, ...] = (),
) -> SessionsRevoked:
    return SessionsRevoked(
        organisation_id=org,
        correlation_id="c",
        occurred_at=NOW,
        data=Revocation(
            customer_id=customer_id,
            contact_ids=contact_ids,
            session_ids=session_ids,
            revoked_before=NOW,
            reason="access_disabled",
        ),
    )


async def test_tokens_issued_before_a_contact_revocation_are_refused(
    db: AsyncDatabase[dict[str, Any]],
) -> None:
    listing = RevocationList(db)
    before, after = NOW - timedelta(minutes=5), NOW + timedelta(seconds=1)
    assert not await listing.is_revoked("org_a", "cus_1", "ct_1", "s1", before)

    await revocations.record(db, None, revoked(contact_ids=("ct_1",)))

    assert await listing.is_revoked("org_a", "cus_1", "ct_1", "s1", before)
    assert not await listing.is_revoked("org_a", "cus_1", "ct_1", "s2", after)
    assert not await listing.is_revoked("org_a", "cus_1", "ct_2", "s3", before)
    assert not await listing.is_revoked("org_b", "cus_1", "ct_1", "s1", before)
    # Another gateway instance, starting later, loads the same revocation.
    assert await RevocationList(db).is_revoked("org_a", "cus_1", "ct_1", "s1", before)


async def test_whole_customer_and_single_session_revocations(
    db: AsyncDatabase[dict[str, Any]],
) -> None:
    listing = RevocationList(db)
    before = NOW - timedelta(minutes=1)
    await revocations.record(db, None, revoked(customer_id="cus_all"))
    await revocations.record(db, None, revoked(customer_id="cus_one", session_ids=("s9",)))

    assert await listing.is_revoked("org_a", "cus_all", "anyone", "s1", before)
    assert await listing.is_revoked("org_a", "cus_one", "ct_1", "s9", NOW + timedelta(hours=1))
    assert not await listing.is_revoked("org_a", "cus_one", "ct_1", "s8", before)


def test_the_merchant_sees_an_unused_invitation_as_expired_once_its_time_is_up() -> None:
    entry = {"status": "invited", "expires_at": (NOW + timedelta(days=7)).isoformat()}
    assert access_status(entry, NOW)["status"] == "invited"
    assert access_status(entry, NOW + timedelta(days=7))["status"] == "expired"
    assert access_status({"status": "accepted"}, NOW + timedelta(days=30))["status"] == "accepted"
    assert access_status(None, NOW) == {"status": "not_invited"}
