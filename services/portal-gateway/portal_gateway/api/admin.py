"""The merchant's admin API (X-API-Key)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from litestar import Controller, Response, get, post
from litestar.params import Parameter

from portal_contracts.common import Contact
from portal_contracts.customers import CreateCustomer, NewCustomer
from portal_gateway.adapters.read_models import Commands
from portal_gateway.api.merchant_auth import ADMIN_DEPENDENCIES, Merchant, merchant_guard
from portal_gateway.api.schemas import CustomerRegistration
from portal_gateway.service_layer.commands import (
    Rejected,
    pending_response,
    raise_if_rejected,
)
from portal_gateway.service_layer.context import Gateway
from portal_gateway.service_layer.customers import create_customer, customer_details
from portal_runtime.errors import NotFound

CREATE_CUSTOMER = CreateCustomer.model_fields["type"].default

IdempotencyKey = Annotated[
    str | None, Parameter(header="Idempotency-Key", max_length=200, required=False)
]


def controller(gateway: Gateway) -> type[Controller]:
    class AdminController(Controller):
        path = "/admin/v1"
        tags = ["admin"]
        guards = [merchant_guard(gateway)]
        dependencies = ADMIN_DEPENDENCIES
        security = [{"ApiKey": []}]

        @post("/customers", status_code=201)
        async def create(
            self,
            data: CustomerRegistration,
            merchant: Merchant,
            idempotency_key: IdempotencyKey = None,
        ) -> Response[dict[str, Any]]:
            """Create a customer with its primary contact (and invite it to the portal)."""
            if data.enable_portal and data.primary_contact.email is None:
                raise Rejected(
                    "portal access needs an email address on the primary contact",
                    code="contact_without_email",
                )
            new = NewCustomer(
                customer_id=f"cus_{uuid.uuid4().hex[:20]}",
                display_name=data.display_name,
                company_name=data.company_name,
                currency=data.currency or str(merchant.get("currency", "USD")),
                portal_language=data.portal_language,
                primary_contact=Contact(
                    contact_id=f"ct_{uuid.uuid4().hex[:20]}",
                    is_primary=True,
                    **data.primary_contact.model_dump(),
                ),
                enable_portal=data.enable_portal,
            )
            command = await create_customer(gateway, str(merchant["_id"]), new, idempotency_key)
            return await _outcome(gateway, command)

        @get("/customers/{customer_id:str}")
        async def details(self, customer_id: str, merchant: Merchant) -> dict[str, Any]:
            view = await customer_details(gateway, str(merchant["_id"]), customer_id)
            if view is None:
                raise NotFound(f"there is no customer '{customer_id}'")
            return view

        @get("/commands/{command_id:str}")
        async def command_status(
            self, command_id: str, merchant: Merchant
        ) -> Response[dict[str, Any]]:
            """Where a command answered with 202 stands now."""
            command = await Commands(gateway.store.db).get(str(merchant["_id"]), command_id)
            if command is None:
                raise NotFound(f"there is no command '{command_id}'")
            if command.get("type") == CREATE_CUSTOMER:
                return await _outcome(gateway, command)
            return _settled(command)

    return AdminController


def _settled(command: dict[str, Any]) -> Response[dict[str, Any]]:
    """Any other command: its outcome event and what that event said, or still pending."""
    raise_if_rejected(command)
    if command["status"] != "succeeded":
        return Response(pending_response(command, "/admin/v1"), status_code=202)
    return Response(
        {
            "command_id": command["_id"],
            "command": command.get("type"),
            "status": "succeeded",
            "outcome": command.get("outcome_type"),
            "result": command.get("result", {}),
        },
        status_code=200,
    )


async def _outcome(gateway: Gateway, command: dict[str, Any]) -> Response[dict[str, Any]]:
    raise_if_rejected(command)
    if command["status"] == "succeeded":
        view = await customer_details(gateway, command["organisation_id"], command["customer_id"])
        return Response(view or {"customer_id": command["customer_id"]}, status_code=201)
    return Response(pending_response(command, "/admin/v1"), status_code=202)
