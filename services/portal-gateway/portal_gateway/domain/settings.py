"""A merchant's portal settings: name and address, banner, custom tabs, and how much of their
own details customers may see and change (field access levels).

Pure rules: which slug a name gives, what a valid tab is, and which change of details a
customer may make from the portal under the merchant's access levels.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any, get_args

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from portal_contracts.customers import DetailField, DetailsChange, DetailsUpdate
from portal_contracts.merchants import CustomTab, FieldAccessLevel
from portal_runtime.errors import Forbidden, ServiceError

MAX_CUSTOM_TABS = 10
CUSTOMER_FIELDS: tuple[DetailField, ...] = get_args(DetailField)
FIELD_ACCESS_LEVELS: tuple[FieldAccessLevel, ...] = get_args(FieldAccessLevel)
DEFAULT_FIELD_ACCESS: dict[DetailField, FieldAccessLevel] = {
    "display_name": "mandatory",
    "company_name": "optional",
    "phone": "optional",
    "website": "optional",
    "billing_address": "optional",
    "shipping_address": "optional",
    "gst_treatment": "optional",
    "tax_id": "optional",
    "custom_fields": "read_only",
}


class InvalidSettings(ServiceError):
    """A setting or a change of details that breaks a rule (422, naming what is wrong)."""

    status = 422
    code = "invalid"


def default_banner(portal_name: str) -> str:
    """Shown when the merchant leaves the banner message empty."""
    return f"Welcome to the {portal_name} portal. Here you can see and pay your bills."


def slug_for(portal_name: str) -> str:
    """The portal address a name gives: ASCII letters and digits, words joined by dashes."""
    ascii_name = (
        unicodedata.normalize("NFKD", portal_name).encode("ascii", "ignore").decode().lower()
    )
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_name).strip("-")[:63].strip("-")
    if not slug:
        raise InvalidSettings(
            "the portal name needs at least one letter or digit to form the portal address",
            code="portal_name_unusable",
        )
    return slug


class FieldAccess(BaseModel):
    """Per customer field, what customers may do with it in the portal; `disabled` hides
    every field at once (the account page shows no details)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    fields: dict[DetailField, FieldAccessLevel] = Field(
        default_factory=lambda: dict(DEFAULT_FIELD_ACCESS)
    )
    disabled: bool = False

    @field_validator("fields")
    @classmethod
    def _complete(
        cls, fields: dict[DetailField, FieldAccessLevel]
    ) -> dict[DetailField, FieldAccessLevel]:
        return {**DEFAULT_FIELD_ACCESS, **fields}

    def level(self, field: DetailField) -> FieldAccessLevel:
        return "hidden" if self.disabled else self.fields[field]

    def visible(self) -> tuple[DetailField, ...]:
        return tuple(f for f in CUSTOMER_FIELDS if self.level(f) != "hidden")


class FieldAccessChange(BaseModel):
    """Levels to change (others stay as they are) and, if given, the "disable all" switch."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    fields: dict[DetailField, FieldAccessLevel] = Field(default_factory=dict)
    disabled: bool | None = None

    def applied_to(self, current: FieldAccess) -> FieldAccess:
        return FieldAccess(
            fields={**current.fields, **self.fields},
            disabled=current.disabled if self.disabled is None else self.disabled,
        )


class CustomTabs(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    tabs: tuple[CustomTab, ...] = Field(default=(), max_length=MAX_CUSTOM_TABS)

    @field_validator("tabs")
    @classmethod
    def _distinct_names(cls, tabs: tuple[CustomTab, ...]) -> tuple[CustomTab, ...]:
        names = [t.name.strip().lower() for t in tabs]
        if len(set(names)) != len(names):
            raise ValueError("two custom tabs have the same name")
        for tab in tabs:
            if not re.match(r"^https://[^/\s?#]+\.[^/\s?#]+", tab.url) or any(
                c.isspace() for c in tab.url
            ):
                raise ValueError(f"the URL of tab '{tab.name}' must be an https:// web address")
        return tabs


def validation_problem(error: ValidationError, prefix: str = "") -> InvalidSettings:
    """A pydantic error as a 422 naming each wrong field."""
    problems = [
        {
            "field": ".".join(str(part) for part in (prefix, *e["loc"]) if part != ""),
            "message": e["msg"],
        }
        for e in error.errors(include_url=False, include_context=False, include_input=False)
    ]
    detail = "; ".join(f"{p['field'] or 'body'}: {p['message']}" for p in problems)
    return InvalidSettings(detail, code="invalid_settings")


def check_portal_change(
    access: FieldAccess,
    values: dict[str, Any],
    *,
    gst_editable: bool,
) -> None:
    """May a customer make this change of their details from the portal? `values` maps each
    field to its new value (None or "" empties it). Raises 403 naming a field the customer may
    not write, 422 naming a mandatory field they try to empty."""
    for name, value in values.items():
        if name not in CUSTOMER_FIELDS:
            raise InvalidSettings(f"'{name}' is not a customer field", code="unknown_field")
        field: DetailField = name
        level = access.level(field)
        if level in ("hidden", "read_only"):
            raise Forbidden(
                f"you cannot change '{field}' from the portal", code="field_not_editable"
            )
        if field == "gst_treatment" and not gst_editable:
            raise Forbidden(
                "changing the GST treatment is not enabled for this portal",
                code="not_enabled",
            )
        if level == "mandatory" and is_empty(value):
            raise InvalidSettings(f"'{field}' is required and cannot be empty", code="required")


def is_empty(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, str | dict | list | tuple):
        return len(value.strip() if isinstance(value, str) else value) == 0
    return False


def details_update(customer_id: str, values: Any) -> DetailsUpdate:
    """A PATCH body (field -> new value; null or empty clears it) as an `UpdateCustomerDetails`
    payload; 422 naming a wrong or unknown field."""
    if not isinstance(values, dict):
        raise InvalidSettings("send an object of field names and values", code="invalid_body")
    unknown = sorted(set(values) - set(CUSTOMER_FIELDS))
    if unknown:
        raise InvalidSettings(
            f"not customer fields: {', '.join(unknown)}; known: {', '.join(CUSTOMER_FIELDS)}",
            code="unknown_field",
        )
    clear = tuple(f for f in CUSTOMER_FIELDS if f in values and is_empty(values[f]))
    changes = {f: v for f, v in values.items() if f not in clear}
    try:
        return DetailsUpdate(
            customer_id=customer_id, changes=DetailsChange.model_validate(changes), clear=clear
        )
    except ValidationError as wrong:
        raise validation_problem(wrong) from wrong


def account_view(customer: dict[str, Any], access: FieldAccess, *, gst_editable: bool) -> Any:
    """The customer's details as the portal shows them: hidden fields are left out entirely."""
    visible = access.visible()
    return {
        "customer_id": customer["customer_id"],
        "details": {f: customer.get(f, {} if f == "custom_fields" else None) for f in visible},
        "access": {
            f: (
                "read_only"
                if f == "gst_treatment" and not gst_editable and access.level(f) != "hidden"
                else access.level(f)
            )
            for f in visible
        },
        "contacts": [
            {
                "contact_id": c["contact_id"],
                "first_name": c.get("first_name"),
                "last_name": c.get("last_name", ""),
                "email": c.get("email"),
                "is_primary": c.get("is_primary", False),
            }
            for c in customer.get("contacts", [])
        ],
    }


def merchant_details_view(customer: dict[str, Any]) -> Any:
    """Every detail of a customer, as the merchant's admin API shows it."""
    everything = FieldAccess(fields=dict.fromkeys(CUSTOMER_FIELDS, "optional"))
    return account_view(customer, everything, gst_editable=True)
