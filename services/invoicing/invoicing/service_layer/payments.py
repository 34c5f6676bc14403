"""Use cases of payments: paying invoices, automatic charges and their retries, resolving
attempts left pending, and saved payment methods.

A payment is one attempt: (1) a transaction opens it, claiming each invoice it pays (the
database refuses a second pending claim on an invoice); (2) the gateway is called with an
idempotency key derived from the attempt id; (3) a transaction records the outcome and, in
the same commit, the events and emails it causes. A crash between (1) and (3) leaves the
attempt `charging`; the resolver asks the gateway again with the same key.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import Any

from pymongo.errors import DuplicateKeyError

from invoicing.adapters.accounts import AccountRepository
from invoicing.adapters.invoice_pdf import format_money
from invoicing.adapters.invoices import InvoiceRepository, MerchantNames, SetupRepository
from invoicing.adapters.payment_gateway import ChargeRequest, ChargeResult, PaymentGateway
from invoicing.adapters.payments import Leases, PaymentMethods, PaymentRepository
from invoicing.domain.failures import failure
from invoicing.domain.invoices import Invoice, apply_payment, format_number
from invoicing.domain.payments import after_failed_autocharge, plan_payment
from invoicing.service_layer.documents import (
    customer_name,
    emit_document,
    publish_invoice,
    receipt_pdf,
    refresh_balance,
)
from invoicing.service_layer.messages import CONSUMER, reject
from portal_contracts.common import Money
from portal_contracts.invoicing import (
    AddPaymentMethod,
    Allocation,
    AutochargeFailed,
    AutochargeFailure,
    InvoicePaid,
    MethodSummary,
    PaidInvoice,
    PayInvoices,
    PaymentFailed,
    PaymentFailure,
    PaymentMethodAdded,
    PaymentMethodRef,
    PaymentMethodRemoved,
    PaymentMethodReplaced,
    PaymentPending,
    PaymentSnapshot,
    PaymentSucceeded,
    RemovePaymentMethod,
    Replacement,
    ResolveBankPayment,
    SavedPaymentMethod,
    UpdatePaymentMethod,
)
from portal_contracts.notifications import Attachment, CustomerEmail, SendCustomerEmail
from portal_contracts.topics import INVOICE_EVENTS, NOTIFICATIONS_COMMANDS, PAYMENT_EVENTS
from portal_runtime.errors import Conflict, NotFound, ServiceError
from portal_runtime.store import Store, Transaction

log = logging.getLogger(__name__)
Document = dict[str, Any]
PAYMENT_SERIES = "PAY"
RESOLVE_AFTER = timedelta(seconds=30)


class InvalidMethod(ServiceError):
    status = 422
    code = "invalid_token"


@dataclass
class Payments:
    store: Store
    gateway: PaymentGateway
    instance: str = field(default_factory=lambda: uuid.uuid4().hex)


@dataclass(frozen=True)
class Method:
    token: str
    summary: MethodSummary
    payment_method_id: str | None  # a saved method, charged again


async def pay(ctx: Payments, command: PayInvoices) -> None:
    """Pay invoices now (the portal's command)."""
    request = command.data
    org = command.organisation_id
    token_method: Method | None = None
    if request.payment_method_id is None and request.token:
        summary = await ctx.gateway.describe(request.token)
        if summary is not None:
            token_method = Method(request.token, summary, None)

    async def start(tx: Transaction) -> Document | None:
        payments = PaymentRepository(tx.db, tx.session)
        if await payments.get(org, request.payment_id) is not None:
            return None
        try:
            method = token_method or await _saved_method(tx, org, request)
            return await _open_attempt(
                tx,
                org=org,
                customer_id=request.customer_id,
                payment_id=request.payment_id,
                invoice_ids=None if request.all_outstanding else request.invoice_ids,
                amount_minor=request.amount_minor,
                method=method,
                save_method=request.save_method,
                autocharge=False,
                cause=command.follow_up(),
                actor=command.actor.model_dump(),
            )
        except ServiceError as refused:
            await reject(tx, command, PAYMENT_EVENTS, request.customer_id, refused)
            return None

    try:
        payment = await ctx.store.transaction(start, handling=(CONSUMER, command))
    except DuplicateKeyError:
        # Another attempt claimed one of these invoices between our check and our commit.
        async def refuse(tx: Transaction) -> None:
            await reject(tx, command, PAYMENT_EVENTS, request.customer_id, _pending())

        await ctx.store.transaction(refuse, handling=(CONSUMER, command))
        return
    if payment is not None:
        await charge(ctx, payment)


def _pending() -> Conflict:
    return Conflict(
        "a payment for this invoice is still being processed; wait for it to finish",
        code="payment_pending",
    )


async def _saved_method(tx: Transaction, org: str, request: Any) -> Method:
    if request.payment_method_id is None:
        if request.token:
            raise InvalidMethod(failure("invalid_token").customer_message)
        raise InvalidMethod("choose a saved payment method or enter a card", code="no_method")
    saved = await PaymentMethods(tx.db, tx.session).get(
        org, request.customer_id, request.payment_method_id
    )
    if saved is None:
        raise NotFound(f"there is no payment method '{request.payment_method_id}'")
    return Method(
        saved["token"], MethodSummary.model_validate(saved["method"]), saved["payment_method_id"]
    )


async def _open_attempt(
    tx: Transaction,
    *,
    org: str,
    customer_id: str,
    payment_id: str,
    invoice_ids: tuple[str, ...] | None,
    amount_minor: int | None,
    method: Method,
    save_method: bool,
    autocharge: bool,
    cause: dict[str, Any],
    actor: dict[str, Any],
) -> Document:
    invoices = InvoiceRepository(tx.db, tx.session)
    if invoice_ids is None:
        account = await AccountRepository(tx.db, tx.session).get(org, customer_id)
        targets = [i for i in await invoices.of_customer(org, customer_id) if i.is_open]
        if account is not None:
            targets = [i for i in targets if i.currency == account.currency]
    else:
        targets = await invoices.of_customer(org, customer_id, invoice_ids)
        missing = set(invoice_ids) - {invoice.invoice_id for invoice in targets}
        if missing:
            raise NotFound(f"there is no invoice '{sorted(missing)[0]}'")
    plan = plan_payment(targets, amount_minor)
    payments = PaymentRepository(tx.db, tx.session)
    # Checked here for a clear answer; the partial unique index decides races.
    if await payments.pending_claims(org, [invoice.invoice_id for invoice, _ in plan.allocations]):
        raise _pending()
    number = await invoices.next_number(org, PAYMENT_SERIES)
    payment: Document = {
        "_id": f"{org}:{payment_id}",
        "organisation_id": org,
        "customer_id": customer_id,
        "payment_id": payment_id,
        "number": format_number(PAYMENT_SERIES, number),
        "status": "charging",
        "amount_minor": plan.amount_minor,
        "currency": plan.currency,
        "method": method.summary.model_dump(),
        "token": method.token,
        "payment_method_id": method.payment_method_id,
        "save_method": save_method and method.payment_method_id is None,
        "autocharge": autocharge,
        "allocations": [
            {"invoice_id": i.invoice_id, "invoice_number": i.number, "amount_minor": amount}
            for i, amount in plan.allocations
        ],
        "idempotency_key": f"attempt:{org}:{payment_id}",
        "created_at": tx.outbox.clock.now(),
        "settled_at": None,
        "failure": None,
        "cause": cause,
        "actor": actor,
    }
    await payments.add(payment)
    return payment


async def charge(ctx: Payments, payment: Document) -> None:
    """Call the gateway for an open attempt and record what it answered."""
    setup = await SetupRepository(ctx.store.db).get(payment["organisation_id"])
    result = await ctx.gateway.charge(
        ChargeRequest(
            idempotency_key=payment["idempotency_key"],
            organisation_id=payment["organisation_id"],
            customer_id=payment["customer_id"],
            amount_minor=payment["amount_minor"],
            currency=payment["currency"],
            token=payment["token"],
            setup=setup.gateway,
            recurring=payment["autocharge"],
            saved_method=payment["payment_method_id"] is not None,
            description=payment["number"],
        )
    )
    await record_outcome(ctx, payment["organisation_id"], payment["payment_id"], result)


def snapshot(payment: Document) -> PaymentSnapshot:
    recorded = payment.get("failure")
    return PaymentSnapshot(
        customer_id=payment["customer_id"],
        payment_id=payment["payment_id"],
        number=payment["number"],
        status="pending" if payment["status"] == "charging" else payment["status"],
        amount=Money(amount_minor=payment["amount_minor"], currency=payment["currency"]),
        method=MethodSummary.model_validate(payment["method"]),
        allocations=tuple(Allocation.model_validate(a) for a in payment["allocations"]),
        created_at=payment["created_at"],
        settled_at=payment.get("settled_at"),
        failure=PaymentFailure.model_validate(recorded) if recorded else None,
        autocharge=payment["autocharge"],
    )


async def record_outcome(ctx: Payments, org: str, payment_id: str, result: ChargeResult) -> None:
    """Record the gateway's answer once; the events and emails commit with it."""

    async def work(tx: Transaction) -> None:
        payments = PaymentRepository(tx.db, tx.session)
        payment = await payments.get(org, payment_id)
        if payment is None or payment["status"] not in ("charging", "pending"):
            return
        if result.status == "pending" and payment["status"] == "pending":
            return
        now = ctx.store.clock.now()
        cause = payment["cause"]
        changes: Document = {"status": result.status, "gateway_reference": result.reference}
        if result.status == "succeeded":
            changes["settled_at"] = now
        if result.status == "failed":
            known = failure(result.failure_code or "card_declined")
            changes["failure"] = {
                "code": known.code,
                "reason": known.reason,
                "remedy": known.remedy,
                "customer_message": known.customer_message,
            }
        await payments.settle(payment, changes)
        payment = {**payment, **changes}
        if result.status == "pending":
            await tx.emit(
                PAYMENT_EVENTS, PaymentPending(**cause, occurred_at=now, data=snapshot(payment))
            )
        elif result.status == "succeeded":
            await _succeeded(tx, payment, cause)
        else:
            await _failed(tx, payment, cause)

    await ctx.store.transaction(work)


async def _succeeded(tx: Transaction, payment: Document, cause: dict[str, Any]) -> None:
    now = tx.outbox.clock.now()
    org, customer_id = payment["organisation_id"], payment["customer_id"]
    invoices = InvoiceRepository(tx.db, tx.session)
    for allocation in payment["allocations"]:
        invoice = await invoices.get(org, customer_id, allocation["invoice_id"])
        if invoice is None:
            continue
        paid = apply_payment(invoice, allocation["amount_minor"], now)
        await invoices.save(paid)
        await publish_invoice(tx, cause, paid)
        if paid.status == "paid":
            await tx.emit(
                INVOICE_EVENTS,
                InvoicePaid(
                    **cause,
                    occurred_at=now,
                    data=PaidInvoice(
                        customer_id=customer_id,
                        invoice_id=paid.invoice_id,
                        subscription_id=paid.subscription_id,
                        amount=Money(amount_minor=paid.total_minor, currency=paid.currency),
                    ),
                ),
            )
    await refresh_balance(tx, cause, org, customer_id, payment["currency"])
    if payment["save_method"]:
        await _save_method(tx, payment, cause)
    facts = snapshot(payment)
    await tx.emit(PAYMENT_EVENTS, PaymentSucceeded(**cause, occurred_at=now, data=facts))
    merchant = await MerchantNames(tx.db, tx.session).name(org)
    pdf = receipt_pdf(facts, merchant, await customer_name(tx, org, customer_id))
    await emit_document(
        tx,
        cause,
        now,
        customer_id=customer_id,
        document_id=payment["payment_id"],
        kind="receipt",
        number=payment["number"],
        pdf=pdf,
    )
    await _email(
        tx,
        payment,
        cause,
        "payment_receipt",
        {
            "payment_number": payment["number"],
            "amount": format_money(payment["amount_minor"], payment["currency"]),
            "paid_at": now.date().isoformat(),
            "invoice_numbers": ", ".join(a["invoice_number"] for a in payment["allocations"]),
        },
        attachment=(f"{payment['number']}.pdf", pdf),
    )


async def _failed(tx: Transaction, payment: Document, cause: dict[str, Any]) -> None:
    now = tx.outbox.clock.now()
    await tx.emit(PAYMENT_EVENTS, PaymentFailed(**cause, occurred_at=now, data=snapshot(payment)))
    first = payment["allocations"][0]
    await _email(
        tx,
        payment,
        cause,
        "payment_failed",
        {
            "invoice_number": ", ".join(a["invoice_number"] for a in payment["allocations"]),
            "amount": format_money(payment["amount_minor"], payment["currency"]),
            "reason": payment["failure"]["customer_message"],
        },
    )
    if not payment["autocharge"]:
        return
    invoices = InvoiceRepository(tx.db, tx.session)
    invoice = await invoices.get(
        payment["organisation_id"], payment["customer_id"], first["invoice_id"]
    )
    if invoice is None:
        return
    counted, final = after_failed_autocharge(invoice, now)
    await invoices.save(counted)
    await tx.emit(
        PAYMENT_EVENTS,
        AutochargeFailed(
            **cause,
            occurred_at=now,
            data=AutochargeFailure(
                customer_id=invoice.customer_id,
                subscription_id=invoice.subscription_id,
                invoice_id=invoice.invoice_id,
                attempt=counted.autocharge_attempts,
                final=final,
                code=payment["failure"]["code"],
            ),
        ),
    )


async def _email(
    tx: Transaction,
    payment: Document,
    cause: dict[str, Any],
    template: Any,
    values: dict[str, str],
    attachment: tuple[str, bytes] | None = None,
) -> None:
    import base64

    org, customer_id = payment["organisation_id"], payment["customer_id"]
    account = await AccountRepository(tx.db, tx.session).get(org, customer_id)
    if account is None or not account.contact_email:
        return
    attachments: tuple[Attachment, ...] = ()
    if attachment is not None:
        attachments = (
            Attachment(
                filename=attachment[0], content_base64=base64.b64encode(attachment[1]).decode()
            ),
        )
    await tx.emit(
        NOTIFICATIONS_COMMANDS,
        SendCustomerEmail(
            **cause,
            occurred_at=tx.outbox.clock.now(),
            data=CustomerEmail(
                template=template,
                customer_id=customer_id,
                contact_id=account.contact_id,
                to_email=account.contact_email,
                to_name=account.contact_name,
                merchant_name=await MerchantNames(tx.db, tx.session).name(org),
                language=account.language,
                values=values,
                attachments=attachments,
            ),
        ),
    )


async def _save_method(tx: Transaction, payment: Document, cause: dict[str, Any]) -> None:
    payment_method_id = f"pm_{uuid.uuid4().hex[:20]}"
    await _store_method(
        tx,
        payment["organisation_id"],
        payment["customer_id"],
        payment_method_id,
        payment["token"],
        MethodSummary.model_validate(payment["method"]),
    )
    await tx.emit(
        PAYMENT_EVENTS,
        PaymentMethodAdded(
            **cause,
            occurred_at=tx.outbox.clock.now(),
            data=SavedPaymentMethod(
                customer_id=payment["customer_id"],
                payment_method_id=payment_method_id,
                method=MethodSummary.model_validate(payment["method"]),
            ),
        ),
    )


async def _store_method(
    tx: Transaction,
    org: str,
    customer_id: str,
    payment_method_id: str,
    token: str,
    summary: MethodSummary,
) -> None:
    await PaymentMethods(tx.db, tx.session).add(
        {
            "_id": f"{org}:{payment_method_id}",
            "organisation_id": org,
            "customer_id": customer_id,
            "payment_method_id": payment_method_id,
            "token": token,
            "method": summary.model_dump(),
            "status": "active",
            "created_at": tx.outbox.clock.now(),
        }
    )


# --- automatic charges --------------------------------------------------------------------------


async def autocharge(ctx: Payments, invoice: Invoice, cause: dict[str, Any]) -> None:
    """Charge an autocharge invoice with the subscription's saved method."""
    org = invoice.organisation_id

    async def start(tx: Transaction) -> Document | None:
        invoices = InvoiceRepository(tx.db, tx.session)
        current = await invoices.get(org, invoice.customer_id, invoice.invoice_id)
        if current is None or not current.is_open:
            return None
        # Taken off the schedule now; a failure schedules the next retry.
        await invoices.save(replace(current, next_autocharge_at=None))
        saved = None
        if current.payment_method_id:
            saved = await PaymentMethods(tx.db, tx.session).get(
                org, current.customer_id, current.payment_method_id
            )
        method = (
            Method(
                saved["token"],
                MethodSummary.model_validate(saved["method"]),
                saved["payment_method_id"],
            )
            if saved
            else Method("", MethodSummary(kind="card", brand="none", last4="0000"), "missing")
        )
        try:
            return await _open_attempt(
                tx,
                org=org,
                customer_id=current.customer_id,
                payment_id=f"pay_{uuid.uuid4().hex[:20]}",
                invoice_ids=(current.invoice_id,),
                amount_minor=None,
                method=method,
                save_method=False,
                autocharge=True,
                cause=cause,
                actor={"kind": "system", "id": "autocharge"},
            )
        except ServiceError as refused:
            log.info("autocharge of %s not started: %s", current.number, refused.detail)
            return None

    try:
        payment = await ctx.store.transaction(start)
    except DuplicateKeyError:
        return
    if payment is None:
        return
    if payment["payment_method_id"] == "missing":
        result = ChargeResult(
            status="failed", reference=payment["idempotency_key"], failure_code="no_payment_method"
        )
        await record_outcome(ctx, org, payment["payment_id"], result)
        return
    await charge(ctx, payment)


async def run_autocharge_retries(ctx: Payments) -> int:
    leases = Leases(ctx.store.db)
    now = ctx.store.clock.now()
    if not await leases.take("autocharge-retries", ctx.instance, now, timedelta(seconds=60)):
        return 0
    due = await InvoiceRepository(ctx.store.db).due_for_autocharge(now)
    for invoice in due:
        cause = {
            "organisation_id": invoice.organisation_id,
            "correlation_id": f"autocharge:{invoice.invoice_id}:{invoice.autocharge_attempts + 1}",
        }
        await autocharge(ctx, invoice, cause)
    return len(due)


async def resolve_payments(ctx: Payments) -> int:
    """Finish attempts left without an answer (a crash mid-charge) and bank payments that
    settled or failed since."""
    leases = Leases(ctx.store.db)
    now = ctx.store.clock.now()
    if not await leases.take("resolve-payments", ctx.instance, now, timedelta(seconds=60)):
        return 0
    resolved = 0
    for payment in await PaymentRepository(ctx.store.db).unresolved(now - RESOLVE_AFTER):
        result = await ctx.gateway.status(payment["idempotency_key"])
        if result is None and payment["status"] == "charging":
            await charge(ctx, payment)
            resolved += 1
            continue
        if result is not None and result.status != payment["status"]:
            await record_outcome(ctx, payment["organisation_id"], payment["payment_id"], result)
            resolved += 1
    return resolved


# --- saved payment methods ----------------------------------------------------------------------


async def add_method(ctx: Payments, command: AddPaymentMethod) -> None:
    new = command.data
    summary = await ctx.gateway.describe(new.token)

    async def work(tx: Transaction) -> None:
        if summary is None:
            await reject(
                tx,
                command,
                PAYMENT_EVENTS,
                new.customer_id,
                InvalidMethod(failure("invalid_token").customer_message),
            )
            return
        org = command.organisation_id
        if await PaymentMethods(tx.db, tx.session).get(org, new.customer_id, new.payment_method_id):
            return
        await _store_method(tx, org, new.customer_id, new.payment_method_id, new.token, summary)
        await tx.emit(
            PAYMENT_EVENTS,
            PaymentMethodAdded(
                **command.follow_up(),
                occurred_at=ctx.store.clock.now(),
                data=SavedPaymentMethod(
                    customer_id=new.customer_id,
                    payment_method_id=new.payment_method_id,
                    method=summary,
                ),
            ),
        )

    await ctx.store.transaction(work, handling=(CONSUMER, command))


async def update_method(ctx: Payments, command: UpdatePaymentMethod) -> None:
    """A new card or account replaces a saved one, also on the open invoices that autocharge
    with it; subscriptions replace it on theirs from `PaymentMethodReplaced`."""
    change = command.data
    summary = await ctx.gateway.describe(change.token)

    async def work(tx: Transaction) -> None:
        org = command.organisation_id
        methods = PaymentMethods(tx.db, tx.session)
        old = await methods.get(org, change.customer_id, change.payment_method_id)
        if old is None:
            await reject(
                tx,
                command,
                PAYMENT_EVENTS,
                change.customer_id,
                NotFound(f"there is no payment method '{change.payment_method_id}'"),
            )
            return
        if summary is None:
            await reject(
                tx,
                command,
                PAYMENT_EVENTS,
                change.customer_id,
                InvalidMethod(failure("invalid_token").customer_message),
            )
            return
        await _store_method(
            tx, org, change.customer_id, change.new_payment_method_id, change.token, summary
        )
        await methods.retire(org, change.payment_method_id, "replaced")
        await tx.db["invoices"].update_many(
            {
                "organisation_id": org,
                "customer_id": change.customer_id,
                "payment_method_id": change.payment_method_id,
                "status": {"$nin": ["paid", "void"]},
            },
            {"$set": {"payment_method_id": change.new_payment_method_id}},
            session=tx.session,
        )
        await tx.emit(
            PAYMENT_EVENTS,
            PaymentMethodReplaced(
                **command.follow_up(),
                occurred_at=ctx.store.clock.now(),
                data=Replacement(
                    customer_id=change.customer_id,
                    old_payment_method_id=change.payment_method_id,
                    new_payment_method_id=change.new_payment_method_id,
                    method=summary,
                ),
            ),
        )

    await ctx.store.transaction(work, handling=(CONSUMER, command))


async def remove_method(ctx: Payments, command: RemovePaymentMethod) -> None:
    ref = command.data

    async def work(tx: Transaction) -> None:
        org = command.organisation_id
        methods = PaymentMethods(tx.db, tx.session)
        if await methods.get(org, ref.customer_id, ref.payment_method_id) is None:
            await reject(
                tx,
                command,
                PAYMENT_EVENTS,
                ref.customer_id,
                NotFound(f"there is no payment method '{ref.payment_method_id}'"),
            )
            return
        await methods.retire(org, ref.payment_method_id, "removed")
        await tx.emit(
            PAYMENT_EVENTS,
            PaymentMethodRemoved(
                **command.follow_up(),
                occurred_at=ctx.store.clock.now(),
                data=PaymentMethodRef(
                    customer_id=ref.customer_id, payment_method_id=ref.payment_method_id
                ),
            ),
        )

    await ctx.store.transaction(work, handling=(CONSUMER, command))


async def resolve_bank_payment(ctx: Payments, command: ResolveBankPayment) -> None:
    """Sandbox only: settle or fail a pending bank payment now instead of after the delay."""
    from invoicing.adapters.payment_gateway import SandboxGateway

    ref = command.data
    if not isinstance(ctx.gateway, SandboxGateway):
        log.warning("ResolveBankPayment ignored: the gateway is not the sandbox")
        return
    payment = await PaymentRepository(ctx.store.db).get(command.organisation_id, ref.payment_id)
    if payment is None or payment["customer_id"] != ref.customer_id:
        return
    await ctx.gateway.resolve(payment["idempotency_key"], ref.outcome)
    result = await ctx.gateway.status(payment["idempotency_key"])
    if result is not None:
        await record_outcome(ctx, command.organisation_id, ref.payment_id, result)
