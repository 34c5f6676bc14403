"""`invoicing.commands`: one subscriber; each command type goes to its use case.

Other modules of the service add a `case` line for their commands below.
"""

from __future__ import annotations

from invoicing.domain import invoices as rules
from invoicing.service_layer import invoices, payments
from invoicing.service_layer.document_commands import handle_document_command
from invoicing.service_layer.payments import Payments
from portal_contracts.invoicing import (
    AddPaymentMethod,
    ConfigureInvoicing,
    CreateInvoice,
    InvoiceMessage,
    InvoicingCommand,
    MarkInvoiceViewed,
    PayInvoices,
    PaymentMessage,
    RemovePaymentMethod,
    ResolveBankPayment,
    SendInvoice,
    UpdatePaymentMethod,
    VoidInvoice,
)
from portal_contracts.notifications import NotificationsCommand
from portal_contracts.topics import (
    INVOICE_EVENTS,
    INVOICING_COMMANDS,
    NOTIFICATIONS_COMMANDS,
    PAYMENT_EVENTS,
)
from portal_runtime.messaging import subscriber
from portal_runtime.runtime import ServiceRuntime


def register(runtime: ServiceRuntime, ctx: Payments) -> None:
    broker = runtime.broker
    store = runtime.store

    @subscriber(
        broker,
        runtime.settings,
        INVOICING_COMMANDS,
        group="invoicing.commands",
        title="invoicing.commands:invoicing",
        description="Commands to invoicing from the portal and the merchant's admin API.",
    )
    async def on_command(command: InvoicingCommand) -> None:
        match command:
            case ConfigureInvoicing():
                for raised in await invoices.configure(store, command):
                    await payments.autocharge(ctx, raised.invoice, raised.cause)
            case CreateInvoice():
                await invoices.create_invoice(store, command)
            case SendInvoice():
                await invoices.change_invoice(store, command, rules.send)
            case VoidInvoice():
                await invoices.change_invoice(store, command, rules.void)
            case MarkInvoiceViewed():
                await invoices.mark_viewed(store, command)
            case PayInvoices():
                await payments.pay(ctx, command)
            case ResolveBankPayment():
                await payments.resolve_bank_payment(ctx, command)
            case AddPaymentMethod():
                await payments.add_method(ctx, command)
            case UpdatePaymentMethod():
                await payments.update_method(ctx, command)
            case RemovePaymentMethod():
                await payments.remove_method(ctx, command)
            case _:
                await handle_document_command(store, command)

    broker.publisher(
        INVOICE_EVENTS,
        title="invoicing.invoice-events:publish",
        description="Invoices issued, changed, viewed, paid; their PDFs (outbox; key = customer).",
        schema=InvoiceMessage,
    )
    broker.publisher(
        PAYMENT_EVENTS,
        title="invoicing.payment-events:publish",
        description="Payments, failed automatic charges, saved methods (outbox; key = customer).",
        schema=PaymentMessage,
    )
    broker.publisher(
        NOTIFICATIONS_COMMANDS,
        title="notifications.commands:invoicing",
        description="Receipts and failed-payment emails to customers (outbox; key = customer id).",
        schema=NotificationsCommand,
    )
