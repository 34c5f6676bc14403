"""Shaping read-model documents into the views the portal and the admin API return."""

from __future__ import annotations

from typing import Any

from portal_gateway.domain.preferences import Preferences
from portal_gateway.domain.settings import FieldAccess, account_view, default_banner

Document = dict[str, Any]


def customer_view(doc: Document) -> Document:
    """The merchant's view of a customer, with each contact's portal access status."""
    access = doc.get("portal_access", {})
    return {
        "customer_id": doc["customer_id"],
        "display_name": doc.get("display_name"),
        "company_name": doc.get("company_name"),
        "currency": doc.get("currency"),
        "portal_enabled": doc.get("portal_enabled", False),
        "contacts": [
            {
                **contact,
                "portal_access": access.get(contact["contact_id"], {"status": "not_invited"}),
            }
            for contact in doc.get("contacts", [])
        ],
        "outstanding": doc.get("outstanding"),
        "unused_credits": doc.get("unused_credits"),
    }


def home_view(
    customer: Document, merchant: Document, contact_id: str, saved_settings: Document
) -> Document:
    """The portal home (dashboard) of one contact: the portal's banner and tabs, who they are,
    who they buy from and how to reach them, what they owe and what waits for them. Customer
    fields the merchant hid are left out here as on the account page."""
    access = FieldAccess.model_validate(saved_settings.get("field_access") or {})
    prefs = Preferences.model_validate(saved_settings.get("preferences") or {})
    portal_name = saved_settings.get("portal_name") or merchant["name"]
    contact = next((c for c in customer.get("contacts", []) if c["contact_id"] == contact_id), None)
    account = account_view(customer, access, gst_editable=prefs.portal.edit_gst_treatment)
    dashboard = customer.get("dashboard") or {}
    home: Document = {
        "portal": {
            "name": portal_name,
            "banner_message": saved_settings.get("banner_message") or default_banner(portal_name),
            "custom_tabs": saved_settings.get("custom_tabs") or [],
        },
        "merchant": {"name": merchant["name"], "contact_email": merchant.get("contact_email")},
        "customer": {"customer_id": customer["customer_id"], **account["details"]},
        "contact": {
            "contact_id": contact_id,
            "name": _full_name(contact) if contact else None,
            "email": contact.get("email") if contact else None,
        },
        "contact_persons": account["contacts"],
        "outstanding": customer.get("outstanding"),
        "unused_credits": customer.get("unused_credits"),
        "open_invoices": dashboard.get("open_invoices")
        or {"count": 0, "owed": [], "soonest_due": []},
        "last_payment": dashboard.get("last_payment"),
        "quotes_awaiting": dashboard.get("quotes_awaiting", 0),
    }
    if prefs.portal.projects_and_timesheets:
        home["timesheets_awaiting"] = dashboard.get("timesheets_awaiting", 0)
    return home


def _full_name(contact: Document) -> str:
    return f"{contact.get('first_name', '')} {contact.get('last_name', '')}".strip()
