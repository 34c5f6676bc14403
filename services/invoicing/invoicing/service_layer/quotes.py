"""Quotes: the merchant creates and sends them; the customer views, accepts or declines them;
both sides comment; unanswered ones expire by the clock. Every step is an event on
`invoicing.quote-events`."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from invoicing.adapters.document_repositories import QuoteRepository, next_number
from invoicing.adapters.invoices import MerchantNames
from invoicing.adapters.payments import Leases
from invoicing.adapters.quote_pdf import render_quote_pdf
from invoicing.domain.quotes import Quote, QuoteRuleBroken, quote_total
from invoicing.service_layer.documents import customer_name, emit_document
from invoicing.service_layer.refusals import refuse
from portal_contracts.common import Money
from portal_contracts.documents import (
    AcceptQuote,
    CommentOnQuote,
    CreateQuote,
    DeclineQuote,
    DocumentLine,
    QuoteAccepted,
    QuoteComment,
    QuoteCommentAdded,
    QuoteCreated,
    QuoteDeclined,
    QuoteExpired,
    QuoteExpiry,
    QuoteSent,
    QuoteSnapshot,
    QuoteStep,
    QuoteViewed,
    RecordQuoteView,
    SendQuote,
)
from portal_contracts.envelope import Envelope
from portal_contracts.notifications import CustomerEmail, SendCustomerEmail
from portal_contracts.topics import NOTIFICATIONS_COMMANDS, QUOTE_EVENTS
from portal_runtime.store import Store, Transaction

CONSUMER = "invoicing.documents"
EXPIRY_LEASE = timedelta(seconds=60)
log = logging.getLogger(__name__)


def snapshot(quote: Quote) -> QuoteSnapshot:
    return QuoteSnapshot(
        quote_id=quote.quote_id,
        customer_id=quote.customer_id,
        number=quote.number,
        status=quote.status,
        currency=quote.currency,
        lines=tuple(DocumentLine.model_validate(line) for line in quote.lines),
        total=Money(amount_minor=quote.total_minor, currency=quote.currency),
        expires_on=quote.expires_on,
        notes=quote.notes,
        created_at=quote.created_at,
    )


async def publish_quote_pdf(tx: Transaction, cause: dict[str, Any], quote: Quote) -> None:
    """The quote's PDF as it is now, for the portal's download (gateway `rendered_documents`)."""
    org = quote.organisation_id
    merchant = await MerchantNames(tx.db, tx.session).name(org)
    customer = await customer_name(tx, org, quote.customer_id)
    await emit_document(
        tx,
        cause,
        tx.outbox.clock.now(),
        customer_id=quote.customer_id,
        document_id=quote.quote_id,
        kind="quote",
        number=quote.number,
        pdf=render_quote_pdf(quote, merchant, customer),
    )


def _step(quote: Quote, store: Store, contact_id: str | None = None) -> QuoteStep:
    return QuoteStep(
        quote_id=quote.quote_id,
        customer_id=quote.customer_id,
        number=quote.number,
        status=quote.status,
        at=store.clock.now(),
        contact_id=contact_id,
        reason=quote.decline_reason if quote.status == "declined" else None,
    )


async def create_quote(store: Store, command: CreateQuote) -> None:
    new = command.data
    org = command.organisation_id

    async def work(tx: Transaction) -> None:
        quotes = QuoteRepository(tx.db, tx.session)
        if await quotes.exists(org, new.quote_id):
            return  # the same quote id twice: the first one stands
        now = store.clock.now()
        lines = [line.model_dump() for line in new.lines]
        quote = Quote(
            organisation_id=org,
            quote_id=new.quote_id,
            customer_id=new.customer_id,
            number=await next_number(tx.db, tx.session, org, "quote"),
            status="draft",
            currency=new.currency,
            lines=lines,
            total_minor=quote_total(lines),
            created_at=now,
            expires_on=new.expires_on,
            notes=new.notes,
        )
        await tx.emit(
            QUOTE_EVENTS, QuoteCreated(**command.follow_up(), occurred_at=now, data=snapshot(quote))
        )
        if new.send:
            quote.send(now)
            await tx.emit(
                QUOTE_EVENTS,
                QuoteSent(**command.follow_up(), occurred_at=now, data=_step(quote, store)),
            )
        await quotes.save(quote)
        if quote.status != "draft":
            await publish_quote_pdf(tx, command.follow_up(), quote)

    await store.transaction(work, handling=(CONSUMER, command))


QuoteCommand = SendQuote | RecordQuoteView | AcceptQuote | DeclineQuote


async def change_quote(store: Store, command: QuoteCommand) -> None:
    """Send, view, accept or decline: load, let the quote decide, save and tell."""
    ref = command.data
    org = command.organisation_id

    async def work(tx: Transaction) -> None:
        quotes = QuoteRepository(tx.db, tx.session)
        now = store.clock.now()
        quote = await quotes.get(org, ref.customer_id, ref.quote_id)
        if quote is None:
            await refuse(
                tx,
                QUOTE_EVENTS,
                command,
                ref.customer_id,
                "quote_not_found",
                f"there is no quote '{ref.quote_id}'",
                "not_found",
                now,
            )
            return
        event: Envelope
        try:
            match command:
                case SendQuote():
                    quote.send(now)
                    event = QuoteSent(
                        **command.follow_up(), occurred_at=now, data=_step(quote, store)
                    )
                case RecordQuoteView():
                    if not quote.record_view(now):
                        return
                    event = QuoteViewed(
                        **command.follow_up(),
                        occurred_at=now,
                        data=_step(quote, store, command.actor.id),
                    )
                case AcceptQuote(data=answer):
                    quote.accept(answer.contact_id, now)
                    event = QuoteAccepted(
                        **command.follow_up(),
                        occurred_at=now,
                        data=_step(quote, store, answer.contact_id),
                    )
                case DeclineQuote(data=answer):
                    quote.decline(answer.contact_id, answer.reason, now)
                    event = QuoteDeclined(
                        **command.follow_up(),
                        occurred_at=now,
                        data=_step(quote, store, answer.contact_id),
                    )
        except QuoteRuleBroken as broken:
            await refuse(
                tx,
                QUOTE_EVENTS,
                command,
                ref.customer_id,
                broken.code,
                broken.reason,
                "conflict",
                now,
            )
            return
        await quotes.save(quote)
        await tx.emit(QUOTE_EVENTS, event)
        if not isinstance(command, RecordQuoteView):
            await publish_quote_pdf(tx, command.follow_up(), quote)

    await store.transaction(work, handling=(CONSUMER, command))


async def comment_on_quote(store: Store, command: CommentOnQuote) -> None:
    new = command.data
    org = command.organisation_id

    async def work(tx: Transaction) -> None:
        quotes = QuoteRepository(tx.db, tx.session)
        now = store.clock.now()
        quote = await quotes.get(org, new.customer_id, new.quote_id)
        if quote is None or (new.author == "contact" and quote.status == "draft"):
            await refuse(
                tx,
                QUOTE_EVENTS,
                command,
                new.customer_id,
                "quote_not_found",
                f"there is no quote '{new.quote_id}'",
                "not_found",
                now,
            )
            return
        if any(c["comment_id"] == new.comment_id for c in quote.comments):
            return
        # A contact's comment is always for the portal; the merchant chooses.
        show = True if new.author == "contact" else new.show_in_portal
        comment = QuoteComment(
            quote_id=quote.quote_id,
            customer_id=quote.customer_id,
            comment_id=new.comment_id,
            author=new.author,
            author_name=new.author_name,
            text=new.text,
            show_in_portal=show,
            at=now,
        )
        quote.comments.append(comment.model_dump())
        await quotes.save(quote)
        await tx.emit(
            QUOTE_EVENTS, QuoteCommentAdded(**command.follow_up(), occurred_at=now, data=comment)
        )
        if new.author == "merchant" and show and new.notify is not None:
            await tx.emit(
                NOTIFICATIONS_COMMANDS,
                SendCustomerEmail(
                    **command.follow_up(),
                    occurred_at=now,
                    data=CustomerEmail(
                        template="transaction_comment",
                        customer_id=quote.customer_id,
                        contact_id=new.notify.contact_id,
                        to_email=new.notify.email,
                        to_name=new.notify.name,
                        merchant_name=new.merchant_name or new.author_name or "Your supplier",
                        language=new.language,
                        values={
                            "document_kind": "quote",
                            "document_number": quote.number,
                            "comment": new.text,
                            "author": new.author_name or new.merchant_name,
                        },
                    ),
                ),
            )

    await store.transaction(work, handling=(CONSUMER, command))


async def expire_quotes(store: Store, instance: str | None = None, batch: int = 200) -> int:
    """Sent or viewed quotes past their expiry date become expired (by the clock); returns how
    many this run expired (at most `batch`; the next run takes the rest).

    With `instance`, the run first takes the job's lease, so one instance of the service does
    the work at a time. Safety does not rest on the lease: each quote changes in its own
    transaction, on the condition that it is still open, so concurrent runs (or an answer
    racing the run) expire it once."""
    now = store.clock.now()
    if instance is not None and not await Leases(store.db).take(
        "quote-expiry", instance, now, EXPIRY_LEASE
    ):
        return 0
    expired = 0
    for candidate in await QuoteRepository(store.db).past_expiry(now.date(), batch):

        async def work(tx: Transaction, ref: Quote = candidate) -> bool:
            quotes = QuoteRepository(tx.db, tx.session)
            quote = await quotes.get(ref.organisation_id, ref.customer_id, ref.quote_id)
            if quote is None or not quote.expire(now) or not await quotes.save_expired(quote):
                return False
            assert quote.expires_on is not None  # only a dated quote expires
            cause = {
                "organisation_id": quote.organisation_id,
                "correlation_id": f"expiry:{quote.quote_id}",
            }
            await tx.emit(
                QUOTE_EVENTS,
                QuoteExpired(
                    **cause,
                    occurred_at=now,
                    data=QuoteExpiry(
                        quote_id=quote.quote_id,
                        customer_id=quote.customer_id,
                        number=quote.number,
                        expires_on=quote.expires_on,
                    ),
                ),
            )
            await publish_quote_pdf(tx, cause, quote)
            return True

        expired += bool(await store.transaction(work))
    return expired
