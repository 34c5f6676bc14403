"""Use cases of the catalogue and of subscriptions: load, decide (domain), save and emit in one
transaction. A refusal is a `CommandRejected` with the command's correlation id."""

from __future__ import annotations

import logging
from datetime import datetime

from portal_contracts.catalogue import CatalogueItemDefined, DefineCatalogueItem
from portal_contracts.customers import CommandRejected, Rejection
from portal_contracts.envelope import Envelope
from portal_contracts.invoicing import (
    AutochargeFailed,
    InvoicePaid,
    PaymentMethodRemoved,
    PaymentMethodReplaced,
)
from portal_contracts.subscriptions import (
    ActOnSubscription,
    ChargeRaised,
    CreateSubscription,
    PreviewSubscriptionAction,
    SubscriptionActionPreviewed,
    SubscriptionChange,
    SubscriptionChanged,
)
from portal_contracts.topics import CATALOGUE_EVENTS, SUBSCRIPTION_EVENTS
from portal_runtime.store import Store, Transaction
from subscriptions.adapters.customers import CustomerRepository
from subscriptions.adapters.subscriptions import CatalogueRepository, SubscriptionRepository
from subscriptions.domain.subscriptions import (
    Catalogue,
    Outcome,
    Refused,
    act,
    autocharge_failed,
    create,
    invoice_paid,
    payment_method_removed,
    payment_method_replaced,
)

log = logging.getLogger(__name__)
CONSUMER = "subscriptions"


async def _reject(
    tx: Transaction,
    topic: str,
    command: Envelope,
    customer_id: str,
    refused: Refused,
    now: datetime,
) -> None:
    await tx.emit(
        topic,
        CommandRejected(
            **command.follow_up(),
            occurred_at=now,
            actor=command.actor,
            data=Rejection(
                customer_id=customer_id,
                command_type=command.type,
                code=refused.code,
                reason=refused.reason,
                kind=refused.kind,
            ),
        ),
    )
    log.info("refused %s for %s: %s", command.type, customer_id, refused.code)


async def emit_outcome(
    tx: Transaction, cause: Envelope | None, organisation_id: str, outcome: Outcome
) -> None:
    """`SubscriptionChanged` and, when the outcome costs money, `ChargeRaised` (same key)."""
    sub = outcome.subscription
    envelope = (
        cause.follow_up()
        if cause is not None
        else {
            "organisation_id": organisation_id,
            "correlation_id": f"clock:{sub.subscription_id}:{sub.version}",
        }
    )
    actor = {"actor": cause.actor} if cause is not None else {}
    at = outcome.at
    await tx.emit(
        SUBSCRIPTION_EVENTS,
        SubscriptionChanged(
            **envelope,
            **actor,
            occurred_at=at,
            data=SubscriptionChange(
                customer_id=sub.customer_id,
                subscription_id=sub.subscription_id,
                change=outcome.change,
                subscription=sub,
                charge=outcome.charge,
            ),
        ),
    )
    if outcome.charge is not None:
        await tx.emit(
            SUBSCRIPTION_EVENTS,
            ChargeRaised(**envelope, **actor, occurred_at=at, data=outcome.charge),
        )


async def handle_define_catalogue_item(store: Store, command: DefineCatalogueItem) -> None:
    async def work(tx: Transaction) -> None:
        await CatalogueRepository(tx.db, tx.session).put(command.organisation_id, command.data.item)
        await tx.emit(
            CATALOGUE_EVENTS,
            CatalogueItemDefined(
                **command.follow_up(),
                occurred_at=store.clock.now(),
                actor=command.actor,
                data=command.data,
            ),
        )

    await store.transaction(work, handling=(CONSUMER, command))


async def handle_create_subscription(store: Store, command: CreateSubscription) -> None:
    new = command.data
    org = command.organisation_id

    async def work(tx: Transaction) -> None:
        now = store.clock.now()
        subscriptions = SubscriptionRepository(tx.db, tx.session)
        try:
            customer = await CustomerRepository(tx.db, tx.session).get(org, new.customer_id)
            if customer is None:
                raise Refused("unknown_customer", "there is no such customer", "not_found")
            if await subscriptions.get(org, new.subscription_id) is not None:
                raise Refused("subscription_exists", "a subscription with this id exists")
            catalogue = await CatalogueRepository(tx.db, tx.session).load(org)
            outcome = create(new, customer.currency, catalogue, now)
        except Refused as refused:
            await _reject(tx, SUBSCRIPTION_EVENTS, command, new.customer_id, refused, now)
            return
        await subscriptions.add(org, outcome.subscription)
        await emit_outcome(tx, command, org, outcome)

    await store.transaction(work, handling=(CONSUMER, command))


async def handle_action(
    store: Store, command: ActOnSubscription | PreviewSubscriptionAction
) -> None:
    """Apply an action, or (preview) run the same decision and publish what it would do."""
    request = command.data
    org = command.organisation_id
    preview = isinstance(command, PreviewSubscriptionAction)

    async def work(tx: Transaction) -> None:
        now = store.clock.now()
        subscriptions = SubscriptionRepository(tx.db, tx.session)
        try:
            sub = await subscriptions.get(org, request.subscription_id)
            # Another customer's subscription is indistinguishable from a missing one.
            if sub is None or sub.customer_id != request.customer_id:
                raise Refused("unknown_subscription", "there is no such subscription", "not_found")
            catalogue = await CatalogueRepository(tx.db, tx.session).load(org)
            outcome = act(
                sub, request.action, catalogue, now, by_customer=command.actor.kind == "contact"
            )
        except Refused as refused:
            await _reject(tx, SUBSCRIPTION_EVENTS, command, request.customer_id, refused, now)
            return
        if preview:
            await tx.emit(
                SUBSCRIPTION_EVENTS,
                SubscriptionActionPreviewed(
                    **command.follow_up(),
                    occurred_at=now,
                    actor=command.actor,
                    data=SubscriptionChange(
                        customer_id=sub.customer_id,
                        subscription_id=sub.subscription_id,
                        change=outcome.change,
                        subscription=outcome.subscription,
                        charge=outcome.charge,
                    ),
                ),
            )
            return
        await subscriptions.save(org, outcome.subscription, sub.version)
        await emit_outcome(tx, command, org, outcome)
        log.info("%s on %s", outcome.change, sub.subscription_id)

    await store.transaction(work, handling=(CONSUMER, command))


async def handle_payment_outcome(store: Store, event: InvoicePaid | AutochargeFailed) -> None:
    """Invoicing's word on a subscription's money: past due, unpaid, or live again."""
    subscription_id = event.data.subscription_id
    if not subscription_id:
        return
    org = event.organisation_id

    async def work(tx: Transaction) -> None:
        subscriptions = SubscriptionRepository(tx.db, tx.session)
        sub = await subscriptions.get(org, subscription_id)
        if sub is None:
            return
        now = store.clock.now()
        if isinstance(event, InvoicePaid):
            outcome = invoice_paid(sub, now)
        else:
            outcome = autocharge_failed(sub, event.data.final, now)
        if outcome is None:
            return
        await subscriptions.save(org, outcome.subscription, sub.version)
        await emit_outcome(tx, event, org, outcome)

    await store.transaction(work, handling=(CONSUMER, event))


async def handle_payment_method_change(
    store: Store, event: PaymentMethodReplaced | PaymentMethodRemoved
) -> None:
    """The customer replaced or deleted a saved method: every subscription of theirs linked to
    it follows, in one transaction, each with its own `SubscriptionChanged`."""
    org = event.organisation_id
    customer_id = event.data.customer_id
    old = (
        event.data.old_payment_method_id
        if isinstance(event, PaymentMethodReplaced)
        else event.data.payment_method_id
    )

    async def work(tx: Transaction) -> None:
        subscriptions = SubscriptionRepository(tx.db, tx.session)
        now = store.clock.now()
        for sub in await subscriptions.paying_with(org, customer_id, old):
            if isinstance(event, PaymentMethodReplaced):
                outcome = payment_method_replaced(sub, old, event.data.new_payment_method_id, now)
            else:
                outcome = payment_method_removed(sub, old, now)
            if outcome is None:
                continue
            await subscriptions.save(org, outcome.subscription, sub.version)
            await emit_outcome(tx, event, org, outcome)
            log.info("%s on %s", outcome.change, sub.subscription_id)

    await store.transaction(work, handling=(CONSUMER, event))


async def load_catalogue_for(tx: Transaction, organisation_id: str, needed: bool) -> Catalogue:
    if not needed:
        return Catalogue()
    return await CatalogueRepository(tx.db, tx.session).load(organisation_id)
