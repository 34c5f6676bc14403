"""The merchant's portal settings and preferences (admin API, X-API-Key)."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, get, patch, put
from litestar.openapi.spec import Example
from litestar.params import Body

from portal_contracts.envelope import Actor
from portal_gateway.api.merchant_auth import ADMIN_DEPENDENCIES, Merchant, merchant_guard
from portal_gateway.domain.preferences import Preferences
from portal_gateway.service_layer.context import Gateway
from portal_gateway.service_layer.preferences import preferences_of
from portal_gateway.service_layer.settings import (
    change_settings,
    parse_preferences,
    parse_settings_change,
    portal_settings,
    save_preferences,
)

SettingsBody = Annotated[
    dict[str, Any],
    Body(
        description="Any of portal_name, banner_message, custom_tabs, field_access.",
        examples=[
            Example(
                summary="Rename the portal, set a banner, a tab and two field access levels",
                value={
                    "portal_name": "Harbour Yoga",
                    "banner_message": "The studio is closed on Monday.",
                    "custom_tabs": [{"name": "Schedule", "url": "https://example.com/schedule"}],
                    "field_access": {"fields": {"phone": "hidden", "tax_id": "read_only"}},
                },
            )
        ],
    ),
]
PreferencesBody = Annotated[
    dict[str, Any],
    Body(
        description="Preferences by section (see GET for every section and flag).",
        examples=[
            Example(
                summary="Let customers cancel at the end of the term",
                value={"cancellations": {"cancel": True, "cancel_when": "end_of_term"}},
            )
        ],
    ),
]


def controller(gateway: Gateway) -> type[Controller]:
    class PortalSettingsController(Controller):
        path = "/admin/v1/portal"
        tags = ["admin: portal settings"]
        guards = [merchant_guard(gateway)]
        dependencies = ADMIN_DEPENDENCIES
        security = [{"ApiKey": []}]

        @get("/settings")
        async def settings(self, merchant: Merchant) -> dict[str, Any]:
            """Portal name and address, banner, custom tabs and customer field access."""
            return await portal_settings(gateway, str(merchant["_id"]))

        @patch("/settings")
        async def change(self, data: SettingsBody, merchant: Merchant) -> dict[str, Any]:
            """Change any of `portal_name` (moves the portal to the address formed from it),
            `banner_message` (empty or null: the default banner), `custom_tabs` (name and
            https URL; the list replaces the tabs), `field_access` (`fields`: the fields to
            change, each optional / mandatory / read_only / hidden; `disabled`: hide every
            field)."""
            change = parse_settings_change(data)
            return await change_settings(gateway, str(merchant["_id"]), change, _actor(merchant))

        @get("/preferences")
        async def preferences(self, merchant: Merchant) -> dict[str, Any]:
            """Every preference by section, with its default where the merchant set none."""
            return (await preferences_of(gateway, str(merchant["_id"]))).model_dump(mode="json")

        @put("/preferences")
        async def replace_preferences(
            self, data: PreferencesBody, merchant: Merchant
        ) -> dict[str, Any]:
            """Replace every preference; a flag left out takes its default."""
            wanted = parse_preferences(data, await _current(merchant), replace=True)
            return await _save(merchant, wanted)

        @patch("/preferences")
        async def change_preferences(
            self, data: PreferencesBody, merchant: Merchant
        ) -> dict[str, Any]:
            """Change the named flags only: `{"cancellations": {"cancel": true}}`."""
            wanted = parse_preferences(data, await _current(merchant), replace=False)
            return await _save(merchant, wanted)

    async def _current(merchant: Merchant) -> Preferences:
        gateway.preferences.forget(str(merchant["_id"]))
        return await preferences_of(gateway, str(merchant["_id"]))

    async def _save(merchant: Merchant, wanted: Preferences) -> dict[str, Any]:
        saved = await save_preferences(gateway, str(merchant["_id"]), wanted, _actor(merchant))
        return saved.model_dump(mode="json")

    return PortalSettingsController


def _actor(merchant: Merchant) -> Actor:
    return Actor(kind="merchant", id=str(merchant["_id"]))
