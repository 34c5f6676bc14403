"""Queueing the email that invites a contact to the customer portal."""

from __future__ import annotations

import logging

from notifications.adapters.outgoing_mail import OutgoingMailRepository
from notifications.domain.invitations import render_invitation, single_line
from notifications.domain.mail import PORTAL_INVITATION, OutgoingMail, message_id_for
from portal_contracts.notifications import SendPortalInvitation
from portal_runtime.sealing import Sealer
from portal_runtime.store import Store, Transaction

log = logging.getLogger(__name__)
CONSUMER = "notifications"


async def queue_portal_invitation(
    store: Store, sealer: Sealer, sender: str, command: SendPortalInvitation
) -> bool:
    """Store the invitation email for the sender; False if this command was handled before.

    The link grants access to the portal: it is opened here only to be written into the email,
    and never logged."""
    invitation = command.data
    # A link that cannot be opened raises PermanentFailure: the command goes to dead letters.
    link = sealer.open(invitation.sealed_link)
    rendered = render_invitation(
        language=invitation.language,
        contact_name=invitation.to_name,
        merchant_name=invitation.merchant_name,
        link=link,
        expires_at=invitation.expires_at,
    )
    mail = OutgoingMail(
        organisation_id=command.organisation_id,
        customer_id=invitation.customer_id,
        kind=PORTAL_INVITATION,
        to=str(invitation.to_email),
        to_name=single_line(invitation.to_name),
        subject=rendered.subject,
        text=rendered.text,
        message_id=message_id_for(PORTAL_INVITATION, command.event_id, sender),
    )

    async def work(tx: Transaction) -> bool:
        await OutgoingMailRepository(tx.db, tx.session).add(mail, store.clock.now())
        return True

    queued = await store.transaction(work, handling=(CONSUMER, command)) is not None
    if queued:
        log.info("queued %s for customer %s", mail.message_id, mail.customer_id)
    else:
        log.info("%s was handled before; nothing queued", command.event_id)
    return queued
