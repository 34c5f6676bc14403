"""Keeping the read models up to date from the services' events."""

from __future__ import annotations

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


async def project(gateway: Gateway, event: Envelope) -> None:
    """Apply one event to the read models, once; then wake a request waiting on it."""
    outcome: dict[str, object] | None = None

    async def work(tx: Transaction) -> None:
        nonlocal outcome
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
        outcome = await record_outcome(tx, event)

    await gateway.store.transaction(work, handling=(CONSUMER, event))
    if outcome is not None:
        gateway.tracker.resolve(event.correlation_id, outcome)
