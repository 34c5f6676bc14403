"""The merchant changes a customer's details and contact persons (admin API, X-API-Key)."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Response, delete, get, patch, post
from litestar.params import Parameter
from pydantic import BaseModel, ConfigDict, EmailStr, Field, TypeAdapter, ValidationError

from portal_contracts.customers import ContactPerson, ContactPersonChange, Language
from portal_contracts.envelope import Actor
from portal_gateway.adapters.read_models import CustomerViews
from portal_gateway.api.merchant_auth import ADMIN_DEPENDENCIES, Merchant, merchant_guard
from portal_gateway.api.portal_account import DetailsBody
from portal_gateway.domain.settings import (
    InvalidSettings,
    details_update,
    merchant_details_view,
)
from portal_gateway.service_layer.commands import pending_response, raise_if_rejected
from portal_gateway.service_layer.context import Gateway
from portal_gateway.service_layer.customer_details import (
    add_contact,
    remove_contact,
    update_contact,
    update_details,
)
from portal_runtime.errors import NotFound

IdempotencyKey = Annotated[
    str | None, Parameter(header="Idempotency-Key", max_length=200, required=False)
]
CustomerId = Annotated[str, Parameter(max_length=64)]
ContactId = Annotated[str, Parameter(max_length=64)]
LANGUAGES: TypeAdapter[Language] = TypeAdapter(Language)


class ContactPersonChangeBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    first_name: str | None = Field(default=None, min_length=1, max_length=100)
    last_name: str | None = Field(default=None, max_length=100)
    email: EmailStr | None = None
    make_primary: bool = False


def controller(gateway: Gateway) -> type[Controller]:
    async def existing(merchant: Merchant, customer_id: str) -> dict[str, Any]:
        view = await CustomerViews(gateway.store.db).get(str(merchant["_id"]), customer_id)
        if view is None:
            raise NotFound(f"there is no customer '{customer_id}'")
        return view

    async def answer(
        command: dict[str, Any], *, status_code: int = 200
    ) -> Response[dict[str, Any]]:
        raise_if_rejected(command)
        if command["status"] != "succeeded":
            return Response(pending_response(command, "/admin/v1"), status_code=202)
        view = await CustomerViews(gateway.store.db).get(
            command["organisation_id"], command["customer_id"]
        )
        body = _with_language(view) if view else {"customer_id": command["customer_id"]}
        return Response(body, status_code=status_code)

    class CustomerDetailsController(Controller):
        path = "/admin/v1/customers/{customer_id:str}"
        tags = ["admin: customers"]
        guards = [merchant_guard(gateway)]
        dependencies = ADMIN_DEPENDENCIES
        security = [{"ApiKey": []}]

        @get("/details")
        async def details(self, customer_id: CustomerId, merchant: Merchant) -> dict[str, Any]:
            """Every detail of the customer: addresses, tax details, custom fields, contacts."""
            return _with_language(await existing(merchant, customer_id))

        @patch("/details")
        async def change(
            self,
            customer_id: CustomerId,
            data: DetailsBody,
            merchant: Merchant,
            idempotency_key: IdempotencyKey = None,
        ) -> Response[dict[str, Any]]:
            """Change any customer field (null or empty clears it; `display_name` cannot be
            cleared). `custom_fields` are merged; a custom field set to null is removed.
            `portal_language` (one of the portal's languages) changes the language of the
            customer's portal and emails; it cannot be cleared."""
            await existing(merchant, customer_id)
            fields = dict(data)
            given = "portal_language" in fields
            language = _language(fields.pop("portal_language", None), given)
            update = details_update(customer_id, fields)
            if language is not None:
                changes = update.changes.model_copy(update={"portal_language": language})
                update = update.model_copy(update={"changes": changes})
            command = await update_details(
                gateway, str(merchant["_id"]), update, _actor(merchant), idempotency_key
            )
            return await answer(command)

        @post("/contacts", status_code=201)
        async def add(
            self,
            customer_id: CustomerId,
            data: ContactPerson,
            merchant: Merchant,
            idempotency_key: IdempotencyKey = None,
        ) -> Response[dict[str, Any]]:
            """Add a contact person (refused if one of the customer's contacts has the email)."""
            await existing(merchant, customer_id)
            command = await add_contact(
                gateway, str(merchant["_id"]), customer_id, data, _actor(merchant), idempotency_key
            )
            return await answer(command, status_code=201)

        @patch("/contacts/{contact_id:str}")
        async def change_contact(
            self,
            customer_id: CustomerId,
            contact_id: ContactId,
            data: ContactPersonChangeBody,
            merchant: Merchant,
        ) -> Response[dict[str, Any]]:
            """Change a contact person's name or email, or make them the primary contact."""
            await existing(merchant, customer_id)
            change = ContactPersonChange(
                customer_id=customer_id, contact_id=contact_id, **data.model_dump()
            )
            command = await update_contact(gateway, str(merchant["_id"]), change, _actor(merchant))
            return await answer(command)

        @delete("/contacts/{contact_id:str}", status_code=200)
        async def remove(
            self, customer_id: CustomerId, contact_id: ContactId, merchant: Merchant
        ) -> Response[dict[str, Any]]:
            """Remove a contact person (never the primary contact)."""
            await existing(merchant, customer_id)
            command = await remove_contact(
                gateway, str(merchant["_id"]), customer_id, contact_id, _actor(merchant)
            )
            return await answer(command)

    return CustomerDetailsController


def _language(value: Any, given: bool) -> Language | None:
    """The new portal language, if the body names one; 422 for anything else."""
    if not given:
        return None
    try:
        return LANGUAGES.validate_python(value)
    except ValidationError as wrong:
        known = ", ".join(LANGUAGES.json_schema()["enum"])
        raise InvalidSettings(
            f"portal_language: must be one of {known}", code="invalid_language"
        ) from wrong


def _with_language(view: dict[str, Any]) -> dict[str, Any]:
    body = merchant_details_view(view)
    assert isinstance(body, dict)
    return {**body, "portal_language": view.get("portal_language", "en")}


def _actor(merchant: Merchant) -> Actor:
    return Actor(kind="merchant", id=str(merchant["_id"]))
