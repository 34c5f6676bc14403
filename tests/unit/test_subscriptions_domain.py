"""Rules for customers: creating one, changing its details and contact persons
(subscriptions.domain.customers)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from portal_contracts.common import Contact
from portal_contracts.customers import (
    ContactPerson,
    ContactPersonChange,
    DetailsUpdate,
    NewCustomer,
)
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


def update(clear: tuple[str, ...] = (), **changes: object) -> DetailsUpdate:
    return DetailsUpdate.model_validate(
        {"customer_id": "cus_2f9c41d7", "changes": changes, "clear": clear}
    )


def test_changing_details_reports_only_the_fields_that_changed() -> None:
    customer = create_customer(ORG, new_customer(), NOW)

    changed = customer.update_details(
        update(
            display_name="Keller Physiotherapie",
            phone="+49 30 1234567",
            billing_address={"street": "Hauptstr. 1", "city": "Berlin", "country": "DE"},
        )
    )

    assert changed == ("phone", "billing_address")
    assert customer.details().billing_address is not None
    assert customer.details().billing_address.city == "Berlin"
    assert customer.phone == "+49 30 1234567"


def test_cleared_fields_are_emptied_and_custom_fields_merge() -> None:
    customer = create_customer(ORG, new_customer(), NOW)
    customer.update_details(
        update(phone="+49 30 1", custom_fields={"member_number": "A-1", "level": "gold"})
    )

    changed = customer.update_details(
        update(clear=("phone",), custom_fields={"level": None, "region": "north"})
    )

    assert set(changed) == {"phone", "custom_fields"}
    assert customer.phone is None
    assert customer.custom_fields == {"member_number": "A-1", "region": "north"}


def test_the_display_name_cannot_be_cleared() -> None:
    customer = create_customer(ORG, new_customer(), NOW)

    with pytest.raises(CustomerRefused) as refused:
        customer.update_details(update(clear=("display_name",)))

    assert refused.value.kind == "invalid"
    assert customer.display_name == "Keller Physiotherapie"


def test_a_registered_gst_treatment_needs_a_tax_id() -> None:
    customer = create_customer(ORG, new_customer(), NOW)

    with pytest.raises(CustomerRefused) as refused:
        customer.update_details(update(gst_treatment="business_gst"))
    assert refused.value.code == "tax_id_required"
    assert customer.gst_treatment is None

    customer.update_details(update(gst_treatment="business_gst", tax_id="29ABCDE1234F1Z5"))
    assert customer.gst_treatment == "business_gst"
    customer.update_details(update(gst_treatment="consumer"))
    assert customer.gst_treatment == "consumer"


def test_contact_persons_are_added_changed_and_removed() -> None:
    customer = create_customer(ORG, new_customer(), NOW)

    added = customer.add_contact(
        ContactPerson(first_name="Jonas", last_name="Weber", email="jonas@example.com"), "ct_2"
    )
    assert added.is_primary is False
    assert [c.contact_id for c in customer.contacts] == ["con_8b1e07a2", "ct_2"]

    promoted = customer.update_contact(
        ContactPersonChange(customer_id="cus_2f9c41d7", contact_id="ct_2", make_primary=True)
    )
    assert promoted.is_primary is True
    assert customer.primary_contact.contact_id == "ct_2"
    assert sum(c.is_primary for c in customer.contacts) == 1

    removed = customer.remove_contact("con_8b1e07a2")
    assert removed.first_name == "Maria"
    assert [c.contact_id for c in customer.contacts] == ["ct_2"]


def test_two_contacts_of_a_customer_cannot_share_an_email() -> None:
    customer = create_customer(ORG, new_customer(), NOW)

    with pytest.raises(CustomerRefused) as refused:
        customer.add_contact(
            ContactPerson(first_name="M", email="MARIA.KELLER@example.com"), "ct_2"
        )

    assert refused.value.code == "contact_email_taken"
    assert len(customer.contacts) == 1


def test_the_primary_contact_cannot_be_removed() -> None:
    customer = create_customer(ORG, new_customer(), NOW)

    with pytest.raises(CustomerRefused) as refused:
        customer.remove_contact("con_8b1e07a2")

    assert refused.value.code == "primary_contact"
    assert len(customer.contacts) == 1


def test_an_unknown_contact_is_not_found() -> None:
    customer = create_customer(ORG, new_customer(), NOW)

    with pytest.raises(CustomerRefused) as refused:
        customer.update_contact(
            ContactPersonChange(customer_id="cus_2f9c41d7", contact_id="ct_nope", last_name="X")
        )

    assert refused.value.kind == "not_found"
