"""Opening a receivables account when a customer is created."""

from __future__ import annotations

from dataclasses import replace

from invoicing.adapters.accounts import AccountRepository
from invoicing.domain.accounts import open_account
from portal_contracts.customers import CustomerCreated
from portal_contracts.invoicing import CustomerAccountOpened
from portal_contracts.topics import INVOICING_ACCOUNT_EVENTS
from portal_runtime.store import Store, Transaction

CONSUMER = "invoicing"


async def handle_customer_created(store: Store, event: CustomerCreated) -> None:
    async def work(tx: Transaction) -> None:
        accounts = AccountRepository(tx.db, tx.session)
        existing = await accounts.get(event.organisation_id, event.data.customer_id)
        if existing is not None and existing.opened_at is not None:
            return
        account = open_account(event.organisation_id, event.data, store.clock.now())
        if existing is not None:
            account = replace(account, outstanding_minor=existing.outstanding_minor)
        await accounts.add(account)
        await tx.emit(
            INVOICING_ACCOUNT_EVENTS,
            CustomerAccountOpened(
                **event.follow_up(), occurred_at=store.clock.now(), data=account.balance()
            ),
        )

    await store.transaction(work, handling=(CONSUMER, event))
