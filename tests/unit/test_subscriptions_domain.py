"""Rules for creating a customer (subscriptions.domain.customers)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from portal_contracts.common import Contact
from portal_contracts.customers import NewCustomer
from subscriptions.domain.customers import CustomerRefused, create_customer

pytestmark = pytest.mark.unit

NOW = datetime(2025, 3, 4, 9, 15, tzinfo=UTC)
ORG = "org_acme_fitness"


def new_customer(
    *, email: str | None = "maria.keller@example.com", enable_portal: bool = False, **changes: str
) -> NewCustomer:
    fields = {
        "customer_id": "cus_2f9c41d7",
        "display_name": "Keller Physiotherapie",
        "currency": "EUR",
        "primary_contact": Contact(
            contact_id="con_8b1e07a2", first_name="Maria", last_name="Keller", email=email
        ),
        "enable_portal": enable_portal,
        **changes,
    }
    return NewCustomer.model_validate(fields)


def test_the_first_contact_becomes_the_primary_contact() -> None:
    new = new_customer()
    assert new.primary_contact.is_primary is False

    customer = create_customer(ORG, new, NOW)

    assert customer.contacts == [new.primary_contact.model_copy(update={"is_primary": True})]
    assert customer.primary_contact.contact_id == "con_8b1e07a2"
    assert customer.snapshot().contacts[0].is_primary is True


def test_portal_access_without_an_email_address_is_refused() -> None:
    with pytest.raises(CustomerRefused) as refused:
        create_customer(ORG, new_customer(email=None, enable_portal=True), NOW)

    assert refused.value.code == "contact_without_email"
    assert "email" in refused.value.reason


def test_a_contact_without_email_is_fine_when_the_portal_stays_off() -> None:
    customer = create_customer(ORG, new_customer(email=None, enable_portal=False), NOW)

    assert customer.portal_enabled is False
    assert customer.primary_contact.email is None


def test_portal_access_with_an_email_address_is_enabled() -> None:
    customer = create_customer(ORG, new_customer(enable_portal=True), NOW)

    assert customer.portal_enabled is True


def test_the_display_name_is_trimmed() -> None:
    customer = create_customer(ORG, new_customer(display_name="  Keller Physiotherapie \n"), NOW)

    assert customer.display_name == "Keller Physiotherapie"
    assert customer.snapshot().display_name == "Keller Physiotherapie"


def test_a_new_customer_belongs_to_the_organisation_and_starts_at_version_one() -> None:
    customer = create_customer(ORG, new_customer(), NOW)

    assert customer.organisation_id == ORG
    assert customer.created_at == NOW
    assert customer.version == 1
    assert customer.currency == "EUR"
