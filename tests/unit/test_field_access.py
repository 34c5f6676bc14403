"""Which changes of their own details a customer may make from the portal, and what the
portal shows them (portal_gateway.domain.settings); portal names and addresses; preferences."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from portal_gateway.domain.preferences import Preferences, patched
from portal_gateway.domain.settings import (
    CustomTabs,
    FieldAccess,
    FieldAccessChange,
    InvalidSettings,
    account_view,
    check_portal_change,
    details_update,
    slug_for,
)
from portal_runtime.errors import Forbidden

pytestmark = pytest.mark.unit

CUSTOMER: dict[str, Any] = {
    "customer_id": "cus_1",
    "display_name": "Keller Physiotherapie",
    "company_name": "Keller GmbH",
    "phone": "+49 30 1234567",
    "tax_id": "DE123456789",
    "gst_treatment": "business_gst",
    "custom_fields": {"member_number": "A-1042"},
    "contacts": [
        {"contact_id": "ct_1", "first_name": "Maria", "last_name": "Keller", "is_primary": True}
    ],
}


def access(**levels: str) -> FieldAccess:
    return FieldAccess.model_validate({"fields": levels})


def test_hidden_fields_are_left_out_of_the_view() -> None:
    view = account_view(CUSTOMER, access(phone="hidden", tax_id="hidden"), gst_editable=True)

    assert "phone" not in view["details"]
    assert "tax_id" not in view["details"]
    assert "phone" not in view["access"]
    assert view["details"]["company_name"] == "Keller GmbH"


def test_disabling_field_access_hides_every_field() -> None:
    everything_hidden = FieldAccess(disabled=True)

    view = account_view(CUSTOMER, everything_hidden, gst_editable=True)

    assert view["details"] == {}
    with pytest.raises(Forbidden, match="display_name"):
        check_portal_change(everything_hidden, {"display_name": "New"}, gst_editable=True)


def test_a_field_access_change_keeps_the_levels_it_does_not_name() -> None:
    current = access(phone="hidden", tax_id="read_only")

    disabled = FieldAccessChange(disabled=True).applied_to(current)
    enabled = FieldAccessChange(fields={"tax_id": "mandatory"}, disabled=False).applied_to(disabled)

    assert disabled.level("company_name") == "hidden"
    assert enabled.level("phone") == "hidden"
    assert enabled.level("tax_id") == "mandatory"
    assert enabled.level("company_name") == "optional"


@pytest.mark.parametrize("level", ["hidden", "read_only"])
def test_hidden_and_read_only_fields_cannot_be_written(level: str) -> None:
    with pytest.raises(Forbidden) as refused:
        check_portal_change(access(phone=level), {"phone": "+1 555"}, gst_editable=True)

    assert refused.value.code == "field_not_editable"
    assert "phone" in refused.value.detail


@pytest.mark.parametrize("empty", [None, "", "   ", {}])
def test_a_mandatory_field_cannot_be_emptied(empty: object) -> None:
    with pytest.raises(InvalidSettings) as refused:
        check_portal_change(
            access(company_name="mandatory"), {"company_name": empty}, gst_editable=True
        )

    assert refused.value.status == 422
    assert "company_name" in refused.value.detail


def test_mandatory_and_optional_fields_can_be_changed() -> None:
    check_portal_change(
        access(company_name="mandatory", phone="optional"),
        {"company_name": "Keller AG", "phone": None},
        gst_editable=True,
    )


def test_gst_treatment_is_editable_only_with_the_preference() -> None:
    with pytest.raises(Forbidden) as refused:
        check_portal_change(access(), {"gst_treatment": "consumer"}, gst_editable=False)
    assert refused.value.code == "not_enabled"

    check_portal_change(access(), {"gst_treatment": "consumer"}, gst_editable=True)
    view = account_view(CUSTOMER, access(), gst_editable=False)
    assert view["access"]["gst_treatment"] == "read_only"


def test_unknown_fields_are_refused() -> None:
    with pytest.raises(InvalidSettings, match="favourite_colour"):
        check_portal_change(access(), {"favourite_colour": "blue"}, gst_editable=True)
    with pytest.raises(InvalidSettings, match="favourite_colour"):
        details_update("cus_1", {"favourite_colour": "blue"})


def test_a_patch_body_becomes_changes_and_fields_to_clear() -> None:
    update = details_update(
        "cus_1",
        {
            "phone": "",
            "billing_address": {"street": "Hauptstr. 1", "city": "Berlin", "country": "DE"},
            "custom_fields": {"member_number": None},
        },
    )

    assert update.clear == ("phone",)
    assert update.changes.billing_address is not None
    assert update.changes.billing_address.city == "Berlin"
    assert update.changes.custom_fields == {"member_number": None}


def test_a_wrong_value_is_a_422_naming_the_field() -> None:
    with pytest.raises(InvalidSettings) as wrong:
        details_update("cus_1", {"billing_address": {"city": "Berlin", "country": "Germany"}})

    assert "billing_address.country" in wrong.value.detail


@pytest.mark.parametrize(
    ("name", "slug"),
    [
        ("Acme Fitness", "acme-fitness"),
        ("  Müller & Söhne GmbH ", "muller-sohne-gmbh"),
        ("ACME---2025!!", "acme-2025"),
    ],
)
def test_a_portal_name_forms_its_address(name: str, slug: str) -> None:
    assert slug_for(name) == slug


def test_a_name_without_letters_or_digits_forms_no_address() -> None:
    with pytest.raises(InvalidSettings):
        slug_for("!!! ???")


def test_custom_tabs_need_https_urls_and_distinct_names() -> None:
    CustomTabs.model_validate({"tabs": [{"name": "Catalogue", "url": "https://shop.example"}]})
    with pytest.raises(ValidationError, match="url"):
        CustomTabs.model_validate({"tabs": [{"name": "Shop", "url": "http://shop.example"}]})
    with pytest.raises(ValidationError, match="url"):
        CustomTabs.model_validate({"tabs": [{"name": "X", "url": "javascript:alert(1)"}]})
    with pytest.raises(ValidationError, match="same name"):
        CustomTabs.model_validate(
            {
                "tabs": [
                    {"name": "Shop", "url": "https://a.example"},
                    {"name": "shop", "url": "https://b.example"},
                ]
            }
        )


def test_a_preferences_patch_changes_only_the_named_flags() -> None:
    before = Preferences()

    after = patched(before, {"cancellations": {"cancel": True}, "portal": {"reviews": True}})

    assert after.cancellations.cancel is True
    assert after.portal.reviews is True
    assert after.cancellations.cancel_when == before.cancellations.cancel_when
    assert after.portal.add_payment_methods == before.portal.add_payment_methods


@pytest.mark.parametrize(
    "patch",
    [
        {"cancellations": {"cancle": True}},
        {"not_a_section": {}},
        {"trials": {"max_trial_extensions": 99}},
        {"cancellations": {"cancel_when": "sometimes"}},
    ],
)
def test_unknown_or_wrong_preferences_are_refused(patch: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        patched(Preferences(), patch)
