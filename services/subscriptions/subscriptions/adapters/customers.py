"""Customers in MongoDB; every query is scoped to the organisation."""

from __future__ import annotations

from typing import Any

from pymongo import ASCENDING
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase

from portal_contracts.common import Contact
from portal_contracts.customers import Address
from portal_runtime.errors import RetryableFailure
from subscriptions.domain.customers import Customer

Document = dict[str, Any]


class CustomerRepository:
    def __init__(self, db: AsyncDatabase[Document], session: AsyncClientSession | None = None):
        self.collection = db["customers"]
        self.session = session

    @staticmethod
    async def ensure_indexes(db: AsyncDatabase[Document]) -> None:
        await db["customers"].create_index(
            [("organisation_id", ASCENDING), ("customer_id", ASCENDING)], unique=True
        )

    async def get(self, organisation_id: str, customer_id: str) -> Customer | None:
        doc = await self.collection.find_one(
            {"organisation_id": organisation_id, "customer_id": customer_id},
            session=self.session,
        )
        return _from_document(doc) if doc else None

    async def add(self, customer: Customer) -> None:
        await self.collection.insert_one(_to_document(customer), session=self.session)

    async def save(self, customer: Customer) -> None:
        """Write a changed customer; the version check refuses a concurrent writer."""
        expected = customer.version
        customer.version += 1
        result = await self.collection.replace_one(
            {
                "organisation_id": customer.organisation_id,
                "customer_id": customer.customer_id,
                "version": expected,
            },
            _to_document(customer),
            session=self.session,
        )
        if result.matched_count != 1:
            customer.version = expected
            raise ConcurrentChange(customer.customer_id)


class ConcurrentChange(RetryableFailure):
    """Another transaction changed the customer first; handling the message again retries."""


def _to_document(customer: Customer) -> Document:
    return {
        "organisation_id": customer.organisation_id,
        "customer_id": customer.customer_id,
        "display_name": customer.display_name,
        "company_name": customer.company_name,
        "currency": customer.currency,
        "portal_language": customer.portal_language,
        "contacts": [c.model_dump(mode="json") for c in customer.contacts],
        "portal_enabled": customer.portal_enabled,
        "created_at": customer.created_at,
        "version": customer.version,
        "custom_fields": customer.custom_fields,
        "phone": customer.phone,
        "website": customer.website,
        "billing_address": _address_document(customer.billing_address),
        "shipping_address": _address_document(customer.shipping_address),
        "gst_treatment": customer.gst_treatment,
        "tax_id": customer.tax_id,
    }


def _address_document(address: Address | None) -> Document | None:
    return address.model_dump(mode="json") if address else None


def _address(doc: Document | None) -> Address | None:
    return Address.model_validate(doc) if doc else None


def _from_document(doc: Document) -> Customer:
    return Customer(
        organisation_id=doc["organisation_id"],
        customer_id=doc["customer_id"],
        display_name=doc["display_name"],
        company_name=doc.get("company_name"),
        currency=doc["currency"],
        portal_language=doc.get("portal_language", "en"),
        contacts=[Contact.model_validate(c) for c in doc["contacts"]],
        portal_enabled=doc["portal_enabled"],
        created_at=doc["created_at"],
        version=doc.get("version", 1),
        custom_fields=doc.get("custom_fields", {}),
        phone=doc.get("phone"),
        website=doc.get("website"),
        billing_address=_address(doc.get("billing_address")),
        shipping_address=_address(doc.get("shipping_address")),
        gst_treatment=doc.get("gst_treatment"),
        tax_id=doc.get("tax_id"),
    )
