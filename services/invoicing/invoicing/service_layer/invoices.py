"""Use cases of invoices: the merchant's set-up, raising invoices (from charges and by the
merchant), sending, voiding, the first view, and invoices falling overdue."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from invoicing.adapters.invoices import FailedCharges, InvoiceRepository, SetupRepository
from invoicing.domain import invoices as rules
from invoicing.domain.failures import failure
from invoicing.domain.invoices import Invoice, MissingDefaultTax
from invoicing.service_layer.documents import publish_invoice, refresh_balance
from invoicing.service_layer.messages import CONSUMER, reject
from portal_contracts.invoicing import (
    ConfigureInvoicing,
    CreateInvoice,
    InvoiceCreationFailed,
    InvoiceFailure,
    InvoiceLine,
    InvoiceViewed,
    InvoiceViewedFacts,
    InvoicingConfigured,
    MarkInvoiceViewed,
    SendInvoice,
    VoidInvoice,
)
from portal_contracts.subscriptions import ChargeRaised
from portal_contracts.topics import INVOICE_EVENTS
from portal_runtime.errors import NotFound, ServiceError
from portal_runtime.store import Store, Transaction

log = logging.getLogger(__name__)
INVOICE_SERIES = "INV"

AutochargeHook = Callable[[Invoice, dict[str, Any]], Awaitable[None]]


@dataclass(frozen=True)
class Raised:
    """An invoice raised in a transaction that should be charged once it has committed."""

    invoice: Invoice
    cause: dict[str, Any]


async def configure(store: Store, command: ConfigureInvoicing) -> list[Raised]:
    """Save the set-up; with a default tax now present, charges that failed for the lack of
    one (CP2001) become invoices."""
    raised: list[Raised] = []

    async def work(tx: Transaction) -> None:
        org = command.organisation_id
        await SetupRepository(tx.db, tx.session).save(org, command.data)
        await tx.emit(
            INVOICE_EVENTS,
            InvoicingConfigured(
                **command.follow_up(), occurred_at=store.clock.now(), data=command.data
            ),
        )
        if command.data.default_tax is None:
            return
        failed = FailedCharges(tx.db, tx.session)
        for record in await failed.of_organisation(org):
            charge = ChargeRaised.model_validate(record["event"])
            invoice = await _raise_for_charge(tx, store, charge)
            await failed.forget(org, charge.data.charge_id)
            if invoice is not None and invoice.autocharge:
                raised.append(Raised(invoice, charge.follow_up()))

    await store.transaction(work, handling=(CONSUMER, command))
    return raised


async def raise_for_charge(store: Store, charge: ChargeRaised) -> Raised | None:
    """One invoice per charge id. Without a default tax the charge is kept and the failure
    published (CP2001), to be invoiced once the merchant sets one."""
    raised: Raised | None = None

    async def work(tx: Transaction) -> None:
        nonlocal raised
        try:
            invoice = await _raise_for_charge(tx, store, charge)
        except MissingDefaultTax as missing:
            details = failure(missing.code)
            await FailedCharges(tx.db, tx.session).record(
                charge.organisation_id,
                charge.data.charge_id,
                charge.model_dump(mode="json"),
                missing.code,
            )
            await tx.emit(
                INVOICE_EVENTS,
                InvoiceCreationFailed(
                    **charge.follow_up(),
                    occurred_at=store.clock.now(),
                    data=InvoiceFailure(
                        customer_id=charge.data.customer_id,
                        charge_id=charge.data.charge_id,
                        subscription_id=charge.data.subscription_id,
                        code=details.code,
                        reason=details.reason,
                        remedy=details.remedy,
                    ),
                ),
            )
            log.warning("charge %s not invoiced: %s", charge.data.charge_id, missing.code)
            return
        if invoice is not None and invoice.autocharge:
            raised = Raised(invoice, charge.follow_up())

    await store.transaction(work, handling=(CONSUMER, charge))
    return raised


async def _raise_for_charge(tx: Transaction, store: Store, charge: ChargeRaised) -> Invoice | None:
    facts = charge.data
    invoices = InvoiceRepository(tx.db, tx.session)
    if await invoices.by_charge(charge.organisation_id, facts.charge_id) is not None:
        return None
    setup = await SetupRepository(tx.db, tx.session).get(charge.organisation_id)
    lines = tuple(
        InvoiceLine(
            description=line.description,
            quantity=line.quantity,
            unit_amount_minor=line.unit_amount_minor,
            amount_minor=line.amount_minor,
        )
        for line in facts.lines
    )
    if setup.default_tax is None:
        raise MissingDefaultTax("no default tax is set up for this organisation")
    number = await invoices.next_number(charge.organisation_id, INVOICE_SERIES)
    invoice = rules.draw_up(
        organisation_id=charge.organisation_id,
        customer_id=facts.customer_id,
        invoice_id=f"inv_{uuid.uuid4().hex[:20]}",
        number=rules.format_number(INVOICE_SERIES, number),
        currency=facts.currency,
        lines=lines,
        discount_minor=facts.discount_minor,
        default_tax=setup.default_tax,
        now=store.clock.now(),
        # An automatic charge is due at once; otherwise the merchant's terms.
        due_in_days=0 if facts.autocharge else setup.payment_terms_days,
        subscription_id=facts.subscription_id,
        charge_id=facts.charge_id,
        autocharge=facts.autocharge,
        payment_method_id=facts.payment_method_id,
    )
    await invoices.add(invoice)
    await publish_invoice(tx, charge.follow_up(), invoice, issued=True)
    await refresh_balance(
        tx, charge.follow_up(), invoice.organisation_id, invoice.customer_id, invoice.currency
    )
    return invoice


async def create_invoice(store: Store, command: CreateInvoice) -> None:
    async def work(tx: Transaction) -> None:
        new = command.data
        invoices = InvoiceRepository(tx.db, tx.session)
        if await invoices.get(command.organisation_id, new.customer_id, new.invoice_id):
            return
        setup = await SetupRepository(tx.db, tx.session).get(command.organisation_id)
        try:
            if setup.default_tax is None:
                raise MissingDefaultTax(
                    "no default tax is set up for this organisation, so no invoice can be "
                    "raised; set one with PUT /admin/v1/invoicing/setup"
                )
            number = await invoices.next_number(command.organisation_id, INVOICE_SERIES)
            invoice = rules.draw_up(
                organisation_id=command.organisation_id,
                customer_id=new.customer_id,
                invoice_id=new.invoice_id,
                number=rules.format_number(INVOICE_SERIES, number),
                currency=new.currency,
                lines=new.lines,
                discount_minor=new.discount_minor,
                default_tax=setup.default_tax,
                now=store.clock.now(),
                due_in_days=setup.payment_terms_days
                if new.due_in_days is None
                else new.due_in_days,
                as_draft=new.as_draft,
                allow_partial_payments=new.allow_partial_payments,
                subscription_id=new.subscription_id,
            )
        except ServiceError as refused:
            await reject(tx, command, INVOICE_EVENTS, new.customer_id, refused, kind="invalid")
            return
        await invoices.add(invoice)
        await publish_invoice(tx, command.follow_up(), invoice, issued=True)
        await refresh_balance(
            tx, command.follow_up(), invoice.organisation_id, invoice.customer_id, invoice.currency
        )

    await store.transaction(work, handling=(CONSUMER, command))


async def change_invoice(
    store: Store,
    command: SendInvoice | VoidInvoice,
    change: Callable[[Invoice], Invoice],
) -> None:
    async def work(tx: Transaction) -> None:
        ref = command.data
        invoices = InvoiceRepository(tx.db, tx.session)
        invoice = await invoices.get(command.organisation_id, ref.customer_id, ref.invoice_id)
        try:
            if invoice is None:
                raise NotFound(f"there is no invoice '{ref.invoice_id}'")
            changed = change(invoice)
        except ServiceError as refused:
            await reject(tx, command, INVOICE_EVENTS, ref.customer_id, refused)
            return
        await invoices.save(changed)
        await publish_invoice(tx, command.follow_up(), changed)
        await refresh_balance(
            tx, command.follow_up(), changed.organisation_id, changed.customer_id, changed.currency
        )

    await store.transaction(work, handling=(CONSUMER, command))


async def mark_viewed(store: Store, command: MarkInvoiceViewed) -> None:
    async def work(tx: Transaction) -> None:
        ref = command.data
        invoices = InvoiceRepository(tx.db, tx.session)
        invoice = await invoices.get(command.organisation_id, ref.customer_id, ref.invoice_id)
        if invoice is None:
            return
        now = store.clock.now()
        viewed = rules.mark_viewed(invoice, now)
        if viewed is None:
            return
        await invoices.save(viewed)
        await tx.emit(
            INVOICE_EVENTS,
            InvoiceViewed(
                **command.follow_up(),
                occurred_at=now,
                data=InvoiceViewedFacts(
                    customer_id=ref.customer_id,
                    invoice_id=ref.invoice_id,
                    contact_id=ref.contact_id,
                    viewed_at=now,
                ),
            ),
        )
        await publish_invoice(tx, command.follow_up(), viewed)

    await store.transaction(work, handling=(CONSUMER, command))


async def mark_overdue(store: Store) -> int:
    """Invoices past their due date with money still owed become overdue (by the clock)."""
    now = store.clock.now()
    changed = 0
    for candidate in await InvoiceRepository(store.db).past_due(now):

        async def work(tx: Transaction, ref: Invoice = candidate) -> bool:
            invoices = InvoiceRepository(tx.db, tx.session)
            current = await invoices.get(ref.organisation_id, ref.customer_id, ref.invoice_id)
            overdue = rules.mark_overdue(current, now) if current else None
            if overdue is None:
                return False
            cause = {
                "organisation_id": overdue.organisation_id,
                "correlation_id": f"overdue:{overdue.invoice_id}",
            }
            await invoices.save(overdue)
            await publish_invoice(tx, cause, overdue)
            return True

        changed += bool(await store.transaction(work))
    return changed
