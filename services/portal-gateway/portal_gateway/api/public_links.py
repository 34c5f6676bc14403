"""Secure public links, for whoever holds one (no portal session): what paying or answering
needs, the document and its PDF (behind a one-time code when the merchant asks for identity
verification), paying the invoice, accepting or declining the quote.

Unknown links answer 404 and withdrawn or expired ones 410; nothing tells about any other
document.
"""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, Response, get, post
from litestar.params import Parameter
from pydantic import BaseModel, ConfigDict, Field

from portal_gateway.adapters.code_senders import CodeSender, EmailCodeSender
from portal_gateway.api.client_address import client_address
from portal_gateway.api.portal_invoices import pdf_response
from portal_gateway.api.portal_payments import IdempotencyKeyRequired, PaymentNotMade
from portal_gateway.service_layer import public_links as links
from portal_gateway.service_layer.commands import raise_if_rejected
from portal_gateway.service_layer.context import Gateway
from portal_runtime.http import problem

Token = Annotated[str, Parameter(min_length=20, max_length=100)]
Grant = Annotated[str | None, Parameter(header="X-Link-Grant", max_length=100, required=False)]
IdempotencyKey = Annotated[
    str | None, Parameter(header="Idempotency-Key", max_length=200, required=False)
]
Document = dict[str, Any]


class _Body(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class CodeBody(_Body):
    code: str = Field(min_length=1, max_length=12)


class PayBody(_Body):
    token: str = Field(min_length=1, max_length=200, description="card token from the gateway")


class DeclineBody(_Body):
    reason: str = Field(min_length=1, max_length=1000)


def _wrong_code(_: Request[Any, Any, Any], exc: links.WrongCode) -> Response[Document]:
    return problem(exc.status, "code wrong", exc.detail, code=exc.code, tries_left=exc.tries_left)


def _too_soon(_: Request[Any, Any, Any], exc: links.CodeRequestTooSoon) -> Response[Document]:
    response = problem(
        exc.status, "too many requests", exc.detail, code=exc.code, retry_after=exc.retry_after
    )
    response.headers["Retry-After"] = str(exc.retry_after)
    return response


def _paid(command: Document) -> Response[Document]:
    raise_if_rejected(command)
    if command["status"] == "pending":
        return Response({"status": "processing"}, status_code=202)
    payment: Document = command["result"]
    if command["outcome_type"] == "PaymentFailed":
        failure = payment["failure"]
        raise PaymentNotMade(failure["customer_message"], code=failure["code"])
    shown = {k: payment.get(k) for k in ("payment_id", "number", "status", "amount")}
    return Response(shown, status_code=201 if payment["status"] == "succeeded" else 202)


def controllers(gateway: Gateway, sender: CodeSender | None = None) -> list[type[Controller]]:
    codes = sender or EmailCodeSender(gateway.settings.sealing_key)

    class PublicLinksController(Controller):
        path = "/public/v1/links/{token:str}"
        tags = ["public links"]
        exception_handlers = {links.WrongCode: _wrong_code, links.CodeRequestTooSoon: _too_soon}

        @get("/")
        async def summary(self, token: Token) -> Document:
            """Number, status, currency and amount: what paying or answering needs (no code
            needed). `verification_required` says whether the document itself needs one."""
            link = await links.open_link(gateway, token)
            return await links.essentials(gateway, link)

        @get("/document")
        async def document(
            self, token: Token, request: Request[Any, Any, Any], grant: Grant = None
        ) -> Document:
            """The whole document; with identity verification on, send the grant from
            `/verify` in the X-Link-Grant header."""
            link = await links.open_link(gateway, token)
            shown = await links.document(gateway, link, grant)
            await _record(link, "view", request, 200)
            return shown

        @get("/pdf", media_type="application/pdf")
        async def pdf(
            self, token: Token, request: Request[Any, Any, Any], grant: Grant = None
        ) -> Response[bytes]:
            """The document's PDF (same rule as the document)."""
            link = await links.open_link(gateway, token)
            response = pdf_response(await links.pdf(gateway, link, grant), link["document_kind"])
            await _record(link, "download", request, 200)
            return response

        @post("/code", status_code=202)
        async def request_code(self, token: Token) -> Document:
            """Send a one-time code (valid 10 minutes) to the customer's email. At most one
            every 30 seconds and five an hour per link."""
            link = await links.open_link(gateway, token)
            return await links.request_code(gateway, link, codes)

        @post("/verify", status_code=200)
        async def verify(self, token: Token, data: CodeBody) -> Document:
            """Trade the code for a viewing grant (30 minutes). 401 with `tries_left` when
            wrong; 429 once five wrong tries burnt it."""
            link = await links.open_link(gateway, token)
            return await links.verify_code(gateway, link, data.code)

        @post("/pay", status_code=201)
        async def pay(
            self,
            token: Token,
            data: PayBody,
            request: Request[Any, Any, Any],
            idempotency_key: IdempotencyKey = None,
        ) -> Response[Document]:
            """Pay what is due on the shared invoice with a card; needs an Idempotency-Key
            so a retry never pays twice. No code needed."""
            if not idempotency_key:
                raise IdempotencyKeyRequired(
                    "send an Idempotency-Key header with every payment, so a retry never pays twice"
                )
            link = await links.open_link(gateway, token)
            response = _paid(await links.pay(gateway, link, data.token, idempotency_key))
            await _record(link, "pay", request, response.status_code or 201)
            return response

        @post("/accept", status_code=200)
        async def accept(
            self,
            token: Token,
            request: Request[Any, Any, Any],
            idempotency_key: IdempotencyKey = None,
        ) -> Response[Document]:
            """Accept the shared quote (409 when it is no longer open). No code needed."""
            link = await links.open_link(gateway, token)
            done = await links.answer_quote(
                gateway, link, accept=True, reason=None, idempotency_key=idempotency_key
            )
            return await _answered(link, done, "accept", request)

        @post("/decline", status_code=200)
        async def decline(
            self,
            token: Token,
            data: DeclineBody,
            request: Request[Any, Any, Any],
            idempotency_key: IdempotencyKey = None,
        ) -> Response[Document]:
            """Decline the shared quote, saying why. No code needed."""
            link = await links.open_link(gateway, token)
            done = await links.answer_quote(
                gateway, link, accept=False, reason=data.reason, idempotency_key=idempotency_key
            )
            return await _answered(link, done, "decline", request)

    async def _answered(
        link: Document, done: Document, action: str, request: Request[Any, Any, Any]
    ) -> Response[Document]:
        if done["status"] != "succeeded":
            response = Response({"status": "processing"}, status_code=202)
        else:
            response = Response(await links.essentials(gateway, link), status_code=200)
        await _record(link, action, request, response.status_code or 200)
        return response

    async def _record(
        link: Document, action: str, request: Request[Any, Any, Any], status_code: int
    ) -> None:
        await links.record_activity(
            gateway,
            link,
            action,
            method=request.method,
            route=str(request.scope.get("path_template") or ""),
            status_code=status_code,
            ip=client_address(request.scope),
            user_agent=request.headers.get("user-agent", ""),
        )

    return [PublicLinksController]
