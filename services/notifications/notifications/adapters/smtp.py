"""The SMTP gateway, through aiosmtplib: connections are kept open for a short while and reused,
so an email costs MAIL, RCPT and DATA rather than a whole connection and greeting."""

from __future__ import annotations

import contextlib
import time
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime

import aiosmtplib

from notifications.domain.mail import OutgoingMail
from notifications.settings import NotificationsSettings

FAILURES = (aiosmtplib.SMTPException, OSError, TimeoutError)
QUIT_TIMEOUT_SECONDS = 2.0


class MailDeliveryError(Exception):
    """The SMTP server could not be reached or did not accept the email; worth trying again."""


class SmtpMailer:
    """Sends one email per call on a connection of its own; any number of callers at once.

    A connection that worked goes back to the idle list and is reused if it is asked for
    within `keep_open_seconds` (well inside the five minutes RFC 5321 asks servers to wait).
    A connection that failed in any way is closed, never reused: the email is retried later by
    the sender's policy, on a fresh connection."""

    def __init__(self, settings: NotificationsSettings) -> None:
        self.host = settings.smtp_host
        self.port = settings.smtp_port
        self.username = settings.smtp_username
        self.password = settings.smtp_password
        self.timeout = settings.smtp_timeout_seconds
        self.sender = settings.mail_from
        self.keep_open_seconds = settings.smtp_keep_open_seconds
        self._idle: list[tuple[aiosmtplib.SMTP, float]] = []
        self.connections_opened = 0

    async def send(self, mail: OutgoingMail, at: datetime) -> None:
        message = compose(mail, self.sender, at)
        connection = await self._connection()
        try:
            await connection.send_message(message)
        except FAILURES as failure:
            await _close(connection)
            raise MailDeliveryError(f"{type(failure).__name__}: {failure}") from failure
        self._idle.append((connection, time.monotonic()))

    async def close(self) -> None:
        """Say goodbye on every idle connection (at shutdown)."""
        idle, self._idle = self._idle, []
        for connection, _ in idle:
            await _close(connection)

    async def _connection(self) -> aiosmtplib.SMTP:
        while self._idle:
            connection, last_used = self._idle.pop()
            if connection.is_connected and time.monotonic() - last_used < self.keep_open_seconds:
                return connection
            await _close(connection)
        connection = aiosmtplib.SMTP(
            hostname=self.host,
            port=self.port,
            username=self.username,
            password=self.password.get_secret_value() if self.password else None,
            timeout=self.timeout,
        )
        try:
            await connection.connect()
        except FAILURES as failure:
            await _close(connection)
            raise MailDeliveryError(f"{type(failure).__name__}: {failure}") from failure
        self.connections_opened += 1
        return connection


async def _close(connection: aiosmtplib.SMTP) -> None:
    """QUIT if the server still listens, else just drop the socket."""
    if not connection.is_connected:
        return
    try:
        await connection.quit(timeout=QUIT_TIMEOUT_SECONDS)
    except FAILURES:
        with contextlib.suppress(Exception):
            connection.close()


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
