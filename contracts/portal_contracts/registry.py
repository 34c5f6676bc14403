"""Every message type by `Type.vN` tag. Each contracts module lists its own types in
`MESSAGES` and defines the unions of the topics its owner writes; they are re-exported here."""

from __future__ import annotations

from typing import Any

from pydantic import TypeAdapter

from portal_contracts import (
    catalogue,
    documents,
    identity,
    invoicing,
    merchants,
    notifications,
    portal,
    projects,
    sessions,
    sso,
    subscriptions,
)
from portal_contracts.envelope import Envelope, UnrecognisedMessage, message_tag
from portal_contracts.identity import AccessMessage
from portal_contracts.invoicing import AccountMessage
from portal_contracts.merchants import MerchantMessage
from portal_contracts.notifications import NotificationsCommand
from portal_contracts.subscriptions import CustomerMessage, SubscriptionsCommand

__all__ = [
    "MESSAGE_TYPES",
    "AccessMessage",
    "AccountMessage",
    "CustomerMessage",
    "MerchantMessage",
    "NotificationsCommand",
    "SubscriptionsCommand",
    "parse_message",
]

_MODULES = (
    merchants,
    subscriptions,
    identity,
    invoicing,
    notifications,
    sessions,
    portal,
    documents,
    catalogue,
    sso,
    projects,
)


def _tag_of(model: type[Envelope]) -> str:
    fields = model.model_fields
    return f"{fields['type'].default}.v{fields['schema_version'].default}"


MESSAGE_TYPES: dict[str, type[Envelope]] = {
    _tag_of(model): model for module in _MODULES for model in module.MESSAGES
}

_BODY: TypeAdapter[dict[str, Any]] = TypeAdapter(dict[str, Any])


def parse_message(raw: bytes | str | dict[str, Any]) -> Envelope | UnrecognisedMessage:
    """Parse any message by its tag; raises pydantic.ValidationError for a malformed one."""
    body = _BODY.validate_json(raw) if isinstance(raw, bytes | str) else raw
    tag = message_tag(body)
    if tag == "unrecognised":
        return UnrecognisedMessage.model_validate(body)
    return MESSAGE_TYPES[tag].model_validate(body)
