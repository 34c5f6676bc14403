"""Registering a merchant: its portal address and its first admin API key."""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass

from pymongo.errors import DuplicateKeyError

from portal_contracts.envelope import Actor
from portal_contracts.merchants import MerchantProfile, MerchantRegistered
from portal_contracts.topics import MERCHANT_EVENTS
from portal_gateway.adapters.merchants import Merchants
from portal_gateway.service_layer.context import Gateway
from portal_runtime.errors import Conflict, Unauthorised
from portal_runtime.sealing import token_digest
from portal_runtime.store import Transaction


@dataclass(frozen=True)
class RegisteredMerchant:
    organisation_id: str
    api_key: str
    portal_url: str


async def register_merchant(gateway: Gateway, profile: MerchantProfile) -> RegisteredMerchant:
    organisation_id = f"org_{uuid.uuid4().hex[:16]}"
    api_key = f"pk_{secrets.token_urlsafe(32)}"
    now = gateway.store.clock.now()

    async def work(tx: Transaction) -> None:
        await Merchants(tx.db, tx.session).add(
            {
                "_id": organisation_id,
                "organisation_id": organisation_id,
                **profile.model_dump(mode="json"),
                "api_key_digests": [token_digest(api_key)],
                "created_at": now,
            }
        )
        await tx.emit(
            MERCHANT_EVENTS,
            MerchantRegistered(
                organisation_id=organisation_id,
                correlation_id=uuid.uuid4().hex,
                occurred_at=now,
                actor=Actor(kind="operator", id="operator"),
                data=profile,
            ),
        )

    try:
        await gateway.store.transaction(work)
    except DuplicateKeyError as taken:
        raise Conflict(
            f"the portal address '{profile.portal_slug}' is taken", code="portal_slug_taken"
        ) from taken
    return RegisteredMerchant(
        organisation_id=organisation_id,
        api_key=api_key,
        portal_url=f"{gateway.settings.public_url.rstrip('/')}/portal/{profile.portal_slug}",
    )


async def merchant_for_api_key(gateway: Gateway, api_key: str | None) -> dict[str, object]:
    if not api_key:
        raise Unauthorised("send your API key in the X-API-Key header", code="api_key_missing")
    digest = token_digest(api_key)
    cached, merchant = gateway.api_keys.get(digest)
    if not cached:
        merchant = await Merchants(gateway.store.db).by_api_key(digest)
        gateway.api_keys.put(digest, merchant)
    if merchant is None:
        raise Unauthorised("the API key is not valid", code="api_key_invalid")
    return merchant


async def merchant_for_portal(gateway: Gateway, portal_slug: str) -> dict[str, object] | None:
    cached, merchant = gateway.portals.get(portal_slug)
    if not cached:
        merchant = await Merchants(gateway.store.db).by_slug(portal_slug)
        gateway.portals.put(portal_slug, merchant)
    return merchant
