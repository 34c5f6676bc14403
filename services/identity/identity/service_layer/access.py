"""Granting portal access: merchants become known, customers' contacts get invitations."""

from __future__ import annotations

import logging
import secrets
from datetime import timedelta
from urllib.parse import quote

from identity.adapters.repositories import Invitations, Merchants, PortalUsers
from identity.domain.invitations import new_invitation
from identity.service_layer.context import Identity
from portal_contracts.common import Contact
from portal_contracts.customers import CustomerCreated
from portal_contracts.identity import (
    AccessRefusal,
    InvitationFacts,
    PortalAccessRefused,
    PortalInvitationIssued,
)
from portal_contracts.merchants import MerchantRegistered
from portal_contracts.notifications import InvitationEmail, SendPortalInvitation
from portal_contracts.topics import IDENTITY_ACCESS_EVENTS, NOTIFICATIONS_COMMANDS
from portal_runtime.errors import RetryableFailure
from portal_runtime.sealing import token_digest
from portal_runtime.store import Transaction

log = logging.getLogger(__name__)
CONSUMER = "identity"


async def handle_merchant_registered(identity: Identity, event: MerchantRegistered) -> None:
    async def work(tx: Transaction) -> None:
        await Merchants(tx.db, tx.session).save(
            event.organisation_id, event.data.name, event.data.portal_slug
        )

    await identity.store.transaction(work, handling=(CONSUMER, event))


async def handle_customer_created(identity: Identity, event: CustomerCreated) -> None:
    customer = event.data
    if not customer.portal_enabled:
        return
    primary = next(c for c in customer.contacts if c.is_primary)

    async def work(tx: Transaction) -> None:
        merchant = await Merchants(tx.db, tx.session).by_id(event.organisation_id)
        if merchant is None:
            # The merchant's registration travels on another topic and may not be here yet.
            raise RetryableFailure(f"merchant {event.organisation_id} not known yet")
        await invite_contact(
            identity, tx, event, customer.customer_id, primary, merchant, customer.portal_language
        )

    await identity.store.transaction(work, handling=(CONSUMER, event))


async def invite_contact(
    identity: Identity,
    tx: Transaction,
    cause: CustomerCreated,
    customer_id: str,
    contact: Contact,
    merchant: dict[str, str],
    language: str,
) -> None:
    now = identity.store.clock.now()
    if contact.email is None:
        await tx.emit(
            IDENTITY_ACCESS_EVENTS,
            PortalAccessRefused(
                **cause.follow_up(),
                occurred_at=now,
                data=AccessRefusal(
                    customer_id=customer_id,
                    contact_id=contact.contact_id,
                    reason="the contact has no email address",
                ),
            ),
        )
        return
    token = secrets.token_urlsafe(32)
    invitation = new_invitation(
        cause.organisation_id,
        customer_id,
        contact.contact_id,
        token_digest(token),
        now,
        timedelta(days=identity.settings.invitation_days),
    )
    await PortalUsers(tx.db, tx.session).invite(
        cause.organisation_id,
        customer_id,
        contact.contact_id,
        contact.email,
        contact.full_name,
        now,
    )
    await Invitations(tx.db, tx.session).add(invitation)
    link = (
        f"{identity.settings.public_url.rstrip('/')}/portal/{merchant['portal_slug']}"
        f"/accept-invitation?token={quote(token)}"
    )
    await tx.emit(
        NOTIFICATIONS_COMMANDS,
        SendPortalInvitation(
            **cause.follow_up(),
            occurred_at=now,
            data=InvitationEmail(
                customer_id=customer_id,
                contact_id=contact.contact_id,
                to_email=contact.email,
                to_name=contact.full_name,
                merchant_name=merchant["name"],
                language=language,
                sealed_link=identity.sealer.seal(link),
                expires_at=invitation.expires_at,
            ),
        ),
    )
    await tx.emit(
        IDENTITY_ACCESS_EVENTS,
        PortalInvitationIssued(
            **cause.follow_up(),
            occurred_at=now,
            data=InvitationFacts(
                customer_id=customer_id,
                contact_id=contact.contact_id,
                expires_at=invitation.expires_at,
            ),
        ),
    )
    log.info("invited contact %s of customer %s", contact.contact_id, customer_id)
