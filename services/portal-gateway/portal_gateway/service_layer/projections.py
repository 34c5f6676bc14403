"""Keeping the read models up to date from the services' events."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from portal_contracts.customers import CustomerCreated
from portal_contracts.envelope import Envelope
from portal_contracts.identity import (
    PortalAccessDisabled,
    PortalAccessEnabled,
    PortalAccessRefused,
    PortalInvitationAccepted,
    PortalInvitationIssued,
    PortalInvitationResent,
    PortalLinkResent,
    PortalSignUpRequested,
    PortalSignUpVerified,
)
from portal_contracts.invoicing import CustomerAccountOpened
from portal_gateway.adapters.read_models import CustomerViews
from portal_gateway.service_layer.commands import record_outcome
from portal_gateway.service_layer.context import Gateway
from portal_gateway.service_layer.customer_details import project_customer_details
from portal_gateway.service_layer.dashboard import project_dashboard
from portal_gateway.service_layer.document_views import project_documents
from portal_gateway.service_layer.invoice_views import project_invoicing
from portal_gateway.service_layer.notification_views import project_notifications
from portal_gateway.service_layer.portal_access import project_revocations
from portal_gateway.service_layer.project_views import project_projects
from portal_gateway.service_layer.subscription_views import project_subscription_views
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
        # Portal access per contact (docs/identity-access.md); "expired" is worked out when read.
        case PortalInvitationIssued(data=facts) | PortalInvitationResent(data=facts):
            await views.update(
                org,
                facts.customer_id,
                {
                    f"portal_access.{facts.contact_id}": {
                        "status": "invited",
                        "expires_at": facts.expires_at.isoformat(),
                        "invited_at": event.occurred_at.isoformat(),
                    },
                },
            )
        case PortalInvitationAccepted(data=ref) | PortalSignUpVerified(data=ref):
            await views.update(
                org,
                ref.customer_id,
                {
                    f"portal_access.{ref.contact_id}": {
                        "status": "accepted",
                        "accepted_at": event.occurred_at.isoformat(),
                    },
                },
            )
        case PortalSignUpRequested(data=ref):
            await views.update(
                org,
                ref.customer_id,
                {
                    f"portal_access.{ref.contact_id}": {
                        "status": "sign_up_pending",
                        "requested_at": event.occurred_at.isoformat(),
                    },
                },
            )
        case PortalLinkResent(data=ref):
            await views.update(
                org,
                ref.customer_id,
                {f"portal_access.{ref.contact_id}.link_resent_at": event.occurred_at.isoformat()},
            )
        case PortalAccessEnabled(data=change):
            await views.update(org, change.customer_id, {"portal_enabled": True})
        case PortalAccessDisabled(data=removal):
            changes: dict[str, object] = {
                f"portal_access.{contact_id}": {
                    "status": "disabled",
                    "disabled_at": event.occurred_at.isoformat(),
                }
                for contact_id in removal.contact_ids
            }
            if removal.whole_customer:
                changes["portal_enabled"] = False
            await views.update(org, removal.customer_id, changes)
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
PROJECTORS: list[Projector] = [
    project_customer_view,
    project_customer_details,
    project_revocations,
    project_notifications,
    project_subscription_views,
    project_documents,
    project_invoicing,
    project_projects,
    project_dashboard,  # last: it reads what the module projectors just wrote
]
