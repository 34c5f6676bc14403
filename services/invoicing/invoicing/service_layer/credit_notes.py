"""Credit notes: issued by the merchant, applied to the customer's open invoices (lowering
their balance, through the invoices' own repository and rules) or refunded."""

from __future__ import annotations

from typing import Any

from invoicing.adapters.document_repositories import (
    CREDIT_NOTES,
    CreditNoteRepository,
    next_number,
)
from invoicing.adapters.invoices import InvoiceRepository
from invoicing.domain.credit_notes import CreditNote, CreditRuleBroken, lines_total
from invoicing.domain.invoices import apply_payment
from invoicing.service_layer.documents import publish_invoice, refresh_balance
from invoicing.service_layer.refusals import refuse
from portal_contracts.common import Money
from portal_contracts.documents import (
    ApplyCredit,
    CreditApplied,
    CreditNoteIssued,
    CreditNoteSnapshot,
    CreditRefunded,
    CreditUse,
    DocumentLine,
    IssueCreditNote,
    RefundCredit,
)
from portal_contracts.invoicing import InvoicePaid, PaidInvoice
from portal_contracts.topics import CREDIT_EVENTS, INVOICE_EVENTS
from portal_runtime.store import Store, Transaction

CONSUMER = "invoicing.documents"
APPLICABLE = ("sent", "viewed", "partially_paid", "overdue")


def snapshot(note: CreditNote) -> CreditNoteSnapshot:
    return CreditNoteSnapshot(
        credit_note_id=note.credit_note_id,
        customer_id=note.customer_id,
        number=note.number,
        status=note.status,
        currency=note.currency,
        lines=tuple(DocumentLine.model_validate(line) for line in note.lines),
        total=Money(amount_minor=note.total_minor, currency=note.currency),
        available=Money(amount_minor=note.available_minor, currency=note.currency),
        reason=note.reason,
        issued_at=note.issued_at,
    )


async def issue_credit_note(store: Store, command: IssueCreditNote) -> None:
    new = command.data
    org = command.organisation_id

    async def work(tx: Transaction) -> None:
        notes = CreditNoteRepository(tx.db, tx.session)
        if await notes.exists(org, new.credit_note_id):
            return
        now = store.clock.now()
        lines = [line.model_dump() for line in new.lines]
        note = CreditNote(
            organisation_id=org,
            credit_note_id=new.credit_note_id,
            customer_id=new.customer_id,
            number=await next_number(tx.db, tx.session, org, "credit_note"),
            currency=new.currency,
            lines=lines,
            total_minor=lines_total(lines),
            issued_at=now,
            reason=new.reason,
        )
        await notes.save(note)
        await refresh_credits(tx, command.follow_up(), org, note.customer_id, note.currency)
        await tx.emit(
            CREDIT_EVENTS,
            CreditNoteIssued(**command.follow_up(), occurred_at=now, data=snapshot(note)),
        )

    await store.transaction(work, handling=(CONSUMER, command))


async def refresh_credits(
    tx: Transaction, cause: dict[str, Any], organisation_id: str, customer_id: str, currency: str
) -> None:
    """The account's unused credits = what its open credit notes still hold; then the balance
    event the portal's home page reads (outstanding and unused credits)."""
    unused = 0
    async for note in tx.db[CREDIT_NOTES].find(
        {
            "organisation_id": organisation_id,
            "customer_id": customer_id,
            "currency": currency,
            "available_minor": {"$gt": 0},
        },
        {"available_minor": 1},
        session=tx.session,
    ):
        unused += int(note["available_minor"])
    # The account document is this service's own; its repository has no setter for credits.
    await tx.db["customer_accounts"].update_one(
        {"organisation_id": organisation_id, "customer_id": customer_id, "currency": currency},
        {"$set": {"unused_credits_minor": unused}},
        session=tx.session,
    )
    await refresh_balance(tx, cause, organisation_id, customer_id, currency)


def _use(note: CreditNote, amount_minor: int, store: Store, **ref: str) -> CreditUse:
    return CreditUse(
        credit_note_id=note.credit_note_id,
        customer_id=note.customer_id,
        number=note.number,
        amount=Money(amount_minor=amount_minor, currency=note.currency),
        available=Money(amount_minor=note.available_minor, currency=note.currency),
        status=note.status,
        at=store.clock.now(),
        **ref,
    )


async def apply_credit(store: Store, command: ApplyCredit) -> None:
    ask = command.data
    org = command.organisation_id

    async def work(tx: Transaction) -> None:
        notes = CreditNoteRepository(tx.db, tx.session)
        invoices = InvoiceRepository(tx.db, tx.session)
        now = store.clock.now()
        note = await notes.get(org, ask.customer_id, ask.credit_note_id)
        invoice = await invoices.get(org, ask.customer_id, ask.invoice_id)
        if note is None or invoice is None:
            missing = "credit note" if note is None else "invoice"
            await refuse(
                tx,
                CREDIT_EVENTS,
                command,
                ask.customer_id,
                f"{missing.replace(' ', '_')}_not_found",
                f"there is no such {missing} for this customer",
                "not_found",
                now,
            )
            return
        if invoice.currency != note.currency:
            await refuse(
                tx,
                CREDIT_EVENTS,
                command,
                ask.customer_id,
                "currency_mismatch",
                f"the invoice is in {invoice.currency}, the credit in {note.currency}",
                "invalid",
                now,
            )
            return
        if invoice.status not in APPLICABLE:
            await refuse(
                tx,
                CREDIT_EVENTS,
                command,
                ask.customer_id,
                "invoice_not_open",
                f"invoice {invoice.number} is {invoice.status}",
                "conflict",
                now,
            )
            return
        try:
            note.apply(invoice.invoice_id, ask.amount_minor, invoice.balance_minor, now)
        except CreditRuleBroken as broken:
            await refuse(
                tx,
                CREDIT_EVENTS,
                command,
                ask.customer_id,
                broken.code,
                broken.reason,
                "conflict",
                now,
            )
            return
        # The invoice's own rule settles it: credit lowers the balance as a payment would.
        updated = apply_payment(invoice, ask.amount_minor, now)
        await invoices.save(updated)
        await notes.save(note)
        follow = command.follow_up()
        await tx.emit(
            CREDIT_EVENTS,
            CreditApplied(
                **follow,
                occurred_at=now,
                data=_use(note, ask.amount_minor, store, invoice_id=invoice.invoice_id),
            ),
        )
        # The invoice as it is now (event and PDF) and what the customer owes, as payments do.
        await publish_invoice(tx, follow, updated)
        await refresh_credits(tx, follow, org, ask.customer_id, note.currency)
        if updated.status == "paid":
            await tx.emit(
                INVOICE_EVENTS,
                InvoicePaid(
                    **follow,
                    occurred_at=now,
                    data=PaidInvoice(
                        customer_id=updated.customer_id,
                        invoice_id=updated.invoice_id,
                        subscription_id=updated.subscription_id,
                        amount=Money(amount_minor=updated.total_minor, currency=updated.currency),
                    ),
                ),
            )

    await store.transaction(work, handling=(CONSUMER, command))


async def refund_credit(store: Store, command: RefundCredit) -> None:
    ask = command.data
    org = command.organisation_id

    async def work(tx: Transaction) -> None:
        notes = CreditNoteRepository(tx.db, tx.session)
        now = store.clock.now()
        note = await notes.get(org, ask.customer_id, ask.credit_note_id)
        if note is None:
            await refuse(
                tx,
                CREDIT_EVENTS,
                command,
                ask.customer_id,
                "credit_note_not_found",
                f"there is no credit note '{ask.credit_note_id}'",
                "not_found",
                now,
            )
            return
        if any(r["refund_id"] == ask.refund_id for r in note.refunds):
            return
        try:
            note.refund(ask.refund_id, ask.amount_minor, ask.reference, now)
        except CreditRuleBroken as broken:
            await refuse(
                tx,
                CREDIT_EVENTS,
                command,
                ask.customer_id,
                broken.code,
                broken.reason,
                "conflict",
                now,
            )
            return
        await notes.save(note)
        await refresh_credits(tx, command.follow_up(), org, ask.customer_id, note.currency)
        await tx.emit(
            CREDIT_EVENTS,
            CreditRefunded(
                **command.follow_up(),
                occurred_at=now,
                data=_use(
                    note, ask.amount_minor, store, refund_id=ask.refund_id, reference=ask.reference
                ),
            ),
        )

    await store.transaction(work, handling=(CONSUMER, command))
