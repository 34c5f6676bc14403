"""The document commands on `invoicing.commands`: quotes, sales orders, credit notes,
statements and forwarding. The invoicing commands handler hands them here."""

from __future__ import annotations

from invoicing.service_layer.credit_notes import apply_credit, issue_credit_note, refund_credit
from invoicing.service_layer.forwarding import forward_document
from invoicing.service_layer.projects import change_project, create_project
from invoicing.service_layer.quotes import change_quote, comment_on_quote, create_quote
from invoicing.service_layer.sales_orders import create_sales_order, fulfil_sales_order
from invoicing.service_layer.statements import generate_statement
from portal_contracts import documents as d
from portal_contracts import projects as p
from portal_contracts.envelope import Envelope, UnrecognisedMessage
from portal_runtime.store import Store


async def handle_document_command(store: Store, command: Envelope | UnrecognisedMessage) -> bool:
    """Handle `command` if it is a document command; False when it is not one."""
    match command:
        case d.CreateQuote():
            await create_quote(store, command)
        case d.SendQuote() | d.RecordQuoteView() | d.AcceptQuote() | d.DeclineQuote():
            await change_quote(store, command)
        case d.CommentOnQuote():
            await comment_on_quote(store, command)
        case d.CreateSalesOrder():
            await create_sales_order(store, command)
        case d.FulfilSalesOrder():
            await fulfil_sales_order(store, command)
        case d.ForwardDocument():
            await forward_document(store, command)
        case d.IssueCreditNote():
            await issue_credit_note(store, command)
        case d.ApplyCredit():
            await apply_credit(store, command)
        case d.RefundCredit():
            await refund_credit(store, command)
        case d.GenerateStatement():
            await generate_statement(store, command)
        case p.CreateProject():
            await create_project(store, command)
        case p.LogTime() | p.SubmitTimesheet() | p.ApproveTimesheet() | p.RejectTimesheet():
            await change_project(store, command)
        case _:
            return False
    return True
