"""Reading and changing a merchant's portal settings and preferences.

Every change is saved with its event (`PortalRenamed`, `PortalSettingsChanged`) in one
transaction; afterwards this instance forgets what it cached about the merchant, so the old
portal address answers 404 at once here and within the cache time on other instances.
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pymongo.errors import DuplicateKeyError

from portal_contracts.envelope import Actor
from portal_contracts.merchants import (
    CustomTab,
    NotificationFlags,
    PortalRename,
    PortalRenamed,
    PortalSettings,
    PortalSettingsChanged,
)
from portal_contracts.topics import MERCHANT_EVENTS
from portal_gateway.adapters.merchants import Merchants
from portal_gateway.adapters.portal_settings import PortalSettingsStore
from portal_gateway.domain.preferences import Preferences, patched
from portal_gateway.domain.settings import (
    CustomTabs,
    FieldAccess,
    FieldAccessChange,
    default_banner,
    slug_for,
    validation_problem,
)
from portal_gateway.service_layer.context import Gateway
from portal_runtime.errors import Conflict, NotFound
from portal_runtime.store import Transaction

Document = dict[str, Any]
log = logging.getLogger(__name__)


class SettingsChange(BaseModel):
    """Body of `PATCH /admin/v1/portal/settings`: each key present replaces that setting
    (field access levels: only the fields named change)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    portal_name: str = Field(default="", min_length=1, max_length=200)
    banner_message: str | None = Field(default=None, max_length=500)
    custom_tabs: tuple[CustomTab, ...] = ()
    field_access: FieldAccessChange = FieldAccessChange()


def parse_settings_change(body: Any) -> SettingsChange:
    try:
        change = SettingsChange.model_validate(body)
        CustomTabs(tabs=change.custom_tabs)
    except ValidationError as wrong:
        raise validation_problem(wrong) from wrong
    return change


def parse_preferences(body: Any, current: Preferences, *, replace: bool) -> Preferences:
    """The preferences a PUT (`replace`: every flag not named takes its default) or a PATCH
    (only the named flags change) asks for; 422 naming unknown or wrong flags."""
    if not isinstance(body, dict):
        raise validation_problem(
            ValidationError.from_exception_data(
                "Preferences", [{"type": "dict_type", "loc": (), "input": body}]
            )
        )
    try:
        return Preferences.model_validate(body) if replace else patched(current, body)
    except ValidationError as wrong:
        raise validation_problem(wrong) from wrong


async def portal_settings(gateway: Gateway, organisation_id: str) -> Document:
    """The merchant's portal settings as the admin API shows them."""
    merchant = await Merchants(gateway.store.db).by_id(organisation_id)
    if merchant is None:
        raise NotFound("there is no such merchant")
    saved = await PortalSettingsStore(gateway.store.db).get(organisation_id)
    return _settings_view(gateway, merchant, saved)


async def portal_layout(gateway: Gateway, merchant: Document) -> Document:
    """What every page of a portal shows before anyone signs in: name, banner, custom tabs."""
    organisation_id = str(merchant["_id"])
    saved = await PortalSettingsStore(gateway.store.db).get(organisation_id)
    prefs = Preferences.model_validate(saved.get("preferences") or {})
    name = saved.get("portal_name") or str(merchant["name"])
    return {
        "portal_name": name,
        "portal_slug": merchant["portal_slug"],
        "banner_message": saved.get("banner_message") or default_banner(name),
        "custom_tabs": saved.get("custom_tabs") or [],
        "sign_up_allowed": prefs.portal.self_sign_up,
    }


async def signed_in_layout(gateway: Gateway, merchant: Document) -> Document:
    """The layout plus the modules the merchant's preferences show in the sidebar."""
    layout = await portal_layout(gateway, merchant)
    saved = await PortalSettingsStore(gateway.store.db).get(str(merchant["_id"]))
    prefs = Preferences.model_validate(saved.get("preferences") or {})
    access = FieldAccess.model_validate(saved.get("field_access") or {})
    return {
        **layout,
        "modules": {
            "account_details": bool(access.visible()),
            "credit_notes": prefs.portal.credit_notes,
            "sales_orders": prefs.portal.sales_orders,
            "projects_and_timesheets": prefs.portal.projects_and_timesheets,
            "reviews": prefs.portal.reviews,
            "share_documents": prefs.portal.share_documents or prefs.portal.edit_gst_treatment,
            "add_payment_methods": prefs.portal.add_payment_methods,
        },
    }


async def field_access_of(gateway: Gateway, organisation_id: str) -> FieldAccess:
    saved = await PortalSettingsStore(gateway.store.db).get(organisation_id)
    return FieldAccess.model_validate(saved.get("field_access") or {})


async def change_settings(
    gateway: Gateway, organisation_id: str, change: SettingsChange, actor: Actor
) -> Document:
    """Apply the settings named in `change`; a new portal name moves the portal to the
    address formed from it (409 if another merchant has that address)."""
    given = change.model_fields_set
    now = gateway.store.clock.now()
    correlation_id = uuid.uuid4().hex
    moved: dict[str, str] = {}

    async def work(tx: Transaction) -> None:
        store = PortalSettingsStore(tx.db, tx.session)
        merchant = await Merchants(tx.db, tx.session).by_id(organisation_id)
        if merchant is None:
            raise NotFound("there is no such merchant")
        updates: Document = {}
        if "portal_name" in given:
            name = change.portal_name.strip()
            old_slug, new_slug = str(merchant["portal_slug"]), slug_for(name)
            if new_slug != old_slug:
                await store.move_portal(organisation_id, new_slug)
                moved.update(old=old_slug, new=new_slug)
            updates["portal_name"] = name
            await tx.emit(
                MERCHANT_EVENTS,
                PortalRenamed(
                    organisation_id=organisation_id,
                    correlation_id=correlation_id,
                    occurred_at=now,
                    actor=actor,
                    data=PortalRename(name=name, portal_slug=new_slug, previous_slug=old_slug),
                ),
            )
            merchant = {**merchant, "portal_slug": new_slug}
        if "banner_message" in given:
            updates["banner_message"] = (change.banner_message or "").strip() or None
        if "custom_tabs" in given:
            updates["custom_tabs"] = [t.model_dump(mode="json") for t in change.custom_tabs]
        if "field_access" in given:
            current = FieldAccess.model_validate(
                (await store.get(organisation_id)).get("field_access") or {}
            )
            updates["field_access"] = change.field_access.applied_to(current).model_dump(
                mode="json"
            )
        if updates:
            await store.save(organisation_id, updates)
        saved = await store.get(organisation_id)
        await _emit_settings_changed(tx, merchant, saved, actor, correlation_id, now)

    try:
        await gateway.store.transaction(work)
    except DuplicateKeyError as taken:
        raise Conflict(
            "another portal already has the address this name forms; choose another name",
            code="portal_slug_taken",
        ) from taken
    await _forget_merchant(gateway, organisation_id, moved)
    if moved:
        log.info("portal of %s moved from %s to %s", organisation_id, moved["old"], moved["new"])
    return await portal_settings(gateway, organisation_id)


async def save_preferences(
    gateway: Gateway, organisation_id: str, preferences: Preferences, actor: Actor
) -> Preferences:
    now = gateway.store.clock.now()

    async def work(tx: Transaction) -> None:
        store = PortalSettingsStore(tx.db, tx.session)
        merchant = await Merchants(tx.db, tx.session).by_id(organisation_id)
        if merchant is None:
            raise NotFound("there is no such merchant")
        await store.save(organisation_id, {"preferences": preferences.model_dump(mode="json")})
        saved = await store.get(organisation_id)
        await _emit_settings_changed(tx, merchant, saved, actor, uuid.uuid4().hex, now)

    await gateway.store.transaction(work)
    gateway.preferences.forget(organisation_id)
    return preferences


async def _emit_settings_changed(
    tx: Transaction,
    merchant: Document,
    saved: Document,
    actor: Actor,
    correlation_id: str,
    now: datetime,
) -> None:
    prefs = Preferences.model_validate(saved.get("preferences") or {})
    access = FieldAccess.model_validate(saved.get("field_access") or {})
    await tx.emit(
        MERCHANT_EVENTS,
        PortalSettingsChanged(
            organisation_id=str(merchant["_id"]),
            correlation_id=correlation_id,
            occurred_at=now,
            actor=actor,
            data=PortalSettings(
                portal_name=saved.get("portal_name") or str(merchant["name"]),
                portal_slug=str(merchant["portal_slug"]),
                banner_message=saved.get("banner_message"),
                custom_tabs=tuple(
                    CustomTab.model_validate(t) for t in saved.get("custom_tabs", [])
                ),
                field_access={f: access.level(f) for f in access.fields},
                notifications=NotificationFlags(
                    notify_me_of_activity=prefs.portal.notify_me_of_activity,
                    notify_me_by_email=prefs.portal.notify_me_by_email,
                    email_customers_on_comments=prefs.portal.email_customers_on_comments,
                ),
                preferences=prefs.model_dump(mode="json"),
            ),
        ),
    )


def _settings_view(gateway: Gateway, merchant: Document, saved: Document) -> Document:
    name = saved.get("portal_name") or str(merchant["name"])
    slug = str(merchant["portal_slug"])
    access = FieldAccess.model_validate(saved.get("field_access") or {})
    return {
        "portal_name": name,
        "portal_slug": slug,
        "portal_url": f"{gateway.settings.public_url.rstrip('/')}/portal/{slug}",
        "banner_message": saved.get("banner_message"),
        "banner_shown": saved.get("banner_message") or default_banner(name),
        "custom_tabs": saved.get("custom_tabs") or [],
        "field_access": access.model_dump(mode="json"),
    }


async def _forget_merchant(gateway: Gateway, organisation_id: str, moved: dict[str, str]) -> None:
    """Drop this instance's cached copies of the merchant, so a move is seen at once here."""
    for slug in moved.values():
        gateway.portals.forget(slug)
    merchant = await Merchants(gateway.store.db).by_id(organisation_id)
    for digest in (merchant or {}).get("api_key_digests", []):
        gateway.api_keys.forget(digest)
    gateway.preferences.forget(organisation_id)
