"""Keeping the read models up to date from the services' events."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from portal_contracts.customers import CustomerCreated
from portal_contracts.envelope import Envelope
from portal_contracts.identity import (
    PortalAccessRefused,
    PortalInvitationAccepted,
    PortalInvitationIssued,
)
from portal_contracts.invoicing import CustomerAccountOpened
from portal_gateway.adapters.read_models import CustomerViews
from portal_gateway.service_layer.commands import record_outcome
from portal_gateway.service_layer.context import Gateway
from portal_runtime.store import Transaction

CONSUMER = "portal-gateway"


Projector = Callable[[Transaction, Envelope], Awaitable[None]]


async def project(gateway: Gateway, event: Envelope) -> None:
    """Apply one event to every read model, once (inbox), and settle the command it answers
    in the same transaction; then wake the request waiting on it in this process."""
    outcome: dict[str, object] | None = None

    async def work(tx: Transaction) -> None:
        nonlocal outcome
        for projector in PROJECTORS:
            await projector(tx, event)
        outcome = await record_outcome(tx, event)

    await gateway.store.transaction(work, handling=(CONSUMER, event))
    if outcome is not None:
        gateway.tracker.resolve(event.correlation_id, outcome)


async def project_customer_view(tx: Transaction, event: Envelope) -> None:
    """The customer's own view: names, contacts, portal access per contact, balances."""
    views = CustomerViews(tx.db, tx.session)
    org = event.organisation_id
    match event:
        case CustomerCreated(data=customer):
            await views.update(
                org,
                customer.customer_id,
                {
                    "display_name": customer.display_name,
                    "company_name": customer.company_name,
                    "currency": customer.currency,
                    "portal_language": customer.portal_language,
                    "portal_enabled": customer.portal_enabled,
                    "contacts": [c.model_dump(mode="json") for c in customer.contacts],
                },
            )
        case PortalInvitationIssued(data=facts):
            await views.update(
                org,
                facts.customer_id,
                {
                    f"portal_access.{facts.contact_id}": {
                        "status": "invited",
                        "expires_at": facts.expires_at.isoformat(),
                    },
                },
            )
        case PortalInvitationAccepted(data=ref):
            await views.update(
                org,
                ref.customer_id,
                {
                    f"portal_access.{ref.contact_id}": {"status": "accepted"},
                },
            )
        case PortalAccessRefused(data=refusal):
            await views.update(
                org,
                refusal.customer_id,
                {
                    f"portal_access.{refusal.contact_id}": {
                        "status": "refused",
                        "reason": refusal.reason,
                    },
                },
            )
        case CustomerAccountOpened(data=balance):
            await views.update(
                org,
                balance.customer_id,
                {
                    "outstanding": balance.outstanding.model_dump(),
                    "unused_credits": balance.unused_credits.model_dump(),
                },
            )


# Every read model's projector; a module adds its own here.
PROJECTORS: list[Projector] = [project_customer_view]
