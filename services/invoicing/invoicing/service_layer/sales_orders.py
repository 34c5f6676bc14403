"""Sales orders: the merchant confirms an order, then fulfils it with an invoice."""

from __future__ import annotations

from invoicing.adapters.document_repositories import INVOICES, SalesOrderRepository, next_number
from invoicing.domain.quotes import quote_total
from invoicing.service_layer.refusals import refuse
from portal_contracts.common import Money
from portal_contracts.documents import (
    CreateSalesOrder,
    DocumentLine,
    FulfilSalesOrder,
    SalesOrderCreated,
    SalesOrderFulfilled,
    SalesOrderFulfilment,
    SalesOrderSnapshot,
)
from portal_contracts.topics import QUOTE_EVENTS
from portal_runtime.store import Store, Transaction

CONSUMER = "invoicing.documents"


async def create_sales_order(store: Store, command: CreateSalesOrder) -> None:
    new = command.data
    org = command.organisation_id

    async def work(tx: Transaction) -> None:
        orders = SalesOrderRepository(tx.db, tx.session)
        if await orders.exists(org, new.sales_order_id):
            return
        now = store.clock.now()
        lines = [line.model_dump() for line in new.lines]
        order = {
            "organisation_id": org,
            "sales_order_id": new.sales_order_id,
            "customer_id": new.customer_id,
            "number": await next_number(tx.db, tx.session, org, "sales_order"),
            "status": "confirmed",
            "currency": new.currency,
            "lines": lines,
            "total_minor": quote_total(lines),
            "quote_id": new.quote_id,
            "reference": new.reference,
            "created_at": now,
        }
        await orders.save(order)
        await tx.emit(
            QUOTE_EVENTS,
            SalesOrderCreated(
                **command.follow_up(),
                occurred_at=now,
                data=SalesOrderSnapshot(
                    sales_order_id=new.sales_order_id,
                    customer_id=new.customer_id,
                    number=order["number"],
                    status="confirmed",
                    currency=new.currency,
                    lines=tuple(DocumentLine.model_validate(line) for line in lines),
                    total=Money(amount_minor=order["total_minor"], currency=new.currency),
                    quote_id=new.quote_id,
                    reference=new.reference,
                    created_at=now,
                ),
            ),
        )

    await store.transaction(work, handling=(CONSUMER, command))


async def fulfil_sales_order(store: Store, command: FulfilSalesOrder) -> None:
    ref = command.data
    org = command.organisation_id

    async def work(tx: Transaction) -> None:
        orders = SalesOrderRepository(tx.db, tx.session)
        now = store.clock.now()
        order = await orders.get(org, ref.customer_id, ref.sales_order_id)
        if order is None:
            await refuse(
                tx,
                QUOTE_EVENTS,
                command,
                ref.customer_id,
                "sales_order_not_found",
                f"there is no sales order '{ref.sales_order_id}'",
                "not_found",
                now,
            )
            return
        if order["status"] == "fulfilled":
            await refuse(
                tx,
                QUOTE_EVENTS,
                command,
                ref.customer_id,
                "already_fulfilled",
                f"sales order {order['number']} is already fulfilled",
                "conflict",
                now,
            )
            return
        # The invoice must be this customer's, when this service already holds it.
        invoice = await tx.db[INVOICES].find_one(
            {"organisation_id": org, "invoice_id": ref.invoice_id},
            {"customer_id": 1, "number": 1},
            session=tx.session,
        )
        if invoice is not None and invoice.get("customer_id") != ref.customer_id:
            await refuse(
                tx,
                QUOTE_EVENTS,
                command,
                ref.customer_id,
                "invoice_not_found",
                f"there is no invoice '{ref.invoice_id}' for this customer",
                "not_found",
                now,
            )
            return
        number = str(invoice["number"]) if invoice is not None else ref.invoice_number
        order.update(
            status="fulfilled", invoice_id=ref.invoice_id, invoice_number=number, fulfilled_at=now
        )
        await orders.save(order)
        await tx.emit(
            QUOTE_EVENTS,
            SalesOrderFulfilled(
                **command.follow_up(),
                occurred_at=now,
                data=SalesOrderFulfilment(
                    sales_order_id=ref.sales_order_id,
                    customer_id=ref.customer_id,
                    number=order["number"],
                    invoice_id=ref.invoice_id,
                    invoice_number=number,
                    at=now,
                ),
            ),
        )

    await store.transaction(work, handling=(CONSUMER, command))
