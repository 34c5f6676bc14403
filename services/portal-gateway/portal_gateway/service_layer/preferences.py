"""Reading a merchant's portal preferences (saved ones, or the defaults)."""

from __future__ import annotations

from portal_gateway.domain.preferences import Preferences
from portal_gateway.service_layer.context import Gateway

COLLECTION = "portal_settings"


async def preferences_of(gateway: Gateway, organisation_id: str) -> Preferences:
    """The merchant's preferences; cached for a few seconds per gateway instance (a change made
    through this instance is seen at once, other instances see it within the cache time)."""
    found, cached = gateway.preferences.get(organisation_id)
    if not found:
        cached = await gateway.store.db[COLLECTION].find_one(
            {"_id": organisation_id}, {"preferences": 1}
        )
        gateway.preferences.put(organisation_id, cached)
    saved = (cached or {}).get("preferences") or {}
    return Preferences.model_validate(saved)
