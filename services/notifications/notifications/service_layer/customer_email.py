"""Queueing an email to a customer's contact from a `SendCustomerEmail` command."""

from __future__ import annotations

import base64
import binascii
import logging

from notifications.adapters.outgoing_mail import OutgoingMailRepository
from notifications.domain.invitations import single_line
from notifications.domain.mail import MailAttachment, OutgoingMail, message_id_for
from notifications.domain.templates import TemplateError, render_customer_email
from portal_contracts.notifications import SendCustomerEmail
from portal_runtime.errors import PermanentFailure
from portal_runtime.sealing import Sealer
from portal_runtime.store import Store, Transaction

log = logging.getLogger(__name__)
CONSUMER = "notifications"


def _attachments(command: SendCustomerEmail) -> tuple[MailAttachment, ...]:
    files = []
    for attachment in command.data.attachments:
        try:
            content = base64.b64decode(attachment.content_base64, validate=True)
        except (binascii.Error, ValueError) as bad:
            raise PermanentFailure(f"attachment '{attachment.filename}' is not base64") from bad
        files.append(
            MailAttachment(single_line(attachment.filename), attachment.content_type, content)
        )
    return tuple(files)


async def queue_customer_email(
    store: Store, sealer: Sealer, sender: str, command: SendCustomerEmail
) -> bool:
    """Store the email for the sender; False if this command was handled before. A command
    that cannot become an email raises PermanentFailure (dead letter, with the reason)."""
    email = command.data
    # Links and codes grant access: opened only to be written into the email, never logged.
    sealed = {name: sealer.open(value) for name, value in email.sealed_values.items()}
    attachments = _attachments(command)
    try:
        rendered = render_customer_email(
            template=email.template,
            language=email.language,
            contact_name=email.to_name,
            merchant_name=email.merchant_name,
            values=email.values,
            sealed=sealed,
            attachments=len(attachments),
        )
    except TemplateError as bad:
        raise PermanentFailure(str(bad)) from bad
    mail = OutgoingMail(
        organisation_id=command.organisation_id,
        customer_id=email.customer_id,
        kind=email.template,
        to=str(email.to_email),
        to_name=single_line(email.to_name),
        subject=rendered.subject,
        text=rendered.text,
        message_id=message_id_for(email.template, command.event_id, sender),
        attachments=attachments,
    )

    async def work(tx: Transaction) -> bool:
        await OutgoingMailRepository(tx.db, tx.session).add(mail, store.clock.now())
        return True

    queued = await store.transaction(work, handling=(CONSUMER, command)) is not None
    if queued:
        log.info("queued %s %s for customer %s", mail.kind, mail.message_id, mail.customer_id)
    return queued
