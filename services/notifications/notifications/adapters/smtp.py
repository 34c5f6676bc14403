"""The SMTP gateway: one connection per email, through aiosmtplib."""

from __future__ import annotations

from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime

import aiosmtplib

from notifications.domain.mail import OutgoingMail
from notifications.settings import NotificationsSettings


class MailDeliveryError(Exception):
    """The SMTP server could not be reached or did not accept the email; worth trying again."""


class SmtpMailer:
    def __init__(self, settings: NotificationsSettings) -> None:
        self.host = settings.smtp_host
        self.port = settings.smtp_port
        self.username = settings.smtp_username
        self.password = settings.smtp_password
        self.timeout = settings.smtp_timeout_seconds
        self.sender = settings.mail_from

    async def send(self, mail: OutgoingMail, at: datetime) -> None:
        try:
            await aiosmtplib.send(
                compose(mail, self.sender, at),
                hostname=self.host,
                port=self.port,
                username=self.username,
                password=self.password.get_secret_value() if self.password else None,
                timeout=self.timeout,
            )
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as failure:
            raise MailDeliveryError(f"{type(failure).__name__}: {failure}") from failure


def compose(mail: OutgoingMail, sender: str, at: datetime) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = Address(display_name=mail.to_name, addr_spec=mail.to)
    message["Subject"] = mail.subject
    message["Date"] = format_datetime(at)
    message["Message-ID"] = mail.message_id
    # RFC 3834: tells auto-responders not to answer a machine.
    message["Auto-Submitted"] = "auto-generated"
    if mail.reply_to:
        message["Reply-To"] = mail.reply_to
    message.set_content(mail.text)
    for attachment in mail.attachments:
        maintype, _, subtype = attachment.content_type.partition("/")
        message.add_attachment(
            attachment.content,
            maintype=maintype or "application",
            subtype=subtype or "octet-stream",
            filename=attachment.filename,
        )
    return message
