"""The merchant shares an invoice or a quote as a secure public link: create (the URL is
answered once), list the links of a document, revoke one."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, get, post
from litestar.params import Parameter
from pydantic import BaseModel, ConfigDict, Field

from portal_gateway.api.merchant_auth import ADMIN_DEPENDENCIES, Merchant, merchant_guard
from portal_gateway.domain.public_links import DocumentKind
from portal_gateway.service_layer import public_links as links
from portal_gateway.service_layer.context import Gateway

DocumentId = Annotated[str, Parameter(query="document_id", min_length=1, max_length=64)]
Kind = Annotated[DocumentKind, Parameter(query="document_kind")]
LinkId = Annotated[str, Parameter(min_length=1, max_length=64)]


class NewLink(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    document_kind: DocumentKind
    document_id: str = Field(min_length=1, max_length=64)
    expires_in_days: int | None = Field(
        default=None,
        ge=1,
        le=365,
        description="default: the merchant's secure_links.expire_after_days preference",
    )
    never_expires: bool = False


def controller(gateway: Gateway) -> type[Controller]:
    class AdminPublicLinksController(Controller):
        path = "/admin/v1/public-links"
        tags = ["admin: public links"]
        guards = [merchant_guard(gateway)]
        dependencies = ADMIN_DEPENDENCIES
        security = [{"ApiKey": []}]

        @post("/", status_code=201)
        async def create(self, data: NewLink, merchant: Merchant) -> dict[str, Any]:
            """Share one of your customers' invoices or quotes. The answer holds the link's URL:
            it is shown only now (only a digest of its token is kept)."""
            link, url = await links.create_link(
                gateway,
                str(merchant["_id"]),
                data.document_kind,
                data.document_id,
                expires_in_days=data.expires_in_days,
                never_expires=data.never_expires,
                created_by=str(merchant["_id"]),
            )
            return {**links.public_view(link, gateway.store.clock.now()), "url": url}

        @get("/")
        async def list_links(
            self, merchant: Merchant, document_kind: Kind, document_id: DocumentId
        ) -> dict[str, Any]:
            """The links shared for one document, newest first (never their tokens)."""
            found = await links.links_of(gateway, str(merchant["_id"]), document_kind, document_id)
            return {"items": found}

        @post("/{link_id:str}/revoke", status_code=200)
        async def revoke(self, link_id: LinkId, merchant: Merchant) -> dict[str, Any]:
            """Withdraw a link at once; whoever holds it gets 410 from now on."""
            return await links.revoke_link(gateway, str(merchant["_id"]), link_id)

    return AdminPublicLinksController
