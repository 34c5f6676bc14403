"""A local SMTP server that keeps every message it receives, with a small HTTP inbox.

SMTP on --smtp-port; `GET /api/messages` lists what arrived (JSON, newest last);
`GET /api/messages/{id}/raw` returns one message as sent; `DELETE /api/messages` empties it;
`GET /` is a plain HTML list. Messages are also written to --maildir as .eml files.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import email
import email.policy
import html
import itertools
import json
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import Envelope, Session


@dataclass
class Mailbox:
    """What the SMTP server received, in memory and optionally on disk."""

    maildir: Path | None = None
    messages: list[dict[str, Any]] = field(default_factory=list)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    raw: dict[str, bytes] = field(default_factory=dict)

    async def handle_DATA(self, server: Any, session: Session, envelope: Envelope) -> str:  # noqa: N802
        content = envelope.original_content or b""
        self.keep(envelope.mail_from or "", list(envelope.rcpt_tos), content)
        return "250 Message accepted for delivery"

    def keep(self, sender: str, recipients: list[str], content: bytes) -> dict[str, Any]:
        parsed = email.message_from_bytes(content, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        body = parsed.get_body(preferencelist=("plain", "html"))
        message_id = str(next(self._ids))
        entry = {
            "id": message_id,
            "from": sender,
            "to": recipients,
            "subject": str(parsed["subject"] or ""),
            "message_id": str(parsed["message-id"] or ""),
            "text": body.get_content() if body is not None else "",
            "attachments": [
                {"filename": p.get_filename(), "content_type": p.get_content_type()}
                for p in parsed.iter_attachments()
            ],
        }
        self.messages.append(entry)
        self.raw[message_id] = content
        if self.maildir is not None:
            self.maildir.mkdir(parents=True, exist_ok=True)
            (self.maildir / f"{int(message_id):06d}.eml").write_bytes(content)
        return entry


async def _serve_http(mailbox: Mailbox, host: str, port: int) -> asyncio.Server:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request = (await reader.readline()).decode(errors="replace").split()
            while (await reader.readline()) not in (b"\r\n", b"\n", b""):
                pass
            method, path = [*request, "", ""][:2]
            status, kind, payload = _route(mailbox, method, path)
            writer.write(
                f"HTTP/1.1 {status}\r\nContent-Type: {kind}\r\nContent-Length: {len(payload)}\r\n"
                "Connection: close\r\n\r\n".encode()
                + payload
            )
            await writer.drain()
        finally:
            writer.close()

    return await asyncio.start_server(handle, host, port)


def _route(mailbox: Mailbox, method: str, path: str) -> tuple[str, str, bytes]:
    if method == "GET" and path == "/api/messages":
        return "200 OK", "application/json", json.dumps(mailbox.messages).encode()
    if method == "DELETE" and path == "/api/messages":
        mailbox.messages.clear()
        mailbox.raw.clear()
        return "200 OK", "application/json", b"[]"
    if method == "GET" and path.startswith("/api/messages/") and path.endswith("/raw"):
        raw = mailbox.raw.get(path.split("/")[3])
        if raw is not None:
            return "200 OK", "message/rfc822", raw
    if method == "GET" and path == "/":
        rows = "".join(
            f"<li><b>{html.escape(m['subject'])}</b> to {html.escape(', '.join(m['to']))}"
            f"<pre>{html.escape(m['text'])}</pre></li>"
            for m in reversed(mailbox.messages)
        )
        page = f"<html><body><h1>Local mailbox</h1><ul>{rows or 'No mail yet.'}</ul></body></html>"
        return "200 OK", "text/html; charset=utf-8", page.encode()
    return "404 Not Found", "application/json", b'{"detail": "not found"}'


async def main(smtp_port: int, http_port: int, maildir: Path | None) -> None:
    mailbox = Mailbox(maildir=maildir)
    controller = Controller(mailbox, hostname="127.0.0.1", port=smtp_port)
    controller.start()
    server = await _serve_http(mailbox, "127.0.0.1", http_port)
    try:
        async with server:
            await server.serve_forever()
    finally:
        controller.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--smtp-port", type=int, default=1025)
    parser.add_argument("--http-port", type=int, default=8025)
    parser.add_argument("--maildir", type=Path, default=None)
    args = parser.parse_args()
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main(args.smtp_port, args.http_port, args.maildir))
