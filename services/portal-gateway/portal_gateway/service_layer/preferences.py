"""Reading a merchant's portal settings and preferences (saved ones, or the defaults)."""

from __future__ import annotations

from typing import Any

from portal_gateway.domain.preferences import Preferences
from portal_gateway.service_layer.context import Gateway

COLLECTION = "portal_settings"


async def settings_of(gateway: Gateway, organisation_id: str) -> dict[str, Any]:
    """The merchant's saved portal settings document (preferences, field access, banner, tabs);
    cached for a few seconds per gateway instance. A change made through this instance is seen
    at once (the settings service forgets the entry), other instances see it within the cache
    time."""
    found, cached = gateway.preferences.get(organisation_id)
    if not found:
        cached = await gateway.store.db[COLLECTION].find_one({"_id": organisation_id})
        gateway.preferences.put(organisation_id, cached)
    return cached or {}


async def preferences_of(gateway: Gateway, organisation_id: str) -> Preferences:
    saved = (await settings_of(gateway, organisation_id)).get("preferences") or {}
    return Preferences.model_validate(saved)
