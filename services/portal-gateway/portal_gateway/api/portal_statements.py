"""Statements of account in the portal.

Asking for one sends `GenerateStatement` to invoicing and waits for `StatementGenerated`: its
parts (lines and PDF slices) are projected into the gateway's own collections before the
summary settles the request, so the answer and every later download come from the gateway's
database; the gateway never calls invoicing to answer a read."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from litestar import Controller, Response, get, post
from litestar.params import Parameter
from pydantic import BaseModel, ConfigDict, model_validator

from portal_contracts import documents as d
from portal_contracts.envelope import Actor
from portal_gateway.api.schemas import SLUG
from portal_gateway.api.security import PORTAL_DEPENDENCIES, PortalPrincipal, portal_guard
from portal_gateway.service_layer import document_views as views
from portal_gateway.service_layer.context import Gateway
from portal_runtime.errors import NotFound

Slug = Annotated[str, Parameter(pattern=SLUG, max_length=63)]
DocumentId = Annotated[str, Parameter(min_length=1, max_length=64)]
MAX_PERIOD_DAYS = 366 * 10


class Period(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    period_start: dt.date
    period_end: dt.date

    @model_validator(mode="after")
    def _ordered(self) -> Period:
        if self.period_end < self.period_start:
            raise ValueError("period_end is before period_start")
        if (self.period_end - self.period_start).days > MAX_PERIOD_DAYS:
            raise ValueError("a statement covers at most ten years")
        return self


async def request_statement(
    gateway: Gateway,
    organisation_id: str,
    customer_id: str,
    actor: Actor,
    period: Period,
    merchant_name: str,
    status_root: str,
) -> Response[dict[str, Any]]:
    """Shared by the portal and the admin API."""
    statement_id = views.new_id("st")
    db = gateway.store.db
    await views.record_statement_request(
        db,
        organisation_id,
        customer_id,
        statement_id,
        period.model_dump(mode="json"),
        gateway.store.clock.now(),
    )
    command = d.GenerateStatement(
        **views.envelope_fields(organisation_id, actor),
        occurred_at=gateway.store.clock.now(),
        data=d.StatementRequest(
            statement_id=statement_id,
            customer_id=customer_id,
            period_start=period.period_start,
            period_end=period.period_end,
            merchant_name=merchant_name,
        ),
    )
    done = await views.send_document_command(
        gateway, command, customer_id=customer_id, outcomes=("StatementGenerated",)
    )
    if done["status"] != "succeeded":
        return Response(
            {
                "status": "pending",
                "statement_id": statement_id,
                "status_url": f"{status_root}/statements/{statement_id}",
            },
            status_code=202,
        )
    found = await views.statement(db, organisation_id, customer_id, statement_id)
    return Response(
        {**(found or {}), "pdf_url": f"{status_root}/statements/{statement_id}/pdf"},
        status_code=201,
    )


def controllers(gateway: Gateway) -> list[type[Controller]]:
    db = gateway.store.db

    class PortalStatementsController(Controller):
        path = "/portal/{slug:str}/api"
        tags = ["portal: statements"]
        guards = [portal_guard(gateway)]
        dependencies = PORTAL_DEPENDENCIES
        security = [{"BearerToken": []}]

        @post("/statements", status_code=201)
        async def generate(
            self, slug: Slug, data: Period, principal: PortalPrincipal, merchant: dict[str, Any]
        ) -> Response[dict[str, Any]]:
            """A statement of your account for a date range: opening balance, invoices,
            payments, credits, closing balance, ageing; `pdf_url` downloads it."""
            return await request_statement(
                gateway,
                principal.organisation_id,
                principal.customer_id,
                Actor(kind="contact", id=principal.contact_id),
                data,
                str(merchant.get("name", "")),
                f"/portal/{slug}/api",
            )

        @get("/statements/{statement_id:str}")
        async def statement(
            self, slug: Slug, statement_id: DocumentId, principal: PortalPrincipal
        ) -> Response[dict[str, Any]]:
            """A statement you asked for (202 while it is being prepared)."""
            found = await views.statement(
                db, principal.organisation_id, principal.customer_id, statement_id
            )
            if found is None:
                raise NotFound(f"there is no statement '{statement_id}'")
            if found.get("status") != "ready":
                return Response(found, status_code=202)
            return Response(
                {**found, "pdf_url": f"/portal/{slug}/api/statements/{statement_id}/pdf"}
            )

        @get("/statements/{statement_id:str}/pdf", media_type="application/pdf")
        async def statement_pdf(
            self, slug: Slug, statement_id: DocumentId, principal: PortalPrincipal
        ) -> Response[bytes]:
            """The statement as a PDF."""
            pdf = await views.statement_pdf(
                db, principal.organisation_id, principal.customer_id, statement_id
            )
            if pdf is None:
                raise NotFound(f"there is no statement '{statement_id}' ready to download")
            return Response(
                pdf,
                media_type="application/pdf",
                headers={
                    "Content-Disposition": f'attachment; filename="statement-{statement_id}.pdf"'
                },
            )

    return [PortalStatementsController]
