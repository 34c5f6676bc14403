"""Shaping read-model documents into the views the portal and the admin API return."""

from __future__ import annotations

from typing import Any

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


def home_view(customer: Document, merchant: Document, contact_id: str) -> Document:
    """The portal home of one contact: who they are, who they buy from, what they owe."""
    contact = next((c for c in customer.get("contacts", []) if c["contact_id"] == contact_id), None)
    return {
        "merchant": {"name": merchant["name"], "contact_email": merchant.get("contact_email")},
        "customer": {
            "customer_id": customer["customer_id"],
            "display_name": customer.get("display_name"),
            "company_name": customer.get("company_name"),
        },
        "contact": {
            "contact_id": contact_id,
            "name": _full_name(contact) if contact else None,
            "email": contact.get("email") if contact else None,
        },
        "outstanding": customer.get("outstanding"),
        "unused_credits": customer.get("unused_credits"),
    }


def _full_name(contact: Document) -> str:
    return f"{contact.get('first_name', '')} {contact.get('last_name', '')}".strip()
