"""Forwarding an invoice or quote to another person: an email with the document's PDF, and
that person becomes a contact of the customer (subscriptions owns contacts)."""

from __future__ import annotations

import base64
import uuid

from invoicing.adapters.document_repositories import QuoteRepository
from invoicing.adapters.invoices import InvoiceRepository, MerchantNames
from invoicing.adapters.quote_pdf import render_quote_pdf
from invoicing.service_layer.documents import customer_name, invoice_pdf
from invoicing.service_layer.refusals import refuse
from portal_contracts.customers import AddContactPerson, ContactPerson, NewContactPerson
from portal_contracts.documents import DocumentForwarded, ForwardDocument, ForwardedDocument
from portal_contracts.notifications import Attachment, CustomerEmail, SendCustomerEmail
from portal_contracts.topics import NOTIFICATIONS_COMMANDS, QUOTE_EVENTS, SUBSCRIPTIONS_COMMANDS
from portal_runtime.store import Store, Transaction

CONSUMER = "invoicing.documents"


async def forward_document(store: Store, command: ForwardDocument) -> None:
    ask = command.data
    org = command.organisation_id

    async def work(tx: Transaction) -> None:
        now = store.clock.now()
        merchant = ask.merchant_name or await MerchantNames(tx.db, tx.session).name(org)
        customer = await customer_name(tx, org, ask.customer_id)
        pdf: bytes | None = None
        number = ""
        if ask.document_kind == "invoice":
            invoice = await InvoiceRepository(tx.db, tx.session).get(
                org, ask.customer_id, ask.document_id
            )
            if invoice is not None and invoice.status != "draft":
                number, pdf = invoice.number, invoice_pdf(invoice, merchant, customer)
        else:
            quote = await QuoteRepository(tx.db, tx.session).get(
                org, ask.customer_id, ask.document_id
            )
            if quote is not None and quote.status != "draft":
                number, pdf = quote.number, render_quote_pdf(quote, merchant, customer)
        if pdf is None:
            await refuse(
                tx,
                QUOTE_EVENTS,
                command,
                ask.customer_id,
                f"{ask.document_kind}_not_found",
                f"there is no {ask.document_kind} '{ask.document_id}'",
                "not_found",
                now,
            )
            return
        # The new contact's id is chosen here so the forwarding event can name it.
        person = uuid.uuid5(uuid.NAMESPACE_URL, f"{org}:{ask.customer_id}:{ask.to.email}")
        contact_id = f"ct_{person.hex[:20]}"
        follow = command.follow_up()
        await tx.emit(
            QUOTE_EVENTS,
            DocumentForwarded(
                **follow,
                occurred_at=now,
                data=ForwardedDocument(
                    customer_id=ask.customer_id,
                    document_kind=ask.document_kind,
                    document_id=ask.document_id,
                    document_number=number,
                    to_email=ask.to.email,
                    contact_id=contact_id,
                    at=now,
                ),
            ),
        )
        await tx.emit(
            NOTIFICATIONS_COMMANDS,
            SendCustomerEmail(
                **follow,
                occurred_at=now,
                data=CustomerEmail(
                    template="forwarded_document",
                    customer_id=ask.customer_id,
                    contact_id=contact_id,
                    to_email=ask.to.email,
                    to_name=ask.to.name or f"{ask.first_name} {ask.last_name}".strip(),
                    merchant_name=merchant,
                    language=ask.language,
                    values={
                        "document_kind": ask.document_kind,
                        "document_number": number,
                        "sender_name": ask.sender_name or customer,
                    },
                    attachments=(
                        Attachment(
                            filename=f"{number}.pdf", content_base64=base64.b64encode(pdf).decode()
                        ),
                    ),
                ),
            ),
        )
        # Its own correlation id: a refusal (say, the person already is a contact) must not
        # settle the forwarding the portal waits on.
        await tx.emit(
            SUBSCRIPTIONS_COMMANDS,
            AddContactPerson(
                organisation_id=org,
                correlation_id=f"{command.correlation_id}:contact"[:128],
                causation_id=str(command.event_id),
                actor=command.actor,
                occurred_at=now,
                data=NewContactPerson(
                    customer_id=ask.customer_id,
                    contact_id=contact_id,
                    contact=ContactPerson(
                        first_name=ask.first_name, last_name=ask.last_name, email=ask.to.email
                    ),
                ),
            ),
        )

    await store.transaction(work, handling=(CONSUMER, command))
